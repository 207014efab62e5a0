"""Self-tests of the MA family (massive activations, book ch. 18 §18.2–18.3 and ch. 40 §40.3–40.4):
probes against independent numpy oracles, the residual-stream hooks and the clamp hook against the model's
own hidden states, and for every claim a positive control, a hard null (the nearest alternative reads not
reproduced) and the premises (unmet → inconclusive), down to a tiny random model through the real passes."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from claims import checks_massive
from claims.checks_massive import MassiveMeasurement
from fixtures.measure import run_pass
from fixtures.residual import ClampResult, StatsReducer, clamp_pass, plan_json, stream_hooks
from probes import residual
from probes.stats import uniform_sink_mass
from suite import errors
from suite.registry import registry

RTOL = 1e-5  # float32 reductions against float64 numpy oracles
ENT_ATOL = 1e-9  # entropy in float64 on both sides

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=32)
hidden = hnp.arrays(np.float32, hnp.array_shapes(min_dims=3, max_dims=3, min_side=2, max_side=9), elements=finite)


# ----------------------------------------------------------------------------- probes vs numpy oracles
@given(hidden)
def test_median_top1_topk_against_numpy(h):
    x = torch.from_numpy(h)
    med = residual.hidden_median_abs(x).numpy()
    want_med = np.median(np.abs(h).reshape(h.shape[0], -1).astype(np.float64), axis=1)
    np.testing.assert_allclose(med, want_med, rtol=RTOL, atol=1e-6)
    top, idx, ratio = residual.top1_ratio(x, torch.from_numpy(want_med.astype(np.float32)))
    a = np.abs(h)
    np.testing.assert_allclose(top.numpy(), a.max(-1), rtol=0)
    np.testing.assert_allclose(np.take_along_axis(a, idx.numpy()[..., None], -1)[..., 0], a.max(-1), rtol=0)
    ok = want_med > np.finfo(np.float32).tiny  # the probe clamps a zero median at float32's tiny
    np.testing.assert_allclose(ratio.numpy()[ok], a.max(-1)[ok] / want_med[ok, None].astype(np.float32), rtol=RTOL)
    k = min(3, h.shape[-1])
    vals, ids = residual.topk_at(x, 0, k)
    want = -np.sort(-a[:, 0], axis=-1)[:, :k]
    np.testing.assert_allclose(np.abs(vals.numpy()), want, rtol=0)
    np.testing.assert_allclose(vals.numpy(), np.take_along_axis(h[:, 0], ids.numpy(), -1), rtol=0)


@given(hidden)
def test_matrix_entropy_against_svd(h):
    x = torch.from_numpy(h).double()
    for skip in (False, True):
        got = residual.matrix_entropy(x, skip_first=skip).numpy()
        for b in range(h.shape[0]):
            m = h[b, 1:] if skip else h[b]
            s2 = np.linalg.svd(m.astype(np.float64), compute_uv=False) ** 2
            if s2.sum() == 0:
                assert got[b] == 0.0
                continue
            p = s2 / s2.sum()
            p = p[p > 1e-300]
            want = float(-(p * np.log(p)).sum())
            assert got[b] == pytest.approx(want, abs=max(ENT_ATOL, 1e-7 * abs(want)))
            assert -1e-12 <= got[b] <= np.log(min(m.shape)) + 1e-9


def test_matrix_entropy_drops_when_one_token_dominates():
    """Queipo-de-Llano et al.'s mechanism: a token of dominating norm takes the top singular value."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 64, 32, generator=g, dtype=torch.float64)
    y = x.clone()
    y[0, 0, 5] = 1e4
    assert residual.matrix_entropy(y)[0] < 0.05 * residual.matrix_entropy(x)[0]
    assert residual.matrix_entropy(y, skip_first=True)[0] == pytest.approx(residual.matrix_entropy(x, skip_first=True)[0])


@given(hidden, st.data())
def test_clamp_changes_only_the_chosen_entries(h, data):
    B, T, D = h.shape
    pos = data.draw(st.integers(0, T - 1))
    coords = data.draw(st.lists(st.integers(0, D - 1), min_size=0, max_size=D, unique=True))
    vals = data.draw(st.lists(finite, min_size=len(coords), max_size=len(coords)))
    x = torch.from_numpy(h)
    out = residual.clamp_coordinates(x, pos, coords, vals).numpy()
    want = h.copy()
    want[:, pos, coords] = np.asarray(vals, np.float32)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(x.numpy(), h)  # the input is not modified in place


