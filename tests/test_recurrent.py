"""Self-tests of the recurrent-router probes and claim checks (MB-1..3, RW-1..4, TF-8).

* exactness: on tiny random-init Mamba/RWKV models saved and reloaded from a directory, the reconstructed
  operators reproduce the model's own mixer output / WKV in float64 to REL_TOL;
* probe oracles: blocked α vs a (t, s) loop; column-sum recurrence vs α's column sums; RWKV softmax vs
  the HF recurrence;
* negative controls for every claim (the same check functions on inputs where the claim is false),
  including the two physical ones of the issue: a Mamba whose Δ is constant over positions shows no
  frozen-Δ gap, and an RWKV with the carry killed never onsets;
* premises: for every registry precondition of these claims, premise met + claim false → not
  reproduced, premise unmet → inconclusive;
* hard nulls (the nearest alternative explanation, without the claimed mechanism, reads not
  reproduced): a gate that does not select (MB-2), a layer correlation that is not significant
  (MB-3), an intervention that does not kill (RW-1), a concentration that does not depend on carry
  (RW-2), the content-blind RWKV's decay geometry (RW-3), the first audit's learned-decay pattern
  (RW-4), a recurrent router that does not concentrate at all (TF-8).

The tiny random-init models cannot predict text, so the physical controls evaluate the claims
without the functioning-model premise (:func:`_sans`), which the synthetic premise tests cover.

Every check is ``check(claim, record)`` (suite.family): the tests build the record the harness would
(:func:`_rec`, :func:`_tf8_inputs`); the family's ``targets``/``measure`` are tested at the end.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from claims import checks_recurrent as cr
from fixtures import recurrent as fr
from fixtures.data import unigram_nll
from probes import geometry
from probes import mamba as pm
from probes import rwkv as pr
from probes import stats
from suite.registry import registry

REL_TOL = 1e-6  # the issue's float64 exactness bound
LN2 = math.log(2.0)

MB, RW, TF8 = tuple(f"MB-{i}" for i in range(1, 6)), tuple(f"RW-{i}" for i in range(1, 7)), ("TF-8",)


def _sans(claim, *premise_ids):
    """The claim without the named preconditions (tiny random-init models are not functioning LMs)."""
    return dataclasses.replace(claim, preconditions=tuple(p for p in claim.preconditions if p.id not in premise_ids))


def _rel(a, b):
    return float((a - b).detach().norm() / b.detach().norm())


def _rec(m, label="x", seed=0):
    """The record the harness hands a MB-*/RW-* check: the router's measured pass, its label, the seed."""
    router = "mamba" if isinstance(m, fr.MambaMeasurement) else "rwkv"
    return cr.RouterMeasurement(label=label, router=router, measurement=m, seed=seed)


def _share(R) -> float:
    """Max source share of a routing matrix ``R [T(query), T(source)]`` (probes.stats on its column sums)."""
    return float(stats.max_share(R.sum(0)))


# ----------------------------------------------------------------------------- tiny models
def _tiny_mamba_dir(tmp_path, seed=0, layers=3):
    from transformers import MambaConfig, MambaForCausalLM
    torch.manual_seed(seed)
    cfg = MambaConfig(vocab_size=64, hidden_size=24, state_size=6, num_hidden_layers=layers, expand=2,
                      conv_kernel=4, time_step_rank=4)
    m = MambaForCausalLM(cfg)
    with torch.no_grad():
        for layer in m.backbone.layers:  # spread Δ so that selectivity exists at random init
            layer.mixer.dt_proj.weight.mul_(8.0)
    m.save_pretrained(tmp_path / "mamba")
    return tmp_path / "mamba"


def _tiny_rwkv_dir(tmp_path, seed=0, layers=3):
    from transformers import RwkvConfig, RwkvForCausalLM
    torch.manual_seed(seed)
    cfg = RwkvConfig(vocab_size=64, hidden_size=24, num_hidden_layers=layers, attention_hidden_size=24,
                     intermediate_size=48, context_length=64)
    m = RwkvForCausalLM(cfg)
    with torch.no_grad():
        for b in m.rwkv.blocks:
            b.attention.time_decay.normal_(-2.0, 1.0)  # long carry (w ≈ −e^−2): the keys' content concentrates
            b.attention.time_first.normal_(0.0, 1.0)
            b.attention.key.weight.mul_(20.0)
    m.save_pretrained(tmp_path / "rwkv")
    return tmp_path / "rwkv"


def _load(path):
    from fixtures.models import load_model, resolve
    return load_model(resolve(str(path)), dtype="float64").model


@pytest.fixture(scope="module")
def mamba_dir(tmp_path_factory):
    return _tiny_mamba_dir(tmp_path_factory.mktemp("m"))


@pytest.fixture(scope="module")
def rwkv_dir(tmp_path_factory):
    return _tiny_rwkv_dir(tmp_path_factory.mktemp("r"))


# ----------------------------------------------------------------------------- exactness
def test_mamba_reconstruction_equals_mixer_output(mamba_dir):
    model = _load(mamba_dir)
    ids = torch.randint(0, 64, (2, 33), generator=torch.Generator().manual_seed(1))
    caps, outs, gates = {}, {}, {}
    hs = []
    for li, layer in enumerate(model.backbone.layers):
        mx = layer.mixer
        hs.append(mx.x_proj.register_forward_hook(lambda m, i, o, li=li: caps.__setitem__(li, (i[0], o))))
        hs.append(mx.in_proj.register_forward_hook(lambda m, i, o, li=li: gates.__setitem__(li, o.chunk(2, -1)[1])))
        hs.append(mx.register_forward_hook(lambda m, i, o, li=li: outs.__setitem__(li, o)))
    with torch.no_grad():
        model(ids)  # transformers' own (unpatched) path
    for h in hs:
        h.remove()
    for li, layer in enumerate(model.backbone.layers):
        mx = layer.mixer
        delta, A, B, C, x = fr.mamba_layer_inputs(mx, *caps[li])
        for b in range(ids.shape[0]):
            alpha = pm.hidden_attention(delta[b], A, B[b], C[b])
            y = pm.scan_output(alpha, x[b]) + x[b] * mx.D.double()
            y = y * torch.nn.functional.silu(gates[li][b].double())
            rec = mx.out_proj(y)
            assert _rel(rec, outs[li][b]) <= REL_TOL, (li, b)


def _rwkv_wkv_errors(model, ids):
    """Relative error of the reconstructed WKV against the model's own, per (layer, sequence), with w and u
    read from the parameters as they are at call time (so under a decay intervention too)."""
    cap = {}
    hs = []
    for li, b in enumerate(model.rwkv.blocks):
        a = b.attention
        hs.append(a.key.register_forward_hook(lambda m, i, o, li=li: cap.setdefault(li, {}).__setitem__("k", o)))
        hs.append(a.value.register_forward_hook(lambda m, i, o, li=li: cap[li].__setitem__("v", o)))
        hs.append(a.receptance.register_forward_hook(lambda m, i, o, li=li: cap[li].__setitem__("r", o)))
        hs.append(a.output.register_forward_pre_hook(lambda m, i, li=li: cap[li].__setitem__("rw", i[0])))
    with torch.no_grad():
        model(ids)
    for h in hs:
        h.remove()
    errs, alphas = {}, {}
    for li, b in enumerate(model.rwkv.blocks):
        a = b.attention
        wkv_model = cap[li]["rw"] / torch.sigmoid(cap[li]["r"])  # the model's own WKV
        w = -torch.exp(a.time_decay.double())
        for n in range(ids.shape[0]):
            alpha = pr.wkv_weights(cap[li]["k"][n].double(), w, a.time_first.double())
            assert torch.allclose(alpha.sum(-1), torch.ones_like(alpha.sum(-1)))
            rec = pr.wkv_output(alpha, cap[li]["v"][n].double())
            errs[li, n], alphas[li, n] = _rel(rec, wkv_model[n]), alpha
    return errs, alphas


def test_rwkv_reconstruction_equals_model_wkv(rwkv_dir):
    model = _load(rwkv_dir)
    ids = torch.randint(0, 64, (2, 40), generator=torch.Generator().manual_seed(2))
    errs, _ = _rwkv_wkv_errors(model, ids)
    assert max(errs.values()) <= REL_TOL, errs


