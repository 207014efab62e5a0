"""Book-chapter claims (seeds 002 ch. 18, 000 ch. 40): BK-1 γ ⊥ sink under a RoPE-θ rescale,
BK-2 the condensate closed form against the measured sink, BK-3 the γ ↔ fractional-order map,
BK-4 γ and sink as two axes across models, BK-5 the sink forms in pretraining, BK-6 secondary
sinks under the θ rescale, BK-8 the γ re-rise by depth, BK-10 a sink without a BOS, BK-11 softmax
as the free-energy minimum. (BK-7, BK-9, BK-12, BK-13 are recorded, not tested.)"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claims import checks_book
from probes import decay
from suite.outcome import conclude

_SUMMARIES: dict = {}


def _rope_sweep_summary(spec, info, options, bk1, native=None):
    """The BK-1 θ sweep of ``spec`` (one verified pass per θ, disk-cached), summarised once per session;
    ``native``: see :func:`fixtures.rope.theta_sweep`."""
    from fixtures.models import WeightsUnavailable
    from fixtures.rope import theta_sweep

    if not info.rope:
        pytest.skip(f"not applicable: {spec.label} ({info.model_type}) has no rotary embedding to rescale")
    key = (spec.ref, options.key(), options.data_dir)
    if key not in _SUMMARIES:
        try:
            sweep = theta_sweep(spec, options, bk1.param("theta_factors"), native=native)
        except WeightsUnavailable as exc:
            pytest.skip(str(exc))
        _SUMMARIES[key] = checks_book.summarise_sweep(bk1, sweep, seed=options.seed)
    return _SUMMARIES[key]


@pytest.fixture(scope="session")
def rope_sweep(attention_model, options, claims):
    spec, info = attention_model
    return _rope_sweep_summary(spec, info, options, claims["BK-1"])


@pytest.mark.claim("BK-1")
def test_bk1_gamma_independent_of_sink(claim, rope_sweep, attention_model, record_claim):
    result = record_claim(checks_book.check_bk1(claim("BK-1"), rope_sweep, attention_model[0].label))
    conclude(result)


@pytest.mark.claim("BK-2")
def test_bk2_condensate_against_measured_sink(claim, rope_sweep, attention_model, record_claim):
    result = record_claim(checks_book.check_bk2(claim("BK-2"), rope_sweep, attention_model[0].label))
    conclude(result)


def _zoo_rope_entries():
    """Names of the trained-here zoo's RoPE entries (GPT-NeoX with rotary dims): the base and its seed twins."""
    from fixtures import zoo

    return [n for n in zoo.TRANSFORMERS if zoo.ZOO_ENTRIES[n].arch == "gpt_neox" and zoo.ZOO_ENTRIES[n].rotary > 0]


@pytest.mark.zoo
@pytest.mark.claim("BK-1")
@pytest.mark.parametrize("entry", ["rope", "rope-seedw", "rope-seedd", "rope-seedwd"])
def test_bk1_on_trained_zoo(entry, claim, options, record_claim):
    """BK-1 on each RoPE entry of the trained-here zoo (trained on first use, then cached)."""
    from fixtures.models import ModelSpec, load_config
    from fixtures.zoo import zoo_entry_dir
    from fixtures.zoo_measure import transformer_measurement
    from probes.capture import attn_info

    spec, summ = _zoo_summary(entry, claim("BK-1"), options)
    result = record_claim(checks_book.check_bk1(claim("BK-1"), summ, spec.label))
    conclude(result)


ZOO_ROPE = ["rope", "rope-seedw", "rope-seedd", "rope-seedwd"]


def _zoo_summary(entry, bk1, options):
    """(spec, BK-1 sweep summary) of a trained-here RoPE zoo entry (trained on first use, then cached)."""
    from fixtures.models import ModelSpec, load_config
    from fixtures.zoo import zoo_entry_dir
    from fixtures.zoo_measure import transformer_measurement
    from probes.capture import attn_info

    assert entry in _zoo_rope_entries(), f"{entry} is no longer a RoPE entry of fixtures.zoo: update this list"
    spec = ModelSpec(label=f"zoo-{entry}", source="local", ref=str(zoo_entry_dir(entry, options)))
    info = attn_info(load_config(spec), spec.label)
    # native θ: the zoo measurement PR-1/SC-1 use (same model, same sequences), not a second pass
    return spec, _rope_sweep_summary(spec, info, options, bk1, native=lambda: transformer_measurement(entry, options))


@pytest.mark.zoo
@pytest.mark.claim("BK-4")
def test_bk4_gamma_and_sink_are_two_axes_across_models(claims, model_specs, options, record_claim):
    """Paper-wide: every RoPE model of the run and the trained-here RoPE zoo, at native θ (BK-1 sweeps reused)."""
    from fixtures.models import WeightsUnavailable, load_config
    from probes.capture import attn_info
    from suite import errors

    axes = []
    for spec in model_specs:
        try:
            info = attn_info(load_config(spec), spec.label)
        except WeightsUnavailable as exc:
            pytest.skip(str(exc))
        except errors.UsageError:  # not a softmax-attention transformer: no γ to read
            continue
        if not info.rope:
            continue
        axes.append(checks_book.model_axes(_rope_sweep_summary(spec, info, options, claims["BK-1"])))
    for entry in ZOO_ROPE:
        axes.append(checks_book.model_axes(_zoo_summary(entry, claims["BK-1"], options)[1]))
    result = record_claim(checks_book.check_bk4(claims["BK-4"], axes))
    conclude(result)