def test_massive_coordinates_against_brute_force():
    rng = np.random.default_rng(0)
    N, k = 20, 4
    vals = rng.normal(0, 1, (N, k))
    idx = np.tile(np.arange(k), (N, 1))
    med = np.ones(N)
    vals[:12, 0] = 5000.0  # coordinate 0 massive in 12/20 sequences
    vals[:5, 1] = -3000.0  # coordinate 1 in 5/20 (signed: magnitude counts)
    got = residual.massive_coordinates(vals, idx, med, 1000.0, 0.5)
    want = [c for c in range(k) if sum(abs(vals[n, c]) >= 1000 * med[n] for n in range(N)) >= 0.5 * N]
    assert got.tolist() == want == [0]
    assert residual.massive_coordinates(vals, idx, med, 1000.0, 0.25).tolist() == [0, 1]


@given(st.integers(0, 10_000))
def test_matched_null_coordinates(seed):
    rng = np.random.default_rng(seed)
    typical = rng.gamma(2.0, 1.0, 64)
    chosen = np.array([3, 40])
    got = residual.matched_random_coordinates(typical, chosen, 4, np.random.default_rng(seed))
    assert len(set(got.tolist())) == 2 and not set(got.tolist()) & set(chosen.tolist())
    for c, g in zip(chosen, got):  # among the 4 nearest in typical magnitude (other than the chosen ones)
        order = [j for j in np.argsort(np.abs(typical - typical[c]), kind="stable") if j not in chosen]
        assert g in order[:5]


# ----------------------------------------------------------------------------- hooks on a tiny model
@pytest.fixture(scope="module", params=["llama", "gemma3"])
def tiny(request, tmp_path_factory):
    from fixtures.models import load_model, resolve
    from tests.synthetic import tiny_model_dir

    return load_model(resolve(str(tiny_model_dir(request.param, tmp_path_factory.mktemp(request.param)))))


def _ids(n=6, t=24, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 256, (n, t), generator=g)


def _streams(model, ids, modify=None):
    got = {}
    with torch.no_grad(), stream_hooks(model, lambda j, h: got.__setitem__(j, h.detach().clone()), modify) as L:
        out = model(input_ids=ids, use_cache=False)
    return got, L, out


def test_stream_hooks_match_output_hidden_states(tiny):
    ids = _ids()
    got, L, _ = _streams(tiny.model, ids)
    with torch.no_grad():
        ref = tiny.model.base_model(input_ids=ids, output_hidden_states=True, use_cache=False).hidden_states
    assert sorted(got) == list(range(L + 1))
    for j in range(L):  # hidden_states[j] is the input of layer j (the last entry is after the final norm)
        torch.testing.assert_close(got[j], ref[j], rtol=0, atol=0)


def test_clamp_hook_changes_only_the_chosen_coordinates_at_the_chosen_position(tiny):
    """Oracle: the stream layer j reads under the clamp equals the unclamped stream with exactly
    h[:, 0, coords] = values; later streams (and the logits) change, earlier ones do not."""
    ids = _ids()
    base, L, out0 = _streams(tiny.model, ids)
    j, coords, vals = 1, [3, 17], [40.0, -25.0]
    clamped, _, out1 = _streams(tiny.model, ids, {j: lambda h: residual.clamp_coordinates(h, 0, coords, vals)})
    want = base[j].clone()
    want[:, 0, coords] = torch.tensor(vals)
    torch.testing.assert_close(clamped[j], want, rtol=0, atol=0)
    diff = (clamped[j] != base[j])
    assert diff[:, 0, coords].all() and diff.sum() == ids.shape[0] * len(coords)
    for i in range(j):
        torch.testing.assert_close(clamped[i], base[i], rtol=0, atol=0)
    assert not torch.equal(clamped[L], base[L]) and not torch.equal(out0.logits, out1.logits)


def stats_pass(model, ids, batch_size, top_k):
    """The residual-stream statistics as the audit gets them: from the real pass (``stream_top_k``)."""
    return run_pass(model, ids, batch_size, compute_nll=True, progress=False, stream_top_k=top_k).streams