def test_rwkv_kill_intervention_takes_effect_in_the_model(rwkv_dir):
    """RW-1's one failure mode outside the algebra: the model's own WKV under the kill must be the two-source
    operator the reconstruction assumes (a model that cached w, or decayed by data, would fail here)."""
    model = _load(rwkv_dir)
    p = registry()["RW-3"].params
    ids = torch.randint(0, 64, (2, 40), generator=torch.Generator().manual_seed(6))
    with fr.decay_intervention(model, math.inf, p["no_decay_time_decay"], p["kill_time_decay"]):
        errs, alphas = _rwkv_wkv_errors(model, ids)
    assert max(errs.values()) <= REL_TOL, errs
    for alpha in alphas.values():
        assert int((alpha > 1e-12).sum(-1).max()) <= 2  # current and previous token only


# ----------------------------------------------------------------------------- probe oracles
@settings(max_examples=15)
@given(T=st.integers(1, 20), D=st.integers(1, 4), N=st.integers(1, 4), block=st.sampled_from([None, 1, 2, 5, 7]),
       scale=st.floats(0.01, 5.0), seed=st.integers(0, 2**16))
def test_blocked_alpha_matches_loop_and_colsum_recurrence(T, D, N, block, scale, seed):
    g = torch.Generator().manual_seed(seed)
    dt = torch.rand(T, D, dtype=torch.float64, generator=g) * scale
    A = -torch.rand(D, N, dtype=torch.float64, generator=g) * 10 - 1e-3
    B = torch.randn(T, N, dtype=torch.float64, generator=g)
    C = torch.randn(T, N, dtype=torch.float64, generator=g)
    ref = pm.hidden_attention_reference(dt, A, B, C)
    got = pm.hidden_attention(dt, A, B, C, block=block)
    assert torch.allclose(got, ref, rtol=1e-10, atol=1e-12 * float(ref.abs().max() + 1))
    R = pm.routing_matrix(dt, A, B, C, channel_chunk=2, block=block)
    assert torch.allclose(R, ref.abs().mean(0), rtol=1e-10, atol=1e-12)


def test_blocked_alpha_survives_huge_decay():
    """Decays far beyond exp(−700) inside one sequence: no inf/NaN, equal to the oracle."""
    g = torch.Generator().manual_seed(0)
    T, D, N = 48, 3, 4
    dt = torch.rand(T, D, dtype=torch.float64, generator=g) * 30
    A = -torch.rand(D, N, dtype=torch.float64, generator=g) * 50
    B, C = torch.randn(T, N, dtype=torch.float64, generator=g), torch.randn(T, N, dtype=torch.float64, generator=g)
    got = pm.hidden_attention(dt, A, B, C)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, pm.hidden_attention_reference(dt, A, B, C), rtol=1e-9, atol=1e-300)


F32_REL_TOL = 1e-5  # float32 routing matrix vs float64, relative to max R (f32 eps ~6e-8, ≤ a few hundred roundings)


