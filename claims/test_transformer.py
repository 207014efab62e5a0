"""Token-axis claims on every softmax-attention model under test (paper §4, §7, App. C)."""
from __future__ import annotations

import pytest

from claims import checks_tf
from suite.outcome import conclude


@pytest.mark.claim("TF-1")
def test_tf1_key_norms_not_uniform(claim, real_measurement, options, record_claim):
    result = record_claim(checks_tf.check_tf1(claim("TF-1"), real_measurement, seed=options.seed))
    conclude(result)


@pytest.mark.claim("TF-2")
def test_tf2_keys_low_rank_beyond_nulls(claim, real_measurement, shuffled_measurement, options, record_claim):
    result = record_claim(checks_tf.check_tf2(claim("TF-2"), real_measurement, shuffled_measurement, seed=options.seed))
    conclude(result)


@pytest.mark.claim("TF-5")
def test_tf5_onset_early(claim, real_measurement, record_claim):
    result = record_claim(checks_tf.check_tf5(claim("TF-5"), real_measurement))
    conclude(result)


@pytest.mark.claim("TF-6")
def test_tf6_norm_concentration_correlation(claim, real_measurement, record_claim):
    result = record_claim(checks_tf.check_tf6(claim("TF-6"), real_measurement))
    conclude(result)


@pytest.mark.claim("TF-7")
def test_tf7_rope_geometry_not_norm(claim, attention_model, real_measurement, shuffled_measurement, options, record_claim):
    spec, info = attention_model
    if not info.rope:
        pytest.skip(f"not applicable: {spec.label} ({info.model_type}) has no rotary embedding")
    result = record_claim(checks_tf.check_tf7(claim("TF-7"), real_measurement, shuffled_measurement, seed=options.seed))
    conclude(result)


PAPER_MODELS_CMD = "run `pytest claims/ --paper-models` where huggingface.co is reachable"


def _families(cid, model_specs, wanted=None):
    """The run's models grouped by family (gpt2, pythia), only families with >= 2 models; skips
    (with the command that runs it) when none has two."""
    from fixtures.models import FAMILIES

    names = [f for f in FAMILIES if wanted is None or f in wanted]
    runnable = {f: ss for f in names if len(ss := [s for s in model_specs if s.family == f]) >= 2}
    if not runnable:
        pytest.skip(f"{cid} compares models of one family ({' or '.join(names)}) and needs at least two of them: "
                    + PAPER_MODELS_CMD)
    return runnable


def _size(spec):
    """Parameter-count proxy for ordering a family: layers × width²."""
    from fixtures.models import load_config

    cfg = load_config(spec)
    return cfg.num_hidden_layers * cfg.hidden_size ** 2


def _measured(specs, options, variants=("real",)):
    """Cached passes of each model (fixtures.measure.measure); offline hub weights skip."""
    from fixtures.measure import measure
    from fixtures.models import WeightsUnavailable

    try:
        runs = [tuple(measure(s, options, v) for v in variants) for s in specs]
        sizes = [_size(s) for s in specs]
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))
    return runs, sizes


@pytest.mark.models
@pytest.mark.claim("TF-4")
def test_tf4_content_effect_grows_with_scale(claim, model_specs, options, record_claim):
    results = []
    for fam, ss in _families("TF-4", model_specs).items():
        pairs, sizes = _measured(ss, options, ("real", "shuffled"))
        results.append(record_claim(checks_tf.check_tf4(claim("TF-4"), fam, pairs, sizes)))
    conclude(*results)


# TF-9 (Pythia locks in earlier with scale) and TF-10 (GPT-2 locks in later): one protocol, two families
CROSSING_CLAIMS = {"TF-9": checks_tf.check_tf9, "TF-10": checks_tf.check_tf10}


@pytest.mark.models
@pytest.mark.parametrize("cid", [pytest.param(c, marks=pytest.mark.claim(c), id=c) for c in CROSSING_CLAIMS])
def test_completion_dynamics_with_scale(cid, claim, model_specs, options, record_claim):
    c = claim(cid)
    results = []
    for fam, ss in _families(cid, model_specs, c.param("families")).items():
        runs, sizes = _measured(ss, options)
        results.append(record_claim(CROSSING_CLAIMS[cid](c, claim("TF-5"), fam, [r[0] for r in runs], sizes,
                                                         seed=options.seed)))
    conclude(*results)


@pytest.mark.models
@pytest.mark.claim("TF-11")
def test_tf11_final_layer_drop(claim, model_specs, options, record_claim):
    c = claim("TF-11")
    named = c.param("models")
    specs = [s for s in model_specs if s.ref in named]
    if not specs:
        pytest.skip(f"TF-11 is about {' and '.join(named)}, not in this run (hub weights, not available offline): "
                    + PAPER_MODELS_CMD)
    runs, _ = _measured(specs, options)
    results = [record_claim(checks_tf.check_tf11(c, r[0])) for r in runs]
    conclude(*results)


@pytest.mark.models
@pytest.mark.claim("TF-12")
def test_tf12_norm_concentration_r_with_scale(claim, model_specs, options, record_claim):
    c = claim("TF-12")
    results = []
    for fam, ss in _families("TF-12", model_specs).items():
        runs, sizes = _measured(ss, options)
        results.append(record_claim(checks_tf.check_tf12(c, claim("TF-6"), fam, [r[0] for r in runs], sizes,
                                                         [s.ref for s in ss], seed=options.seed)))
    conclude(*results)


@pytest.mark.models
@pytest.mark.claim("TF-13")
def test_tf13_no_fixed_onset_or_completion_depth(claim, model_specs, options, record_claim):
    from fixtures.models import PAPER_MODELS

    specs = [s for s in model_specs if s.ref in PAPER_MODELS]
    if len(specs) < 2:
        pytest.skip("TF-13 compares the paper's transformers and needs at least two of them: " + PAPER_MODELS_CMD)
    runs, _ = _measured(specs, options)
    result = record_claim(checks_tf.check_tf13(claim("TF-13"), claim("TF-5"), [r[0] for r in runs], seed=options.seed))
    conclude(result)


@pytest.mark.models
@pytest.mark.claim("TF-14")
def test_tf14_smallest_pythia_mostly_marginal(claim, model_specs, options, record_claim):
    c = claim("TF-14")
    results = []
    for fam, ss in _families("TF-14", model_specs, c.param("families")).items():
        pairs, sizes = _measured(ss, options, ("real", "shuffled"))
        results.append(record_claim(checks_tf.check_tf14(c, claim("TF-2"), fam, pairs, sizes, seed=options.seed)))
    conclude(*results)