def test_stats_pass_against_numpy_on_the_models_hidden_states(tiny):
    ids = _ids()
    k = 4
    stats = stats_pass(tiny.model, ids, batch_size=4, top_k=k)
    got, L, _ = _streams(tiny.model, ids)
    for j in range(L + 1):
        h = got[j].double().numpy()
        a = np.abs(h)
        med = np.median(a.reshape(a.shape[0], -1), axis=1)
        np.testing.assert_allclose(stats.median[j], med, rtol=RTOL)
        np.testing.assert_allclose(stats.pos_top[j], a.max(-1), rtol=RTOL)
        np.testing.assert_allclose(np.abs(stats.top_vals[j]), -np.sort(-a[:, 0], -1)[:, :k], rtol=RTOL)
        np.testing.assert_allclose(stats.coord_mean_rest[j], h[:, 1:].mean((0, 1)), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(stats.coord_absmean_rest[j], a[:, 1:].mean((0, 1)), rtol=1e-6)
        for b in range(h.shape[0]):
            s2 = np.linalg.svd(h[b], compute_uv=False) ** 2
            p = s2 / s2.sum()
            assert stats.entropy[j, b] == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-5)


def test_stream_statistics_join_the_real_pass_without_changing_it(tiny, monkeypatch):
    """Issue 26: the streams are reduced in the real pass itself — its attention statistics and loss are the
    same with or without them — and residual_stats reads that pass (one measure call, top_k sliced)."""
    from fixtures import measure as fm

    ids = _ids()
    plain = run_pass(tiny.model, ids, 4, compute_nll=True, progress=False)
    both = run_pass(tiny.model, ids, 4, compute_nll=True, progress=False, stream_top_k=fm.STREAM_TOP_K)
    assert plain.streams is None and both.streams is not None
    for name in ("colsum", "key_norms_pre", "ve_pre"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(both, name))
    assert both.nll == plain.nll
    calls = []
    monkeypatch.setattr(fm, "measure", lambda spec, options, variant="real": calls.append(variant) or both)
    st = fm.residual_stats(None, None, 3)
    assert calls == ["real"] and st.top_vals.shape[-1] == 3
    np.testing.assert_array_equal(st.top_idx, both.streams.top_idx[..., :3])
    with pytest.raises(errors.UsageError, match="STREAM_TOP_K"):
        fm.residual_stats(None, None, fm.STREAM_TOP_K + 1)


def test_real_pass_file_keeps_the_streams(tiny, tmp_path):
    from fixtures.measure import TransformerMeasurement

    m = run_pass(tiny.model, _ids(), 4, compute_nll=True, progress=False, stream_top_k=2)
    m.save(tmp_path / "m.npz")
    back = TransformerMeasurement.load(tmp_path / "m.npz")
    for k, v in m.streams.arrays().items():
        np.testing.assert_array_equal(getattr(back.streams, k), v)


def test_clamp_pass_sink_matches_the_attention_capture(tiny):
    """With an empty plan the clamp pass reads the same sink mass as the audit's reducer (A[t,0], t ≥ 1)."""
    ids = _ids()
    r = clamp_pass(tiny.model, ids, {}, batch_size=4, progress=False)
    m = run_pass(tiny.model, ids, 4, compute_nll=True, progress=False)
    np.testing.assert_allclose(r.sink, m.sink_mass(), rtol=1e-5, atol=1e-7)
    assert r.nll == pytest.approx(m.nll, rel=1e-6)
    r2 = clamp_pass(tiny.model, ids, {1: (np.array([2]), np.array([30.0]))}, batch_size=4, progress=False)
    assert (r2.delta_norm[1] > 0).all() and (r2.delta_norm[[0, 2]] == 0).all()
    np.testing.assert_allclose(r2.sink[:1], r.sink[:1], rtol=1e-6)  # layer 0 reads stream 0: untouched


def test_clamp_passes_sharing_their_prefix_equal_full_passes(tiny):
    """The clamp passes from stream j0 on run layers < j0 once (the first records, the others replay): every
    number of a replayed pass equals the full pass's bit for bit, and a replay on other batches is refused."""
    from fixtures.residual import Prefix

    ids = _ids(n=7)
    j0 = tiny.model.config.num_hidden_layers - 1  # the tiny models have 2 layers: layer 0 is the prefix
    plans = [{j0: (np.array([2, 5]), np.array([30.0, -4.0]))}, {j0: (np.array([1]), np.array([0.0]))}]
    full = [clamp_pass(tiny.model, ids, p, batch_size=3, progress=False) for p in plans]
    layer0 = tiny.model.base_model.layers[0]
    calls = []

    def wrapped(*a, **k):  # an instance-level forward, as accelerate's device hooks (--device-map) install
        calls.append(1)
        return type(layer0).forward(layer0, *a, **k)

    layer0.forward = wrapped
    prefix = Prefix(j0)
    shared = [clamp_pass(tiny.model, ids, p, batch_size=3, progress=False, prefix=prefix) for p in plans + plans]
    assert vars(layer0)["forward"] is wrapped and len(calls) == 3  # the record pass only; restored after each replay
    del layer0.forward
    assert prefix.recorded and len(prefix.outputs) == 3
    for a, b in zip(full + full, shared):
        np.testing.assert_array_equal(a.sink, b.sink)
        np.testing.assert_array_equal(a.delta_norm, b.delta_norm)
        assert a.nll == b.nll
    assert not any("forward" in vars(layer) for layer in tiny.model.base_model.layers)  # the skips are undone
    with pytest.raises(ValueError, match="other sequences"):
        clamp_pass(tiny.model, ids[:4], plans[0], batch_size=3, progress=False, prefix=prefix)
    with pytest.raises(ValueError, match="other sequences"):  # as many windows, other tokens
        clamp_pass(tiny.model, _ids(n=7, seed=2), plans[0], batch_size=3, progress=False, prefix=prefix)
    with pytest.raises(ValueError, match="skip the clamp"):
        clamp_pass(tiny.model, ids, {0: (np.array([1]), np.array([0.0]))}, batch_size=3, progress=False, prefix=prefix)


