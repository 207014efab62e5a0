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


@pytest.mark.models
@pytest.mark.claim("TF-4")
def test_tf4_content_effect_grows_with_scale(claim, model_specs, options, record_claim):
    from fixtures.measure import measure
    from fixtures.models import FAMILIES, WeightsUnavailable, load_config

    specs = model_specs
    families = {f: [s for s in specs if s.family == f] for f in FAMILIES}
    runnable = {f: ss for f, ss in families.items() if len(ss) >= 2}
    if not runnable:
        pytest.skip("TF-4 compares models of one family (gpt2 or pythia) and needs at least two of them: "
                    "run `pytest claims/ --paper-models` where huggingface.co is reachable")
    results = []
    for fam, ss in runnable.items():
        try:
            pairs = [(measure(s, options, "real"), measure(s, options, "shuffled")) for s in ss]
            sizes = []
            for s in ss:
                cfg = load_config(s)
                sizes.append(cfg.num_hidden_layers * cfg.hidden_size ** 2)
        except WeightsUnavailable as exc:
            pytest.skip(str(exc))
        results.append(record_claim(checks_tf.check_tf4(claim("TF-4"), fam, pairs, sizes)))
    conclude(*results)