@pytest.mark.zoo
@pytest.mark.claim("BK-5")
@pytest.mark.parametrize("entry", ZOO_ROPE)
def test_bk5_sink_forms_in_pretraining(entry, claims, options, record_claim):
    """The entry's own training checkpoints (fixtures.zoo_trajectory: the sink mass at each, on the
    150 × 128 validation windows); the final model's BK-1 native-θ sink is reported beside them."""
    from fixtures.zoo import entry_info, entry_recipe, zoo_entry_dir

    spec, summ = _zoo_summary(entry, claims["BK-1"], options)
    nat = checks_book.native_point(summ)
    r = entry_recipe(entry, options)
    traj = [{"tokens": p["tokens"], "sink": p["first"], "sink_sem": p["first_sem"]}
            for p in entry_info(zoo_entry_dir(entry, options)).get("trajectory") or []]
    result = record_claim(checks_book.check_bk5(
        claims["BK-5"], spec.label, trajectory=traj, final={"sink": nat["sink"], "sink_sem": nat["sink_sem"]},
        T=int(summ["T"]), tokens_seen=r.steps * r.batch * r.seq_len, provenance=summ.get("provenance")))
    conclude(result)


# BK-6 (secondary sinks under θ) and BK-8 (the γ re-rise by depth) read the same θ sweep
SWEEP_CLAIMS = {"BK-6": checks_book.check_bk6, "BK-8": checks_book.check_bk8}
SWEEP_PARAMS = [pytest.param(c, marks=pytest.mark.claim(c), id=c) for c in SWEEP_CLAIMS]


@pytest.mark.parametrize("cid", SWEEP_PARAMS)
def test_sweep_claims(cid, claim, rope_sweep, attention_model, record_claim):
    result = record_claim(SWEEP_CLAIMS[cid](claim(cid), rope_sweep, attention_model[0].label))
    conclude(result)


@pytest.mark.zoo
@pytest.mark.parametrize("entry", ZOO_ROPE)
@pytest.mark.parametrize("cid", SWEEP_PARAMS)
def test_sweep_claims_on_trained_zoo(cid, entry, claims, options, record_claim):
    spec, summ = _zoo_summary(entry, claims["BK-1"], options)
    result = record_claim(SWEEP_CLAIMS[cid](claims[cid], summ, spec.label))
    conclude(result)


@pytest.mark.claim("BK-10")
def test_bk10_sink_without_bos(claim, real_measurement, attention_model, record_claim):
    """The model's real pass (any softmax-attention model): mean A[t,0] per sequence."""
    from probes.decay import sink_mass

    m = real_measurement
    sink_seq = sink_mass(m.colsum).mean((0, 2))
    result = record_claim(checks_book.check_bk10(claim("BK-10"), attention_model[0].label, sink_seq,
                                                 int(m.colsum.shape[-1]), m.provenance.get("bos"), m.provenance,
                                                 colsum=m.colsum))
    conclude(result)


@pytest.mark.zoo
@pytest.mark.claim("BK-10")
@pytest.mark.parametrize("entry", ZOO_ROPE)
def test_bk10_on_trained_zoo(entry, claims, options, record_claim):
    spec, summ = _zoo_summary(entry, claims["BK-1"], options)
    nat = checks_book.native_point(summ)
    result = record_claim(checks_book.check_bk10(claims["BK-10"], spec.label, nat["sink_seq"], int(summ["T"]),
                                                 summ["provenance"].get("bos"), summ["provenance"]))
    conclude(result)


@pytest.mark.claim("BK-11")
def test_bk11_softmax_minimises_free_energy(claim, record_claim):
    result = record_claim(checks_book.check_bk11(claim("BK-11")))
    conclude(result)


@pytest.mark.claim("BK-3")
def test_bk3_fractional_order_map(claim, record_claim):
    """Algebra: model-free (the α of each measured γ is reported with BK-1)."""
    result = record_claim(checks_book.check_bk3(claim("BK-3")))
    conclude(result)


def _bk3():
    from suite.registry import registry

    return registry()["BK-3"]


_LO, _HI = _bk3().param("gamma_bounds")


@pytest.mark.claim("BK-3")
@given(st.floats(min_value=_LO, max_value=_HI, allow_nan=False, allow_infinity=False))
def test_bk3_property(gamma):
    """α(γ) = (γ−1)/2 equals half the quadrature symbol exponent of the |x|^−γ kernel, and inverts to γ."""
    c = _bk3()
    s = decay.symbol_exponent(gamma, c.param("k1"), c.param("k2"))
    alpha = float(decay.fractional_order(gamma))
    assert abs(alpha - s / 2) < c.tolerance.value
    assert abs((1 + 2 * alpha) - gamma) < c.tolerance.value