# ----------------------------------------------------------------------------- synthetic residual streams
N, T, D, L = 24, 32, 48, 6
COORD = 7


def synthetic_stats(massive_from=2, value=5000.0, every_token=False, dominate=True, seed=0, massive_until=None):
    """Residual streams ``[S=L+1, N, T, D]`` of N(0,1) values with a massive coordinate COORD at position 0
    (or at every token) from stream ``massive_from`` on, pushed through the production reducer."""
    rng = np.random.default_rng(seed)
    red = StatsReducer(N, T, L + 1, 4, "synthetic")
    red.sl = slice(0, N)
    for j in range(L + 1):
        h = rng.normal(0, 1, (N, T, D)).astype(np.float32)
        if massive_from is not None and j >= massive_from and (massive_until is None or j <= massive_until):
            v = value * (1 + 0.01 * rng.normal(size=N))
            if every_token:
                h[:, :, COORD] = v[:, None]
            elif dominate:
                h[:, 0, COORD] = v
        red.on_stream(j, torch.from_numpy(h))
    return red.finish()


def synthetic_sink(strength, T_=T, gain=3.0, noise=0.01, seed=0):
    """Sink input ``[L,N,H]``: per layer, ``strength[l]`` of each row on key 0, the rest uniform."""
    rng = np.random.default_rng(seed)
    u = uniform_sink_mass(T_)
    s = np.array([u + (1 - u) * x for x in strength])[:, None, None] + rng.normal(0, noise, (L, N, 2))
    return {"sink": np.clip(s, 0, 1), "lm_gain": gain, "T": T_, "provenance": {}}


SINK_FROM_2 = [0.0, 0.0, 0.5, 0.6, 0.6, 0.6]


def _c(cid):
    return registry()[cid]


def _rec(stats, sink, label, **kw) -> MassiveMeasurement:
    """The family's measurement record of synthetic inputs (MA-3: ``clamp_massive``, ``clamp_null``,
    ``plan_info``, ``base_nll`` as keywords)."""
    return MassiveMeasurement(label=label, stats=stats, sink=sink, **kw)


def _ma3(c, stats, sink, massive, null, label, plan_info=None, base_nll=None):
    return checks_massive.check_ma3(c, _rec(stats, sink, label, clamp_massive=massive, clamp_null=null,
                                            plan_info=plan_info, base_nll=base_nll))


def test_ma1_positive_hard_null_and_premises():
    pos = checks_massive.check_ma1(_c("MA-1"), _rec(synthetic_stats(), synthetic_sink(SINK_FROM_2), "planted"))
    assert pos.verdict == "reproduced", pos.message()
    assert pos.extra["massive_streams"] == list(range(2, L + 1))
    # hard null: the same large coordinate at every token — a coordinate bias, not a property of the sink token
    bias = checks_massive.check_ma1(_c("MA-1"), _rec(synthetic_stats(every_token=True), synthetic_sink(SINK_FROM_2), "bias"))
    assert bias.verdict == "not reproduced", bias.message()
    assert bias.checks[0].passed and not bias.checks[1].passed
    # no massive activation at all (a large but sub-criterion value)
    small = checks_massive.check_ma1(_c("MA-1"), _rec(synthetic_stats(value=50.0), synthetic_sink(SINK_FROM_2), "small"))
    assert small.verdict == "not reproduced"
    # premises: no sink, or a model that does not work on the text -> inconclusive
    for sink in (synthetic_sink([0.0] * L), synthetic_sink(SINK_FROM_2, gain=0.1)):
        res = checks_massive.check_ma1(_c("MA-1"), _rec(synthetic_stats(), sink, "premise"))
        assert res.verdict == "inconclusive", res.message()