def _mamba_like(T, D, N, seed, dt_shift=-2.0, a_max=16.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    dt = torch.nn.functional.softplus(torch.randn(T, D, generator=g, dtype=torch.float64) + dt_shift)
    A = -(torch.rand(D, N, generator=g, dtype=torch.float64) * a_max + 0.1)
    B = torch.randn(T, N, generator=g, dtype=torch.float64)
    C = torch.randn(T, N, generator=g, dtype=torch.float64)
    return [x.to(dtype) for x in (dt, A, B, C)]


@pytest.mark.parametrize("T,D,channel_chunk,block", [(70, 5, 2, None), (70, 5, 3, 16), (33, 4, 256, 7)])
def test_routing_matrix_multi_block_ragged_matches_loop(T, D, channel_chunk, block):
    """Several query blocks (default DEFAULT_BLOCK and explicit), T not a multiple of the block, channel chunks
    not dividing D: R and α equal the (t, s) loop."""
    dt, A, B, C = _mamba_like(T, D, 6, seed=T + D)
    ref = pm.hidden_attention_reference(dt, A, B, C)
    assert pm._block_len(dt, A, block) < T  # really more than one block
    assert torch.allclose(pm.hidden_attention(dt, A, B, C, block=block), ref, rtol=1e-10,
                          atol=1e-12 * float(ref.abs().max()))
    R = pm.routing_matrix(dt, A, B, C, channel_chunk=channel_chunk, block=block)
    assert torch.allclose(R, ref.abs().mean(0), rtol=1e-10, atol=1e-12 * float(R.max()))
    assert float(R.triu(1).abs().max()) == 0.0


def test_routing_matrix_survives_huge_decay():
    """The guard shrinks the block (here to 4); R equals the loop and is finite (the not-α triangle is dropped)."""
    dt, A, B, C = _mamba_like(48, 3, 4, seed=5, dt_shift=3.0, a_max=50.0)
    assert pm._block_len(dt, A, None) < pm.DEFAULT_BLOCK
    R = pm.routing_matrix(dt, A, B, C, channel_chunk=2)
    assert torch.isfinite(R).all()
    assert torch.allclose(R, pm.hidden_attention_reference(dt, A, B, C).abs().mean(0), rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("a_max", [1.0, 16.0, 60.0])
def test_routing_matrix_float32_close_to_float64(a_max):
    """The float32 path (float64 factor arithmetic, float32 bmm) stays within F32_REL_TOL of float64 and finite,
    also where float32's smaller exponent range shrinks the blocks."""
    args = _mamba_like(96, 24, 16, seed=3, a_max=a_max)
    R64 = pm.routing_matrix(*args, channel_chunk=10)
    R32 = pm.routing_matrix(*[x.float() for x in args], channel_chunk=10)
    assert R32.dtype == torch.float32 and torch.isfinite(R32).all()
    assert float((R32.double() - R64).abs().max() / R64.max()) <= F32_REL_TOL

def test_rwkv_killed_carry_keeps_two_sources_and_uniform_shares():
    T, C = 16, 5
    k = torch.randn(T, C, dtype=torch.float64)
    w = -torch.exp(torch.full((C,), 30.0, dtype=torch.float64))
    alpha = pr.wkv_weights(k, w, torch.zeros(C, dtype=torch.float64))
    nz = (alpha > 1e-12).sum(-1)
    assert int(nz.max()) <= 2
    assert _share(alpha.mean(0)) <= 2.0 / T + 1e-12
    assert math.isclose(stats.uniform_share(128), 0.0424, abs_tol=5e-5)


def test_content_blind_rwkv_limits():
    """RW-3's hard null (CLAIMS.md §4): the content-blind router (k = 0, u = 0) falls monotonically with decay,
    from H_T/T at w = 0 to 1.5/T as w → −∞, and never exceeds H_T/T (column 0 receives the most)."""
    T, C = 128, 3
    k, u = torch.zeros(T, C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64)

    def share(w):
        return _share(pr.routing_matrix(k, torch.as_tensor(w, dtype=torch.float64).expand(C).clone(), u))

    assert math.isclose(share(0.0), stats.uniform_share(T), rel_tol=1e-12)
    assert math.isclose(share(-math.exp(30.0)), 1.5 / T, rel_tol=1e-9)
    vals = [share(-w) for w in np.geomspace(1e-5, 100, 40)]
    assert max(vals) <= stats.uniform_share(T) + 1e-15
    assert np.all(np.diff(vals) <= 1e-15)  # monotone: decay alone lowers the peak


@settings(max_examples=25)
@given(N=st.integers(1, 3), T=st.integers(1, 24), C=st.integers(1, 5), late=st.integers(0, 6),
       log_decay=st.floats(-12.0, 30.0), key_scale=st.floats(0.0, 8.0), seed=st.integers(0, 2**16))
def test_rwkv_column_sums_match_the_dense_routing(N, T, C, late, log_decay, key_scale, seed):
    """The O(N·T·C) column sums and late-query influence (what RW-1..4 and the zoo trajectory read) against the
    dense ``[C,T,T]`` softmax: every decay from no carry to the killed one (time_decay up to +30), any key scale."""
    late = min(late, T - 1)
    g = torch.Generator().manual_seed(seed)
    k = key_scale * torch.randn(N, T, C, dtype=torch.float64, generator=g)
    w = -torch.exp(log_decay + torch.randn(C, dtype=torch.float64, generator=g))
    u = torch.randn(C, dtype=torch.float64, generator=g)
    got = pr.column_sums(k, w, u, late)
    col, infl = got if late else (got, None)
    for i in range(N):
        R = pr.routing_matrix(k[i], w, u)
        assert torch.allclose(col[i], R.sum(0) * C, rtol=1e-10, atol=1e-12)
        if late:
            ref, _ = pr.late_query_influence(R, late)
            assert np.allclose(infl[i].numpy(), ref * C, rtol=1e-10, atol=1e-12)


def test_rwkv_late_queries_out_of_range_are_refused():
    k, w, u = torch.zeros(1, 8, 2, dtype=torch.float64), -torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    for bad in (-1, 8, 9):
        with pytest.raises(ValueError, match="late queries"):
            pr.column_sums(k, w, u, bad)


def test_rwkv_column_sums_fall_back_where_the_denominator_leaves_float_range():
    """Keys spanning e^{±1000} underflow the shifted denominator of the faster path: that sequence is redone densely."""
    T, C = 12, 2
    k = torch.zeros(2, T, C, dtype=torch.float64)
    k[1, -1] = 1000.0  # every earlier key sits e^{−1000} below the shift: their denominators underflow to 0
    w, u = -torch.ones(C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64)
    col, infl = pr.column_sums(k, w, u, 3)
    for i in range(2):
        R = pr.routing_matrix(k[i], w, u)
        assert torch.isfinite(col[i]).all() and torch.allclose(col[i], R.sum(0) * C, rtol=1e-10)
        assert np.allclose(infl[i].numpy(), pr.late_query_influence(R, 3)[0] * C, rtol=1e-10)


@settings(max_examples=20)
@given(T=st.integers(2, 40), seed=st.integers(0, 2**16))
def test_uniform_rows_reference(T, seed):
    """Mamba's uniform reference: an operator that is uniform within each row (any row masses) has exactly that
    max share; for row-stochastic rows it is H_T/T."""
    g = torch.Generator().manual_seed(seed)
    mass = torch.rand(T, 1, dtype=torch.float64, generator=g) + 0.01
    R = (mass / torch.arange(1, T + 1, dtype=torch.float64)[:, None]) * torch.ones(T, T, dtype=torch.float64).tril()
    assert math.isclose(stats.uniform_share_rows(R.sum(1)), _share(R), rel_tol=1e-12)
    assert math.isclose(stats.uniform_share_rows(pm.row_normalise(R).sum(1)), stats.uniform_share(T), rel_tol=1e-12)


# ----------------------------------------------------------------------------- physical controls
def test_mamba_constant_delta_shows_no_frozen_gap(tmp_path):
    """Hard null of MB-2: a gate that does not select (time-step rows of x_proj zeroed, so Δ = softplus(bias) is
    the same at every position of every sequence) equals its per-position mean: the frozen-Δ gap is exactly 0."""
    path = _tiny_mamba_dir(tmp_path, layers=2)
    model = _load(path)
    with torch.no_grad():
        for layer in model.backbone.layers:
            layer.mixer.x_proj.weight[: layer.mixer.time_step_rank].zero_()
    ids = torch.randint(0, 64, (6, 32), generator=torch.Generator().manual_seed(3))
    m = fr.measure_mamba(model, ids, "const-delta", unigram=unigram_nll(ids, ids))
    assert np.allclose(m.conc, m.conc_frozen_dt, atol=1e-12)
    res = cr.check_mb2(_sans(registry()["MB-2"], "functioning-model"), _rec(m, "const-delta"))
    assert res.checks[0].passed is False and abs(res.checks[0].measured) <= 1e-12
    assert all(c.passed for c in res.preconditions), res.message()  # it concentrates: the null is a hard one
    assert res.verdict == "not reproduced"


def test_mamba_measurement_smoke_and_selective_gap(mamba_dir):
    model = _load(mamba_dir)
    ids = torch.randint(0, 64, (6, 32), generator=torch.Generator().manual_seed(4))
    m = fr.measure_mamba(model, ids, "tiny", unigram=unigram_nll(ids, ids))
    assert m.conc.shape == (3, 6) and m.colshare.shape == (3, 32) and m.uniform_rows.shape == (3, 6)
    assert np.all(m.conc > 0) and np.all(m.conc <= 1)
    assert np.all(m.uniform_rows > 0) and np.all(m.uniform_rows <= 1)
    assert not np.allclose(m.conc, m.conc_frozen_dt)  # selective Δ: freezing changes the operator
    # the loss of the same pass: a random-init model does not beat the unigram baseline by a bit
    assert np.isfinite(m.nll) and m.lm_gain() < LN2
    with torch.no_grad():
        ref = float(model(ids, labels=ids).loss)
    assert math.isclose(m.nll, ref, rel_tol=1e-6)
    for fn in (cr.check_mb1, cr.check_mb2, cr.check_mb3):
        res = fn(registry()[fn.__name__.split("_")[1].upper().replace("MB", "MB-")], _rec(m, "tiny"))
        assert res.verdict == "inconclusive"  # not a functioning model
        assert "functioning-model" in res.premise_text()
    # the training trajectory's reading is the same operator's, without the frozen-Δ operators and geometry
    prof = fr.measure_mamba(model, ids, "tiny", routing_only=True)
    for key in ("conc", "colshare", "uniform_rows", "nll"):
        assert np.array_equal(getattr(prof, key), getattr(m, key)), key


def test_rwkv_killed_carry_never_onsets(rwkv_dir):
    model = _load(rwkv_dir)
    p = registry()["RW-3"].params
    ids = torch.randint(0, 64, (5, 64), generator=torch.Generator().manual_seed(5))
    m = fr.measure_rwkv(model, ids, [0.0, 1.0, 30.0, math.inf], 16, p["no_decay_time_decay"],
                        p["kill_time_decay"], "tiny", unigram=unigram_nll(ids, ids))
    killed = m.conc[m.index(math.inf)].mean(1)
    assert stats.onset_fraction(killed, registry()["RW-1"].param("onset_threshold"), never=cr.NEVER) == math.inf
    assert np.all(killed <= 2.0 / 64 + 1e-9)
    res = cr.check_rw1(_sans(registry()["RW-1"], "functioning-model", "intervened-model-functions"), _rec(m, "tiny"))
    assert res.verdict == "reproduced", res.message()  # positive control: a concentration, removed
    assert cr.check_rw1(registry()["RW-1"], _rec(m, "tiny")).verdict == "inconclusive"  # random init: no LM
    assert np.isfinite(m.nll).all() and m.nll.shape == (4,)
    # decay interventions are restored
    assert torch.equal(model.rwkv.blocks[0].attention.time_decay, _load(rwkv_dir).rwkv.blocks[0].attention.time_decay)
    # more carry → more concentration (a property of the operator, not of training)
    assert m.conc[m.index(0.0)].mean() > m.conc[m.index(30.0)].mean()


def test_rw1_fails_when_the_kill_does_not_take(rwkv_dir):
    """RW-1's one failure mode: an intervention that does not remove the carry (here the 'kill' writes the
    no-decay value) leaves a concentration, and the check says so."""
    model = _load(rwkv_dir)
    p = registry()["RW-3"].params
    ids = torch.randint(0, 64, (5, 64), generator=torch.Generator().manual_seed(5))
    m = fr.measure_rwkv(model, ids, [0.0, 1.0, 30.0, math.inf], 16, p["no_decay_time_decay"],
                        p["no_decay_time_decay"], "tiny-no-kill", unigram=unigram_nll(ids, ids))
    res = cr.check_rw1(_sans(registry()["RW-1"], "functioning-model", "intervened-model-functions"), _rec(m, "tiny-no-kill"))
    assert res.verdict == "not reproduced", res.message()


def test_content_blind_rwkv_reads_inconclusive_and_fails_the_rw3_null(tmp_path):
    """A physical content-blind RWKV (key weights and time_first zeroed): its operator is the measurement's
    content-blind null at every scale, it never concentrates above H_T/T (RW-1..3 inconclusive, not
    reproduced by the vacuous checks), and on its own it fails RW-3's hard-null check."""
    model = _load(_tiny_rwkv_dir(tmp_path, layers=2))
    with torch.no_grad():
        for b in model.rwkv.blocks:
            b.attention.key.weight.zero_()
            b.attention.time_first.zero_()
    p = registry()["RW-3"].params
    ids = torch.randint(0, 64, (5, 64), generator=torch.Generator().manual_seed(7))
    scales = list(p["decay_scales"]) + [math.inf]
    m = fr.measure_rwkv(model, ids, scales, 16, p["no_decay_time_decay"], p["kill_time_decay"], "blind", unigram=unigram_nll(ids, ids))
    assert np.allclose(m.conc, m.conc_blind[..., None], rtol=0, atol=1e-12)
    assert np.all(m.conc <= stats.uniform_share(64) + 1e-12)
    for cid, fn in (("RW-1", cr.check_rw1), ("RW-2", cr.check_rw2), ("RW-3", cr.check_rw3)):
        res = fn(_sans(registry()[cid], "functioning-model", "intervened-model-functions"), _rec(m, "blind"))
        assert res.verdict == "inconclusive", (cid, res.message())
    rw3 = cr.check_rw3(_sans(registry()["RW-3"], "functioning-model", "concentration-above-uniform", "intervened-model-functions"), _rec(m, "blind"))
    assert rw3.checks[0].passed and rw3.checks[1].passed  # it does fall monotonically with decay ...
    assert not rw3.checks[2].passed and rw3.verdict == "not reproduced"  # ... but no more than decay geometry


# ----------------------------------------------------------------------------- synthetic measurements
H128 = stats.uniform_share(128)


def _mamba_meas(conc, frozen=None, frozen_all=None, cv=None, static=None, T=128, n=16, seed=0, uniform=None,
                gain=2.0):
    rng = np.random.default_rng(seed)
    conc = np.asarray(conc, float)
    L = conc.size
    noisy = lambda v: np.clip(np.asarray(v, float)[:, None] + 0.005 * rng.standard_normal((L, n)), 1e-4, 1)  # noqa: E731
    fz = conc * 0.3 if frozen is None else np.asarray(frozen, float)
    return fr.MambaMeasurement(
        label="synthetic", conc=noisy(conc), conc_rownorm=noisy(conc), conc_frozen_dt=noisy(fz),
        conc_frozen_all=np.full(L, 0.045) if frozen_all is None else np.asarray(frozen_all, float),
        cv_delta=np.asarray(conc if cv is None else cv, float), delta_mean=np.ones(L),
        b_norm_cv=np.full(L, 0.1), xproj_b_weight_norm=np.full(L, 5.0) + 0.01 * np.arange(L)
        if static is None else np.asarray(static, float), colshare=np.full((L, T), 1.0 / T),
        uniform_rows=np.full((L, n), stats.uniform_share(T) if uniform is None else uniform),
        uniform_rows_frozen_dt=np.full((L, n), stats.uniform_share(T)),
        uniform_rows_frozen_all=np.full(L, stats.uniform_share(T)), nll=4.0, unigram_nll=4.0 + gain)


LATE = [0.05, 0.06, 0.07, 0.08, 0.10, 0.12, 0.15, 0.24, 0.27, 0.22]  # onsets at 80 %, peak 0.27


def test_mb1_controls():
    c = registry()["MB-1"]
    assert cr.check_mb1(c, _rec(_mamba_meas(LATE), "x")).verdict == "reproduced"
    early = [0.3, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    assert cr.check_mb1(c, _rec(_mamba_meas(early), "x")).verdict == "not reproduced"
    never = [0.05] * 10
    res = cr.check_mb1(c, _rec(_mamba_meas(never), "x"))
    assert res.verdict == "not reproduced" and all(p.passed for p in res.preconditions)
    # MB-1 is the recurrent policy's exception (its prediction implies a concentration above uniform): a router
    # at the uniform level refutes it rather than reading inconclusive
    assert cr.check_mb1(c, _rec(_mamba_meas([0.03] * 10), "x")).verdict == "not reproduced"
    assert "concentration-above-uniform" not in {p.id for p in c.preconditions}


def test_mb2_controls():
    c = registry()["MB-2"]
    assert cr.check_mb2(c, _rec(_mamba_meas(LATE), "x")).verdict == "reproduced"
    # hard null: a gate that does not select, freezing leaves the operator unchanged (premise met)
    res = cr.check_mb2(c, _rec(_mamba_meas(LATE, frozen=LATE), "x"))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced"
    # all-frozen stays as concentrated as the real operator: not near uniform
    assert cr.check_mb2(c, _rec(_mamba_meas(LATE, frozen_all=np.array(LATE)), "x")).verdict == "not reproduced"


def test_mb2_partial_flattening_is_not_entire():
    """'Flattens the concentration entirely': freezing Δ that removes a sliver of the excess above uniform
    (gap positive, nothing onsets) is not reproduced."""
    c = registry()["MB-2"]
    real = [0.05, 0.06, 0.08, 0.10, 0.12, 0.14]
    res = cr.check_mb2(c, _rec(_mamba_meas(real, frozen=np.asarray(real) - 0.01, frozen_all=np.full(6, 0.043)), "x"))
    assert res.checks[0].passed and res.checks[1].passed and not res.checks[2].passed
    assert res.verdict == "not reproduced"


def test_mb2_near_uniform_uses_the_operators_own_reference():
    """'Near uniform' for the unnormalised all-frozen operator is its own row-mass uniform, not H_T/T."""
    c = registry()["MB-2"]
    m = _mamba_meas(LATE, frozen_all=np.full(10, 0.02))
    m.uniform_rows_frozen_all = np.full(10, 0.02)  # e.g. late rows heavier: uniform routing of R sits at 0.02
    assert cr.check_mb2(c, _rec(m, "x")).verdict == "reproduced"
    m.uniform_rows_frozen_all = np.full(10, 0.30)  # far from the all-frozen peak: not near uniform
    assert cr.check_mb2(c, _rec(m, "x")).verdict == "not reproduced"


def _with_r(target, r, seed=0):
    """A vector whose Pearson r with ``target`` is exactly ``r`` (plus an offset)."""
    t = np.asarray(target, float)
    zt = (t - t.mean()) / np.linalg.norm(t - t.mean())
    o = np.random.default_rng(seed).standard_normal(t.size)
    o -= o.mean()
    o -= (o @ zt) * zt
    o /= np.linalg.norm(o)
    return 1.0 + 0.1 * (r * zt + math.sqrt(1 - r * r) * o), o


def test_mb3_controls():
    c = registry()["MB-3"]
    assert cr.check_mb3(c, _rec(_mamba_meas(LATE), "x")).verdict == "reproduced"
    anti = -np.asarray(LATE)
    assert cr.check_mb3(c, _rec(_mamba_meas(LATE, cv=anti + 1), "x")).verdict == "not reproduced"
    # the static norm varies with the concentration more than CV(Δ) does
    assert cr.check_mb3(c, _rec(_mamba_meas(LATE, cv=np.ones(10) + 0.001 * np.arange(10), static=np.asarray(LATE) * 50), "x")).verdict == "not reproduced"


def test_mb3_hard_null_positive_r_that_is_not_significant():
    """Hard null of MB-3: r = +0.58 over 6 layers (p ≈ 0.23) with everything else in order reads not reproduced."""
    c = registry()["MB-3"]
    conc = [0.08, 0.10, 0.15, 0.24, 0.30, 0.22]
    cv, orth = _with_r(conc, 0.58)
    _, orth2 = _with_r(conc, 0.0, seed=1)
    res = cr.check_mb3(c, _rec(_mamba_meas(conc, cv=cv, static=5.0 + 1e-4 * orth2), "x"))
    assert math.isclose(res.measured["r_cv_delta"], 0.58, abs_tol=0.02)
    failing = [ch.name for ch in res.checks if not ch.passed]
    assert len(failing) == 1 and "significant" in failing[0], res.message()
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced"
    strong, _ = _with_r(conc, 0.95)
    assert cr.check_mb3(c, _rec(_mamba_meas(conc, cv=strong, static=5.0 + 1e-4 * orth2), "x")).verdict == "reproduced"


@pytest.mark.parametrize("cid", ["MB-1", "MB-2", "MB-3"])
def test_mamba_premises(cid):
    """Premise met + claim false → not reproduced (the controls above); premise unmet → inconclusive."""
    fn = {"MB-1": cr.check_mb1, "MB-2": cr.check_mb2, "MB-3": cr.check_mb3}[cid]
    c = registry()[cid]
    assert fn(c, _rec(_mamba_meas(LATE), "x")).verdict == "reproduced"
    broken = fn(c, _rec(_mamba_meas(LATE, gain=0.5), "x"))  # the model does not predict the text
    assert broken.verdict == "inconclusive" and "functioning-model" in broken.premise_text()
    flat = fn(c, _rec(_mamba_meas(LATE, uniform=0.3), "x"))  # the operator sits below its own uniform level
    assert flat.verdict == ("reproduced" if cid == "MB-1" else "inconclusive")  # MB-1: the policy's exception


BLIND = {0.0: H128, 0.01: 0.041, 0.03: 0.039, 0.1: 0.035, 0.3: 0.030, 1.0: 0.025, 3.0: 0.020, 10.0: 0.016,
         30.0: 0.013, math.inf: 1.5 / 128}  # a content-blind router's peaks along the sweep


def _rwkv_meas(profiles: dict, r_norm=None, r_pos=None, T=128, n=16, seed=0, gain=2.0, blind=None):
    rng = np.random.default_rng(seed)
    scales = list(profiles)
    conc = np.stack([np.clip(np.asarray(profiles[s], float)[:, None] + 0.003 * rng.standard_normal((len(profiles[s]), n)),
                             1e-4, 1) for s in scales])
    V, L = conc.shape[:2]
    rn = np.zeros((V, L, n)) if r_norm is None else np.asarray(r_norm, float)[:, None, None] + 0.01 * rng.standard_normal((V, L, n))
    rp = np.zeros((V, L, n)) if r_pos is None else np.asarray(r_pos, float)[:, None, None] + 0.01 * rng.standard_normal((V, L, n))
    blind = BLIND if blind is None else blind
    return fr.RwkvMeasurement(label="synthetic", variants=[str(s) for s in scales], scales=scales, conc=conc,
                              r_norm=rn, r_pos=rp, colshare=np.full((V, L, T), 1.0 / T),
                              conc_blind=np.stack([np.full(L, blind[s]) for s in scales]), nll=np.full(V, 4.0),
                              unigram_nll=4.0 + gain)


def _sweep(kill=0.012):
    base = np.linspace(0.05, 1.0, 12)
    prof = {s: base * peak for s, peak in zip([0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0],
                                              [0.29, 0.27, 0.25, 0.23, 0.21, 0.20, 0.15, 0.11, 0.08])}
    prof[0.0] = np.array([0.05, 0.25] + [0.29] * 10)
    prof[1.0] = np.array([0.05] * 6 + [0.202] * 6)
    prof[math.inf] = np.full(12, kill)
    return prof


def test_rw1_controls():
    c = registry()["RW-1"]
    assert cr.check_rw1(c, _rec(_rwkv_meas(_sweep()), "x")).verdict == "reproduced"
    # the one thing that can fail: a 'kill' that leaves the learned operator in place (premise met)
    prof = _sweep()
    prof[math.inf] = prof[1.0]
    res = cr.check_rw1(c, _rec(_rwkv_meas(prof), "x"))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced"
    # no concentration to remove: a learned decay at the uniform level is inconclusive, not reproduced
    prof = _sweep()
    prof[1.0] = np.full(12, 0.03)
    assert cr.check_rw1(c, _rec(_rwkv_meas(prof), "x")).verdict == "inconclusive"


def test_rw2_controls():
    c = registry()["RW-2"]
    assert cr.check_rw2(c, _rec(_rwkv_meas(_sweep()), "x")).verdict == "reproduced"
    prof = _sweep()
    prof[0.0], prof[1.0] = prof[1.0], prof[0.0]  # less carry onsets earlier: claim false
    assert cr.check_rw2(c, _rec(_rwkv_meas(prof), "x")).verdict == "not reproduced"


def test_rw2_hard_null_concentration_independent_of_carry():
    """Hard null of RW-2: a router that concentrates (premise met) but whose profile does not depend on carry."""
    c = registry()["RW-2"]
    same = np.array([0.05] * 6 + [0.25] * 6)
    res = cr.check_rw2(c, _rec(_rwkv_meas({s: same for s in _sweep()}), "x"))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced"


def test_rw3_controls():
    c = registry()["RW-3"]
    assert cr.check_rw3(c, _rec(_rwkv_meas(_sweep()), "x")).verdict == "reproduced"
    prof = _sweep()
    prof[3.0] = prof[3.0] * 2.5  # a bump in the middle of the sweep
    assert cr.check_rw3(c, _rec(_rwkv_meas(prof), "x")).verdict == "not reproduced"


def test_rw3_hard_null_decay_geometry_plus_a_carry_independent_content():
    """Hard null of RW-3: the content-blind router's monotone fall plus a concentration that does not depend on
    carry (premise met): monotone, rising with carry, and yet only as much as decay geometry — not reproduced."""
    c = registry()["RW-3"]
    prof = {s: np.full(12, BLIND[s] + (0.15 if np.isfinite(s) else 0.0)) for s in BLIND}
    res = cr.check_rw3(c, _rec(_rwkv_meas(prof), "x"))
    assert all(p.passed for p in res.preconditions)
    assert res.checks[0].passed and res.checks[1].passed and not res.checks[2].passed
    assert res.verdict == "not reproduced"


def _rw4_meas(full, learned, heavy):
    scales = list(_sweep())
    rn = [full[0] if s == 0.0 else learned[0] if s == 1.0 else heavy[0] if s == 30.0 else 0.1 for s in scales]
    rp = [full[1] if s == 0.0 else learned[1] if s == 1.0 else heavy[1] if s == 30.0 else 0.2 for s in scales]
    return _rwkv_meas(_sweep(), rn, rp)


def test_rw4_controls():
    c = registry()["RW-4"]
    paper = _rw4_meas(full=(0.36, -0.09), learned=(0.17, 0.20), heavy=(0.05, 0.43))
    assert cr.check_rw4(c, _rec(paper, "x")).verdict == "reproduced"
    swapped = _rw4_meas(full=(-0.09, 0.36), learned=(0.20, 0.17), heavy=(0.43, 0.05))
    assert cr.check_rw4(c, _rec(swapped, "x")).verdict == "not reproduced"


def test_rw4_hard_null_the_first_audits_pattern():
    """Hard null of RW-4: position-picked already at the learned decay (r(norm) 0.03 vs r(pos) 0.74) with r(pos)
    falling to 0.33 as decay is added. The v2 checks (full content-picked, heavy position-picked, r(pos) heavy >
    full) all pass on it; 'balanced' and 'climbs' do not."""
    c = registry()["RW-4"]
    res = cr.check_rw4(c, _rec(_rw4_meas(full=(0.30, 0.10), learned=(0.03, 0.74), heavy=(0.00, 0.33)), "x"))
    by_name = {ch.name.split(":")[0]: ch.passed for ch in res.checks}
    assert by_name["full carry is content-picked"] and by_name["heavy decay is position-picked"]
    assert not by_name["learned decay is balanced"] and not by_name["adding decay raises the recency correlation"]
    assert res.verdict == "not reproduced"


@pytest.mark.parametrize("cid", ["RW-1", "RW-2", "RW-3", "RW-4"])
def test_rwkv_premises(cid):
    fn = {"RW-1": cr.check_rw1, "RW-2": cr.check_rw2, "RW-3": cr.check_rw3, "RW-4": cr.check_rw4}[cid]
    c = registry()[cid]
    good = _rw4_meas(full=(0.36, -0.09), learned=(0.17, 0.20), heavy=(0.05, 0.43))
    assert fn(c, _rec(good, "x")).verdict == "reproduced"
    broken = dataclasses.replace(good, unigram_nll=good.unigram_nll - 1.8)  # gain 0.2 nats < ln 2
    assert fn(c, _rec(broken, "x")).verdict == "inconclusive"
    flat = dataclasses.replace(good, conc=good.conc.copy())
    flat.conc[flat.index(1.0)] = 0.03  # the learned decay does not concentrate
    assert fn(c, _rec(flat, "x")).verdict == "inconclusive"  # the family's premise, RW-4 included (v4)


@pytest.mark.parametrize("cid, broken_scale", [("RW-1", math.inf), ("RW-2", 0.0), ("RW-3", 30.0), ("RW-4", 0.0),
                                                ("RW-4", 30.0)])
def test_rwkv_intervened_model_must_function(cid, broken_scale):
    """Issue 22 item 4: an intervened pass the decision reads whose model no longer predicts the text (its loss
    above the unigram baseline) leaves nothing to read — inconclusive, whatever the checks say; a broken pass the
    decision does not read (RW-1's kill for RW-2) changes nothing."""
    fn = {"RW-1": cr.check_rw1, "RW-2": cr.check_rw2, "RW-3": cr.check_rw3, "RW-4": cr.check_rw4}[cid]
    c = registry()[cid]
    good = _rw4_meas(full=(0.36, -0.09), learned=(0.17, 0.20), heavy=(0.05, 0.43))
    ok = fn(c, _rec(good, "x"))
    assert ok.verdict == "reproduced" and "premise intervened-model-functions" in {p.name.split(":")[0]
                                                                                 for p in ok.preconditions}
    nll = good.nll.copy()
    nll[good.index(broken_scale)] = good.unigram_nll + 0.5
    res = fn(c, _rec(dataclasses.replace(good, nll=nll), "x"))
    assert res.verdict == "inconclusive", res.message()
    pre = {p.name.split(":")[0]: p for p in res.preconditions}
    assert not pre["premise intervened-model-functions"].passed and pre["premise functioning-model"].passed
    nll = good.nll.copy()
    nll[good.index(math.inf)] = good.unigram_nll + 0.5  # the killed carry: only RW-1 reads it
    assert fn(c, _rec(dataclasses.replace(good, nll=nll), "x")).verdict == ("inconclusive" if cid == "RW-1"
                                                                             else "reproduced")


def _tf8_inputs(rec_profile, tf_profile, rec_gain=2.0, tf_gain=3.0, seed=0):
    rng = np.random.default_rng(seed)
    noisy = lambda p: np.clip(np.asarray(p)[:, None] + 0.01 * rng.standard_normal((len(p), 16)), 0, 1)  # noqa: E731
    rec = noisy(rec_profile)
    return cr.Tf8Measurement(label="x", router="mamba", conc=rec, uniform=H128, lm_gain=rec_gain,
                             transformers={"tf": {"conc": noisy(tf_profile), "uniform": H128, "lm_gain": tf_gain}})


TF_PROFILE = [0.1, 0.3, 0.6, 0.7, 0.7, 0.7]
REC_PROFILE = [0.05, 0.06, 0.1, 0.15, 0.25, 0.22]


def test_tf8_controls():
    c = registry()["TF-8"]
    assert cr.check_tf8(c, _tf8_inputs(REC_PROFILE, TF_PROFILE)).verdict == "reproduced"
    # a recurrent router that concentrates early and strongly, against a weak transformer (premises met)
    res = cr.check_tf8(c, _tf8_inputs(TF_PROFILE, REC_PROFILE))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced"


def test_tf8_premises():
    """A recurrent router that does not concentrate at all makes 'later and weaker' vacuous (v2 read it as
    reproduced): inconclusive; so does a compared model that does not work on the text."""
    c = registry()["TF-8"]
    flat = cr.check_tf8(c, _tf8_inputs([0.03] * 6, TF_PROFILE))
    assert all(ch.passed for ch in flat.checks) and flat.verdict == "inconclusive"
    assert "recurrent-concentrates" in flat.premise_text()
    assert cr.check_tf8(c, _tf8_inputs(REC_PROFILE, TF_PROFILE, tf_gain=0.3)).verdict == "inconclusive"
    assert cr.check_tf8(c, _tf8_inputs(REC_PROFILE, TF_PROFILE, rec_gain=0.3)).verdict == "inconclusive"


def test_tf8_censored_onset_is_inconclusive():
    """Issue 22 item 2: a recurrent router that concentrates above its uniform level but never crosses the
    onset threshold has no onset to order — 'later' would hold vacuously (v3 read it as reproduced)."""
    c = registry()["TF-8"]
    never = [0.05, 0.06, 0.08, 0.10, 0.12, 0.14]  # above H_T/T = 0.042, below 0.20 everywhere
    res = cr.check_tf8(c, _tf8_inputs(never, TF_PROFILE))
    assert all(ch.passed for ch in res.checks)  # the checks alone would read reproduced
    assert res.verdict == "inconclusive" and "onsets-observed" in res.premise_text()
    # a censored *earlier* side decides: a transformer that never onsets against a recurrent router that does
    # refutes 'transformers onset earlier' (pair by pair: censoring can refute an order, not confirm one)
    res = cr.check_tf8(c, _tf8_inputs(REC_PROFILE, [0.1, 0.15, 0.18, 0.19, 0.19, 0.19]))
    assert res.verdict == "not reproduced" and all(p.passed for p in res.preconditions), res.message()


# ----------------------------------------------------------------------------- MB-4/5, RW-5/6: key geometry
from probes.geometry import centred_gram_eigvals, double_centred_distance_eigvals, ve_at_r  # noqa: E402


def _low_rank(shape, rank, noise, rng):
    """Clouds ``[..., T, d]`` on a ``rank``-dim subspace plus isotropic noise of std ``noise``."""
    *lead, T, d = shape
    basis = rng.standard_normal((*lead, rank, d))
    coef = 3.0 * rng.standard_normal((*lead, T, rank))
    return coef @ basis + noise * rng.standard_normal(shape)


def _with_mamba_geometry(B, delta, gain=2.0):
    """A synthetic Mamba measurement whose key geometry is reduced from ``B [L,N,T,Nst]`` and
    ``delta [L,N,T,D]`` exactly as fixtures/recurrent.py's hook does."""
    B, delta = torch.as_tensor(B, dtype=torch.float64), torch.as_tensor(delta, dtype=torch.float64)
    L, n, T, Ns = B.shape
    bn = B.norm(dim=-1)
    eff = delta * bn[..., None]
    m = _mamba_meas([0.05] * L, T=T, n=n, gain=gain)
    return dataclasses.replace(m, b_eigvals=centred_gram_eigvals(B).numpy(), b_norms=bn.numpy(),
                               key_norm_s1=eff.sum(2).numpy(), key_norm_s2=eff.pow(2).sum(2).numpy(), state_size=Ns)


def _with_rwkv_geometry(k, gain=2.0):
    k = torch.as_tensor(k, dtype=torch.float64)
    L, n, T, C = k.shape
    m = _rwkv_meas({1.0: np.full(L, 0.05)}, T=T, n=n, gain=gain)
    return dataclasses.replace(m, key_eigvals=centred_gram_eigvals(k).numpy(), key_norms=k.norm(dim=-1).numpy(),
                               key_dim=C)


GEO_L, GEO_N, GEO_T = 4, 16, 128


def test_mb4_controls_and_gaussian_hard_null():
    """Low-rank B reads reproduced; the hard null — B i.i.d. Gaussian of the same shape — reads not
    reproduced; a model that does not work on the text reads inconclusive."""
    rng = np.random.default_rng(0)
    c = registry()["MB-4"]
    delta = np.ones((GEO_L, GEO_N, GEO_T, 8))
    low = _with_mamba_geometry(_low_rank((GEO_L, GEO_N, GEO_T, 16), 3, 0.3, rng), delta)
    res = cr.check_mb4(c, _rec(low, "low-rank"))
    assert res.verdict == "reproduced", res.message()
    assert res.measured["layers_clearing_null"] == GEO_L
    gauss = _with_mamba_geometry(rng.standard_normal((GEO_L, GEO_N, GEO_T, 16)), delta)
    res = cr.check_mb4(c, _rec(gauss, "gaussian-B"))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced", res.message()
    assert abs(res.measured["ve8"] - res.null["gauss"]) < 0.01  # the null is the matched one
    broken = _with_mamba_geometry(_low_rank((GEO_L, GEO_N, GEO_T, 16), 3, 0.3, rng), delta, gain=0.3)
    res = cr.check_mb4(c, _rec(broken, "broken"))
    assert res.verdict == "inconclusive" and "functioning-model" in res.premise_text()


def test_rw5_controls_and_gaussian_hard_null():
    rng = np.random.default_rng(1)
    c = registry()["RW-5"]
    assert cr.check_rw5(c, _rec(_with_rwkv_geometry(_low_rank((GEO_L, GEO_N, GEO_T, 48), 4, 0.3, rng)), "x")).verdict \
        == "reproduced"
    res = cr.check_rw5(c, _rec(_with_rwkv_geometry(rng.standard_normal((GEO_L, GEO_N, GEO_T, 48))), "gaussian-k"))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced", res.message()
    res = cr.check_rw5(c, _rec(_with_rwkv_geometry(_low_rank((GEO_L, GEO_N, GEO_T, 48), 4, 0.3, rng), gain=0.3), "x"))
    assert res.verdict == "inconclusive" and "functioning-model" in res.premise_text()


def test_mb5_controls_and_non_selective_gaussian_hard_null():
    """A selective gate (Δ varying over positions) stratifies the effective key norm Δ‖B‖: reproduced. The hard
    null — a gate that does not select (Δ constant per channel) over i.i.d. Gaussian B — sits at the
    isotropic baseline: not reproduced. Premise unmet: inconclusive."""
    rng = np.random.default_rng(2)
    c = registry()["MB-5"]
    B = rng.standard_normal((GEO_L, GEO_N, GEO_T, 16))
    selective = np.exp(0.5 * rng.standard_normal((GEO_L, GEO_N, GEO_T, 8)))
    res = cr.check_mb5(c, _rec(_with_mamba_geometry(B, selective), "selective"))
    assert res.verdict == "reproduced", res.message()
    const = np.broadcast_to(rng.uniform(0.5, 2.0, 8), (GEO_L, GEO_N, GEO_T, 8)).copy()
    res = cr.check_mb5(c, _rec(_with_mamba_geometry(B, const), "constant-delta"))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced", res.message()
    assert abs(res.measured["mean_cv"] - cr.chi_norm_cv(16)) < 0.01  # at the Gaussian level (exact χ_16)
    res = cr.check_mb5(c, _rec(_with_mamba_geometry(B, selective, gain=0.3), "broken"))
    assert res.verdict == "inconclusive" and "functioning-model" in res.premise_text()


def test_rw6_controls_and_gaussian_hard_null():
    rng = np.random.default_rng(3)
    c = registry()["RW-6"]
    k = rng.standard_normal((GEO_L, GEO_N, GEO_T, 64))
    scale = np.exp(0.4 * rng.standard_normal((GEO_L, GEO_N, GEO_T, 1)))  # token-dependent key norms
    assert cr.check_rw6(c, _rec(_with_rwkv_geometry(k * scale), "x")).verdict == "reproduced"
    res = cr.check_rw6(c, _rec(_with_rwkv_geometry(k), "gaussian-k"))
    assert all(p.passed for p in res.preconditions) and res.verdict == "not reproduced", res.message()
    res = cr.check_rw6(c, _rec(_with_rwkv_geometry(k * scale, gain=0.3), "x"))
    assert res.verdict == "inconclusive" and "functioning-model" in res.premise_text()


@settings(max_examples=10, deadline=None)
@given(L=st.integers(1, 3), N=st.integers(2, 6), T=st.integers(2, 9), H=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_pooled_cv_bootstrap_sums_is_tf1s_estimator(L, N, T, H, seed):
    """The one pooled-CV estimator (TF-1's, used by the norm legs from per-sequence sums) against an
    independent oracle: std/mean over the raw tokens, and each bootstrap replicate rebuilt by repeating
    the sequences as the resampling counts say."""
    norms = np.random.default_rng(seed).uniform(0.5, 2.0, (L, N, T, H))
    cv, se, mean_se = stats.pooled_cv_bootstrap_sums(norms.sum(2), (norms ** 2).sum(2), T, 50, seed)
    flat = norms.transpose(0, 3, 1, 2).reshape(L, H, N * T)
    assert np.allclose(cv, flat.std(-1) / flat.mean(-1), rtol=1e-10)
    reps = []
    for w in stats.bootstrap_counts(N, 50, seed).astype(int):  # the suite's one bootstrap draw
        x = np.repeat(norms, w, axis=1).transpose(0, 3, 1, 2).reshape(L, H, -1)
        reps.append(x.std(-1) / x.mean(-1))
    reps = np.array(reps)
    assert np.allclose(se, reps.std(0, ddof=1), rtol=1e-8, atol=1e-14)
    assert np.allclose(mean_se, reps.mean(2).std(0, ddof=1), rtol=1e-8, atol=1e-14)


def test_gaussian_ve_null_chunks_agree(monkeypatch):
    """The chunked Gaussian null is TF-2's below the chunk size, and agrees with it within its SE above."""
    assert geometry.gaussian_ve_null_chunked(128, 16, 8, 400, 0) == geometry.gaussian_ve_null(128, 16, 8, 400, 0)
    full, full_se = geometry.gaussian_ve_null_chunked(64, 24, 8, 600, 0)
    monkeypatch.setattr(geometry, "NULL_CHUNK_BYTES", 8 * 64 * 24 * 100)  # 100 clouds per chunk
    chunked, chunked_se = geometry.gaussian_ve_null_chunked(64, 24, 8, 600, 0)
    assert (chunked, chunked_se) != (full, full_se)
    assert abs(chunked - full) < 4 * math.hypot(full_se, chunked_se)
    assert math.isclose(chunked_se, full_se, rel_tol=0.3)


def test_chi_norm_cv_limits():
    rng = np.random.default_rng(0)
    for d in (4, 16):
        nrm = np.linalg.norm(rng.standard_normal((200_000, d)), axis=1)
        assert math.isclose(cr.chi_norm_cv(d), nrm.std() / nrm.mean(), rel_tol=5e-3)
    assert math.isclose(cr.chi_norm_cv(4096), 1 / math.sqrt(2 * 4096), rel_tol=1e-3)
    assert cr.chi_norm_cv(16) > 1 / math.sqrt(32)


def test_mamba_key_geometry_matches_the_captured_B(mamba_dir):
    """The measurement's B spectrum and effective-key norm sums equal those recomputed from x_proj's own output
    (the spectrum also against the literal double-centred distance matrix)."""
    model = _load(mamba_dir)
    ids = torch.randint(0, 64, (4, 20), generator=torch.Generator().manual_seed(8))
    caps = {}
    hs = [layer.mixer.x_proj.register_forward_hook(lambda mod, i, o, li=li: caps.__setitem__(li, (i[0], o)))
          for li, layer in enumerate(model.backbone.layers)]
    m = fr.measure_mamba(model, ids, "tiny", unigram=unigram_nll(ids, ids))
    for h in hs:
        h.remove()
    assert m.b_eigvals.shape == (3, 4, 6) and m.state_size == 6 and m.key_norm_s1.shape == (3, 4, 48)
    for li, layer in enumerate(model.backbone.layers):
        delta, A, B, C, _ = fr.mamba_layer_inputs(layer.mixer, *caps[li])
        assert np.allclose(m.b_eigvals[li], double_centred_distance_eigvals(B)[..., :6].numpy(), rtol=1e-8, atol=1e-10)
        assert np.allclose(cr.ve_layers(m.b_eigvals[li:li + 1], 2)[0], ve_at_r(B, 2).numpy(), rtol=1e-10)
        eff = delta * B.norm(dim=-1)[..., None]
        assert np.allclose(m.key_norm_s1[li], eff.sum(1).numpy(), rtol=1e-10)
        assert np.allclose(m.key_norm_s2[li], eff.pow(2).sum(1).numpy(), rtol=1e-10)
    for fn in (cr.check_mb4, cr.check_mb5):  # runs on a real measurement; a random-init model is not an LM
        assert fn(registry()[fn.__name__[6:].upper().replace("MB", "MB-")], _rec(m, "tiny")).verdict == "inconclusive"


def test_rwkv_key_geometry_taken_at_the_learned_decay(rwkv_dir):
    model = _load(rwkv_dir)
    p = registry()["RW-3"].params
    ids = torch.randint(0, 64, (4, 24), generator=torch.Generator().manual_seed(9))
    keys = {}
    hs = [b.attention.key.register_forward_hook(lambda mod, i, o, li=li: keys.__setitem__(li, o.double()))
          for li, b in enumerate(model.rwkv.blocks)]
    with torch.no_grad():
        model(ids)  # the model as trained (s = 1)
    for h in hs:
        h.remove()
    m = fr.measure_rwkv(model, ids, [0.0, 1.0, math.inf], 8, p["no_decay_time_decay"], p["kill_time_decay"], "tiny",
                        unigram=unigram_nll(ids, ids))
    assert m.key_dim == 24 and m.key_eigvals.shape == (3, 4, 24)
    for li in range(3):
        assert np.allclose(m.key_norms[li], keys[li].norm(dim=-1).numpy(), rtol=1e-10)
        assert np.allclose(m.key_eigvals[li], centred_gram_eigvals(keys[li]).numpy(), rtol=1e-8, atol=1e-10)
    assert fr.measure_rwkv(model, ids, [0.0], 8, p["no_decay_time_decay"], p["kill_time_decay"], "tiny").key_norms \
        is None  # no learned-decay pass: no key geometry


# ----------------------------------------------------------------------------- the family interface
def test_targets_of_the_default_run():
    """The recurrent measurements in the default run: the default model (scope model; its architecture makes
    every claim of the family not applicable), the zoo's two routers, the paper's hub checkpoints; each router
    once for its own claims and once for TF-8; a hub checkpoint not in the local HF cache says how to run it."""
    from suite.family import skip_reason
    from suite.options import RunOptions
    from tests import audit

    options = RunOptions(models=("smollm2-135m",), zoo="smoke")
    cases = audit.cases(cr, options)
    pairs = {(c.cid, c.target.label) for c in cases}
    hub_mamba = [f"state-spaces__mamba-{s}-hf" for s in ("130m", "370m", "790m", "1.4b")]
    want = ({(cid, "smollm2-135m") for cid in audit.checks_of(cr)}
            | {(cid, "zoo-mamba") for cid in MB + TF8}
            | {(cid, "zoo-rwkv") for cid in RW + TF8}
            | {(cid, lab) for lab in hub_mamba for cid in MB + TF8}
            | {(cid, "RWKV__rwkv-4-169m-pile") for cid in RW + TF8})
    assert pairs == want
    assert len(pairs) == len(cases)  # labels unique per claim id
    reg = registry()
    for c in cases:
        t, cid = c.target, c.cid
        assert hash(t.ref) is not None
        if t.label == "smollm2-135m":
            assert t.scope == "model" and not t.marks
            assert skip_reason(reg[cid], t).startswith("not applicable: smollm2-135m"), cid
        elif t.label.startswith("zoo-"):
            assert t.marks == ("zoo",) and t.scope == "paper" and t.unavailable is None
            assert skip_reason(reg[cid], t) is None
        else:
            assert t.marks == ("hub",) and t.scope == "paper"
            assert t.unavailable is None or (
                "not available offline" in t.unavailable
                and f"pytest claims/test_audit.py -m hub -k {t.label}" in t.unavailable)


def test_hub_checkpoint_given_as_model_is_measured_once(monkeypatch):
    """A hub checkpoint that is also a ``--model`` of the run is that model's target (scope model), once."""
    from suite.options import RunOptions
    from tests import audit

    got = audit.cases(cr, RunOptions(models=("smollm2-135m", "RWKV/rwkv-4-169m-pile"), zoo="smoke"))
    rwkv = [c for c in got if c.target.label == "RWKV__rwkv-4-169m-pile"]
    assert {(c.target.scope, c.target.marks) for c in rwkv} == {("model", ())}
    assert sorted(c.cid for c in rwkv) == sorted(MB + RW + TF8)


def test_hub_env_lets_the_hub_targets_run(monkeypatch):
    from suite.options import RunOptions
    from tests import audit

    monkeypatch.setenv(cr.HUB_ENV, "1")
    options = RunOptions(models=("smollm2-135m",))
    hub = [t for name in ("mamba-pass", "rwkv-pass", "router-vs-transformers")
           for t in audit.subjects(name, options) if "hub" in t.marks]
    n = len(cr.HUB_REFS["mamba"]) + len(cr.HUB_REFS["rwkv"])
    assert len(hub) == 2 * n and all(t.unavailable is None for t in hub)


def test_measure_makes_the_record_of_each_target(monkeypatch):
    """measure(): the router's record (with the run's seed) for its own claims; for TF-8 the same pass at the
    learned decay (RWKV) or R (Mamba) with its uniform reference, against the run's transformers."""
    from fixtures.models import ModelSpec
    from suite.family import Target
    from suite.options import RunOptions
    from tests import audit

    passes = {"rwkv": _rwkv_meas(_sweep()), "mamba": _mamba_meas(LATE)}
    tfs = {"tf": {"conc": np.full((6, 4), 0.5), "uniform": H128, "lm_gain": 3.0}}
    monkeypatch.setattr(cr, "router_pass", lambda spec, kind, options: passes[kind])
    monkeypatch.setattr(cr, "transformer_profiles", lambda options: tfs)
    options = RunOptions(models=("smollm2-135m",), seed=7)
    for kind in ("rwkv", "mamba"):
        spec = ModelSpec(label=f"some-{kind}", source="hub", ref=f"org/{kind}")
        own = audit.measure(f"{kind}-pass", Target(label=spec.label, ref=spec, arch=cr.ROUTER_ARCH[kind]), options)
        assert isinstance(own, cr.RouterMeasurement) and own.measurement is passes[kind]
        assert (own.label, own.router, own.seed) == (spec.label, kind, 7)
        tf8 = audit.measure("router-vs-transformers", Target(label=spec.label, ref=spec, arch=cr.ROUTER_ARCH[kind]),
                            options)
        assert isinstance(tf8, cr.Tf8Measurement) and tf8.transformers is tfs and tf8.router == kind
        m = passes[kind]
        if kind == "rwkv":
            assert np.array_equal(tf8.conc, m.conc[m.index(1.0)])
            assert tf8.uniform == stats.uniform_share(m.colshare.shape[-1]) and tf8.lm_gain == m.lm_gain(1.0)
        else:
            assert tf8.conc is m.conc and tf8.uniform is m.uniform_rows and tf8.lm_gain == m.lm_gain()
    with pytest.raises(ValueError, match="not a recurrent router"):
        audit.measure("router-vs-transformers",
                      Target(label="tf", ref=spec, arch=frozenset({"softmax-attention", "all-routers"})), options)


PEARSON_TOL = 1e-12  # probes.stats.pearson (scipy) against the np.corrcoef r MB-3 read before


@settings(max_examples=30)
@given(n=st.integers(3, 40), seed=st.integers(0, 2**16))
def test_stats_pearson_is_the_corrcoef_r(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    y = y + rng.uniform(-2, 2) * x
    r, p = stats.pearson(x, y)
    assert abs(r - float(np.corrcoef(x, y)[0, 1])) <= PEARSON_TOL
    assert 0.0 <= p <= 1.0


def test_a_model_router_gets_its_claims_and_tf8(mamba_dir, rwkv_dir):
    """``--model`` a Mamba: MB-* and TF-8 apply, RW-* not (and the converse for an RWKV) — the registry's
    applies_to against the architecture read from the config."""
    from suite.family import skip_reason
    from suite.options import RunOptions
    from tests import audit

    reg = registry()
    for path, own, other in ((mamba_dir, MB, RW), (rwkv_dir, RW, MB)):
        got = [c for c in audit.cases(cr, RunOptions(models=(str(path),))) if c.target.scope == "model"]
        decided = {c.cid for c in got if skip_reason(reg[c.cid], c.target) is None}
        assert decided == set(own + TF8)
        assert all(skip_reason(reg[c.cid], c.target).startswith("not applicable") for c in got if c.cid in other)


def test_geometry_claims_meet_the_untrained_model():
    """Issue 22 item 8: the nearest alternative of MB-4/5, RW-5/6 is the same recipe's untrained model. A
    geometry the untrained model has as much of (the architecture alone) reads not reproduced, though it
    clears the Gaussian / isotropic null; a trained geometry beyond the untrained one reads reproduced."""
    rng = np.random.default_rng(5)
    delta = np.ones((GEO_L, GEO_N, GEO_T, 8))
    low = _with_mamba_geometry(_low_rank((GEO_L, GEO_N, GEO_T, 16), 3, 0.3, rng), delta)
    same = _with_mamba_geometry(_low_rank((GEO_L, GEO_N, GEO_T, 16), 3, 0.3, rng), delta)
    gauss = _with_mamba_geometry(rng.standard_normal((GEO_L, GEO_N, GEO_T, 16)), delta)
    c = registry()["MB-4"]
    rec = lambda m, u: cr.RouterMeasurement(label="x", router="mamba", measurement=m, untrained=u)  # noqa: E731
    assert cr.check_mb4(c, rec(low, gauss)).verdict == "reproduced"
    res = cr.check_mb4(c, rec(low, same))
    assert res.checks[0].passed and res.verdict == "not reproduced", res.message()
    B = rng.standard_normal((GEO_L, GEO_N, GEO_T, 16))
    selective = _with_mamba_geometry(B, np.exp(0.5 * rng.standard_normal((GEO_L, GEO_N, GEO_T, 8))))
    selective_too = _with_mamba_geometry(B, np.exp(0.5 * rng.standard_normal((GEO_L, GEO_N, GEO_T, 8))))
    const = _with_mamba_geometry(B, np.broadcast_to(rng.uniform(0.5, 2.0, 8), (GEO_L, GEO_N, GEO_T, 8)).copy())
    c5 = registry()["MB-5"]
    assert cr.check_mb5(c5, rec(selective, const)).verdict == "reproduced"
    res = cr.check_mb5(c5, rec(selective, selective_too))
    assert res.checks[0].passed and res.verdict == "not reproduced", res.message()
    k = rng.standard_normal((GEO_L, GEO_N, GEO_T, 64))
    scale = np.exp(0.4 * rng.standard_normal((GEO_L, GEO_N, GEO_T, 1)))
    rrec = lambda m, u: cr.RouterMeasurement(label="x", router="rwkv", measurement=m, untrained=u)  # noqa: E731
    strat, flat = _with_rwkv_geometry(k * scale), _with_rwkv_geometry(k)
    assert cr.check_rw6(registry()["RW-6"], rrec(strat, flat)).verdict == "reproduced"
    assert cr.check_rw6(registry()["RW-6"], rrec(strat, strat)).verdict == "not reproduced"
    lowk = _with_rwkv_geometry(_low_rank((GEO_L, GEO_N, GEO_T, 48), 4, 0.3, rng))
    assert cr.check_rw5(registry()["RW-5"], rrec(lowk, _with_rwkv_geometry(rng.standard_normal((GEO_L, GEO_N, GEO_T, 48))))).verdict == "reproduced"
    assert cr.check_rw5(registry()["RW-5"], rrec(lowk, lowk)).verdict == "not reproduced"