def test_ma1_criterion_is_the_registrys_ratio():
    c = _c("MA-1")
    assert c.param("massive_ratio") == c.paper_values["sun_ratio"] == 1000.0
    just_below = checks_massive.check_ma1(c, _rec(synthetic_stats(value=0.5 * 1000 * 0.67), synthetic_sink(SINK_FROM_2), "x"))
    assert just_below.verdict == "not reproduced"


def test_ma2_ordering_positive_and_hard_null():
    pos = checks_massive.check_ma2(_c("MA-2"), _rec(synthetic_stats(massive_from=2), synthetic_sink(SINK_FROM_2), "planted"))
    assert pos.verdict == "reproduced", pos.message()
    assert pos.extra["first_massive_stream"] == 2 and pos.extra["first_sink_layer"] == 2
    # hard null: the sink forms (layer 2) before any massive activation exists (stream 4)
    late = checks_massive.check_ma2(_c("MA-2"), _rec(synthetic_stats(massive_from=4), synthetic_sink(SINK_FROM_2), "late"))
    assert late.verdict == "not reproduced", late.message()
    none = checks_massive.check_ma2(_c("MA-2"), _rec(synthetic_stats(massive_from=None), synthetic_sink(SINK_FROM_2), "none"))
    assert none.verdict == "inconclusive"  # premise massive-activations-present


def _clamp(sink_after, plan, variant):
    return ClampResult(label="synthetic", variant=variant, sink=np.asarray(sink_after["sink"]),
                       delta_norm=np.ones((L + 1, N)), nll=2.0, plan=plan_json(plan))


def test_ma3_plans_target_the_massive_coordinate():
    stats = synthetic_stats()
    real, null, info = checks_massive.clamp_plans(_c("MA-3"), stats, seed=0)
    assert sorted(real) == list(range(2, L))  # stream L is read by no attention layer
    assert all(c.tolist() == [COORD] for c, _ in real.values())
    assert all(c.tolist() != [COORD] and len(c) == 1 for c, _ in null.values())
    for j, (c, v) in real.items():
        np.testing.assert_allclose(v, stats.coord_mean_rest[j, c])


def test_ma3_positive_and_hard_nulls():
    c = _c("MA-3")
    stats = synthetic_stats()
    base = synthetic_sink(SINK_FROM_2)
    real, null, info = checks_massive.clamp_plans(c, stats, seed=0)
    gone = _clamp(synthetic_sink([0.0] * L, seed=1), real, "massive")
    kept = _clamp(synthetic_sink(SINK_FROM_2, seed=2), null, "null")
    pos = _ma3(c, stats, base, gone, kept, "causal", plan_info=info, base_nll=2.0)
    assert pos.verdict == "reproduced", pos.message()
    # massive activations that exist but do not cause the sink: the clamp changes nothing
    inert = _clamp(synthetic_sink(SINK_FROM_2, seed=3), real, "massive")
    res = _ma3(c, stats, base, inert, kept, "inert", plan_info=info, base_nll=2.0)
    assert res.verdict == "not reproduced", res.message()
    assert not res.checks[0].passed
    # the nearest alternative: any edit of the sink token's state removes the sink just as well
    fragile = _clamp(synthetic_sink([0.0] * L, seed=1), null, "null")  # the same sink, sequence by sequence
    res = _ma3(c, stats, base, gone, fragile, "fragile", plan_info=info, base_nll=2.0)
    assert res.verdict == "not reproduced", res.message()
    assert res.checks[0].passed and not res.checks[1].passed


def test_ma3_reads_nothing_on_a_broken_intervened_model():
    """Issue 22 item 4: the clamp that removes the sink but takes the model's loss above its unigram
    baseline reads inconclusive (the intervened-model premise), whatever its checks say; the same sink
    fall in a model that still works reads reproduced; an unknown clamped loss is not a pass."""
    c = _c("MA-3")
    stats = synthetic_stats()
    base = synthetic_sink(SINK_FROM_2)  # LM gain of the unclamped model: synthetic_sink's default
    real, null, info = checks_massive.clamp_plans(c, stats, seed=0)
    kept = _clamp(synthetic_sink(SINK_FROM_2, seed=2), null, "null")
    gone = _clamp(synthetic_sink([0.0] * L, seed=1), real, "massive")
    works = _ma3(c, stats, base, gone, kept, "works", plan_info=info, base_nll=2.0)
    assert works.verdict == "reproduced", works.message()
    broken = _clamp(synthetic_sink([0.0] * L, seed=1), real, "massive")
    broken.nll = 2.0 + float(base["lm_gain"]) + 1.0  # one nat worse than the unigram baseline
    res = _ma3(c, stats, base, broken, kept, "broken", plan_info=info, base_nll=2.0)
    assert res.verdict == "inconclusive", res.message()
    assert all(ch.passed for ch in res.checks)  # the checks alone would have read reproduced
    assert "intervened-model-functions" in res.premise_text()
    unknown = _ma3(c, stats, base, gone, kept, "unknown", plan_info=info, base_nll=None)
    assert unknown.verdict == "inconclusive", unknown.message()


def test_ma3_premises():
    c = _c("MA-3")
    stats = synthetic_stats()
    real, null, info = checks_massive.clamp_plans(c, stats, seed=0)
    gone = _clamp(synthetic_sink([0.0] * L, seed=1), real, "massive")
    kept = _clamp(synthetic_sink(SINK_FROM_2, seed=2), null, "null")
    for sink in (synthetic_sink([0.0] * L), synthetic_sink(SINK_FROM_2, gain=0.2)):
        res = _ma3(c, stats, sink, gone, kept, "premise", plan_info=info)
        assert res.verdict == "inconclusive", res.message()
    none = synthetic_stats(massive_from=None)
    r, n, i = checks_massive.clamp_plans(c, none, seed=0)
    assert r == {}
    res = _ma3(c, none, synthetic_sink(SINK_FROM_2), None, None, "nothing", plan_info=i)
    assert res.verdict == "inconclusive", res.message()


def test_ma4_valley_positive_and_hard_nulls():
    c = _c("MA-4")
    # a massive coordinate in streams 2..4 only: the entropy falls there and recovers (an interior valley)
    valley = synthetic_stats(massive_from=2, massive_until=4)
    pos = checks_massive.check_ma4(c, _rec(valley, synthetic_sink(SINK_FROM_2), "valley"))
    assert pos.verdict == "reproduced", pos.message()
    assert pos.extra["valley_stream"] in (2, 3, 4)
    # monotone: the massive coordinate stays to the last stream, so the minimum is at the end (no valley)
    mono = checks_massive.check_ma4(c, _rec(synthetic_stats(massive_from=2), synthetic_sink(SINK_FROM_2), "monotone"))
    assert mono.verdict == "not reproduced", mono.message()
    # a valley where there is no sink: compression and sink as separate phenomena
    nosink_there = checks_massive.check_ma4(c, _rec(valley, synthetic_sink([0.0, 0.0, 0.0, 0.0, 0.0, 0.6]), "apart"))
    assert nosink_there.verdict in ("not reproduced", "inconclusive")
    assert not nosink_there.checks[2].passed
    sink_everywhere_but = synthetic_sink([0.0, 0.5, 0.0, 0.0, 0.0, 0.6])
    res = checks_massive.check_ma4(c, _rec(valley, sink_everywhere_but, "apart2"))
    assert res.verdict == "not reproduced", res.message()
    res = checks_massive.check_ma4(c, _rec(valley, synthetic_sink(SINK_FROM_2, gain=0.1), "premise"))
    assert res.verdict == "inconclusive"


def test_windows_must_match():
    stats = synthetic_stats()
    stats.provenance = {"data_ids_sha256": "a" * 64}
    sink = dict(synthetic_sink(SINK_FROM_2), provenance={"data_ids_sha256": "b" * 64})
    with pytest.raises(ValueError, match="different windows"):
        checks_massive.check_ma1(_c("MA-1"), _rec(stats, sink, "x"))


# ----------------------------------------------------------------------------- the family interface
def test_targets_of_the_default_run():
    """The ``massive`` measurement in the default run: the default model, scope model, for all five claims (all
    applicable: SmolLM2 is a softmax-attention transformer)."""
    from suite.family import skip_reason
    from suite.options import RunOptions
    from tests import audit

    options = RunOptions(models=("smollm2-135m",))
    assert audit.pairs(checks_massive, options) == [(cid, "smollm2-135m") for cid in ("MA-1", "MA-2", "MA-3", "MA-4", "MA-5")]
    (t,) = audit.subjects("massive", options)
    assert t.scope == "model" and not t.marks and "softmax-attention" in t.arch and hash(t.ref) is not None
    assert all(skip_reason(_c(cid), t) is None for cid in audit.checks_of(checks_massive))


class _RealPass:
    """What measure() reads of the audit's real pass (fixtures.measure.TransformerMeasurement)."""

    def __init__(self, sink, nll=2.5):
        self._sink, self.nll = sink, nll
        self.colsum = np.zeros((1, 1, 1, sink["T"]))
        self.provenance = {}

    def sink_mass(self):
        return self._sink["sink"]

    def lm_gain(self):
        return self._sink["lm_gain"]


@pytest.mark.parametrize("massive_from", [2, None])
def test_measure_makes_the_record(monkeypatch, massive_from):
    """measure(): the residual pass at MA-1's top-k, the sink input of the real pass, and MA-3's two clamp
    passes under :func:`clamp_plans` with the run's seed — none when there is nothing to clamp."""
    from fixtures.models import ModelSpec
    from suite.family import Target
    from suite.options import RunOptions

    stats, sink = synthetic_stats(massive_from=massive_from), synthetic_sink(SINK_FROM_2)
    calls = []
    monkeypatch.setattr(checks_massive, "residual_stats", lambda spec, options, top_k: calls.append(top_k) or stats)
    monkeypatch.setattr(checks_massive, "attention_pass", lambda spec, options, variant: _RealPass(sink))
    monkeypatch.setattr(checks_massive, "clamp_measurement",
                        lambda spec, options, plan, variant: _clamp(sink, plan, variant))
    spec = ModelSpec(label="some-lm", source="hub", ref="org/lm")
    options = RunOptions(models=("org/lm",), seed=7)
    rec = checks_massive.measure(Target(label="some-lm", ref=spec, scope="model"), options)
    assert isinstance(rec, MassiveMeasurement) and rec.label == "some-lm" and rec.seed == 7
    assert calls == [_c("MA-1").param("top_k")] and rec.stats is stats and rec.base_nll == 2.5
    assert rec.sink["T"] == T and rec.sink["lm_gain"] == sink["lm_gain"]
    real, null, info = checks_massive.clamp_plans(_c("MA-3"), stats, seed=7)
    assert rec.plan_info == info
    if massive_from is None:
        assert real == {} and rec.clamp_massive is None and rec.clamp_null is None
    else:
        assert rec.clamp_massive.plan == plan_json(real) and rec.clamp_null.plan == plan_json(null)
        assert rec.clamp_massive.variant == "massive" and rec.clamp_null.variant == "null"


def test_every_check_takes_the_claim_and_the_record():
    import inspect

    from tests import audit

    assert set(audit.checks_of(checks_massive)) == {"MA-1", "MA-2", "MA-3", "MA-4", "MA-5"}
    for fn in audit.checks_of(checks_massive).values():
        assert list(inspect.signature(fn).parameters) == ["claim", "m"]


# ----------------------------------------------------------------------------- a tiny random model, end to end
def test_tiny_random_model_reads_inconclusive(tmp_path):
    """A random-init model has no sink and does not predict its text: every MA claim reads inconclusive
    through its premises, whatever its residual stream shows — through the real passes."""
    from fixtures.data import unigram_nll
    from fixtures.models import load_model, resolve
    from tests.synthetic import tiny_model_dir

    lm = load_model(resolve(str(tiny_model_dir("llama", tmp_path / "tiny"))))
    ids = _ids(n=8, t=32, seed=3)
    m = run_pass(lm.model, ids, 4, compute_nll=True, progress=False, keep_first_col=True)
    m.unigram_nll = unigram_nll(ids, ids.numpy().ravel())
    sink = checks_massive.sink_input(m)
    stats = stats_pass(lm.model, ids, 4, int(_c("MA-1").param("top_k")))
    for cid, fn in (("MA-1", checks_massive.check_ma1), ("MA-2", checks_massive.check_ma2),
                    ("MA-4", checks_massive.check_ma4)):
        res = fn(_c(cid), _rec(stats, sink, "tiny-random"))
        assert res.verdict == "inconclusive", res.message()
    c = _c("MA-3")
    real, null, info = checks_massive.clamp_plans(c, stats, seed=0)
    cm = clamp_pass(lm.model, ids, real, 4, progress=False, variant="massive") if real else None
    cn = clamp_pass(lm.model, ids, null, 4, progress=False, variant="null") if real else None
    res = _ma3(c, stats, sink, cm, cn, "tiny-random", plan_info=info)
    assert res.verdict == "inconclusive", res.message()


def test_figure_draws_from_recorded_results(tmp_path):
    from claims.plots_massive import ma_massive_activations

    stats, base = synthetic_stats(massive_from=2, massive_until=4), synthetic_sink(SINK_FROM_2)
    c = _c("MA-3")
    real, null, info = checks_massive.clamp_plans(c, stats, seed=0)
    res = [checks_massive.check_ma1(_c("MA-1"), _rec(stats, base, "planted")),
           _ma3(c, stats, base, _clamp(synthetic_sink([0.0] * L), real, "massive"),
                                    _clamp(base, null, "null"), "planted", plan_info=info),
           checks_massive.check_ma4(_c("MA-4"), _rec(stats, base, "planted"))]
    import json

    out = ma_massive_activations([json.loads(json.dumps(r.to_json())) for r in res], tmp_path, "t")
    assert len(out) == 1 and out[0][1].is_file()
    assert ma_massive_activations([], tmp_path, "t") == []


def test_ma3_sun_contrasts_keep_the_coordinates_and_streams():
    """Sun et al.'s contrasts clamp MA-3's own coordinates at its own streams: to the value's mean at position 0
    over the sequences (their mean-value replacement) and to zero; reported beside MA-3, never deciding it."""
    c = _c("MA-3")
    stats = synthetic_stats()
    real, null, info = checks_massive.clamp_plans(c, stats, seed=0)
    sun, zero = checks_massive.contrast_plans(stats, real)
    assert sorted(sun) == sorted(zero) == sorted(real)
    for j, (coords, values) in sun.items():
        assert list(coords) == list(real[j][0])
        np.testing.assert_allclose(values, np.asarray(stats.coord_mean_first)[j, coords])
        assert not np.any(zero[j][1])
    base = synthetic_sink(SINK_FROM_2)
    gone = _clamp(synthetic_sink([0.0] * L, seed=1), real, "massive")
    kept = _clamp(synthetic_sink(SINK_FROM_2, seed=2), null, "null")
    m = _rec(stats, base, "contrasts", clamp_massive=gone, clamp_null=kept, plan_info=info, base_nll=2.0)
    with_c = checks_massive.check_ma3(c, dataclasses.replace(m, clamp_sun_mean=kept, clamp_zero=gone))
    without = checks_massive.check_ma3(c, m)
    assert with_c.verdict == without.verdict == "reproduced"
    assert "Sun et al.'s contrasts" in with_c.summary and with_c.extra["zero_contrast"]["sink"] < with_c.extra["sink_base"] - 0.3


def test_ma5_prenorm_dilution_positive_and_hard_null():
    """App. D's PreNorm dilution: magnitudes that grow with depth read reproduced; a constant-magnitude stream
    (the hard null) and a shrinking one read not reproduced; the median is blind to a massive coordinate."""
    c = _c("MA-5")
    flat = synthetic_stats()
    grow = dataclasses.replace(flat, median=flat.median * (1.5 ** np.arange(L + 1))[:, None])
    shrink = dataclasses.replace(flat, median=flat.median * (0.8 ** np.arange(L + 1))[:, None])
    sink = synthetic_sink(SINK_FROM_2)
    pos = checks_massive.check_ma5(c, _rec(grow, sink, "grow"))
    assert pos.verdict == "reproduced", pos.message()
    assert pos.measured["growth_factor"] == pytest.approx(1.5 ** (L - 1), rel=0.05)
    for m, name in ((flat, "flat"), (shrink, "shrink")):
        res = checks_massive.check_ma5(c, _rec(m, sink, name))
        assert res.verdict == "not reproduced", res.message()
    broken = checks_massive.check_ma5(c, _rec(grow, synthetic_sink(SINK_FROM_2, gain=0.2), "broken"))
    assert broken.verdict == "inconclusive"


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 1, 1), (2, 3, 2), (4, 128, 576)])
def test_median_by_selection_is_quantiles_bit_for_bit(shape):
    """hidden_median_abs selects instead of sorting (issue 26); the values are torch.quantile(0.5)'s exactly."""
    g = torch.Generator().manual_seed(sum(shape))
    h = torch.randn(*shape, generator=g) * torch.rand(*shape, generator=g) * 100
    a = h.abs().reshape(shape[0], -1)
    assert torch.equal(residual.hidden_median_abs(h), a.quantile(0.5, dim=-1))
    tied = torch.randint(-3, 4, shape, generator=g).float()  # the middle values repeated (or not) across the cut
    assert torch.equal(residual.hidden_median_abs(tied), tied.abs().reshape(shape[0], -1).quantile(0.5, dim=-1))
