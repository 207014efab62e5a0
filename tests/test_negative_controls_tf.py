"""Negative (and positive) controls for TF-1, TF-2, TF-4..TF-7: the same check functions the audit
uses (``check(claim, record)``), fed records of synthetic measurements on which each claim is false.
(ID-1..3 and TF-3's controls are in tests/test_identity.py.)"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from claims import checks_tf
from suite.family import CHECKS
from suite.registry import registry
from tests.synthetic import causal_uniform, measurement_from_tensors, sink_attention

L, N, T, H, HK, D = 4, 12, 64, 4, 2, 16
REG = registry()
TOKEN_ONLY_ATOL = 1e-9  # a token-only layer's VE@8 equals the shuffled run's (the same keys, permuted)


def rec(real, shuffled=None, seed=0):
    """The audit's single-model record (claims.checks_tf.ModelRecord) of a synthetic measurement."""
    return checks_tf.ModelRecord(label=real.label, real=real, shuffled=shuffled, seed=seed)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def gaussian_keys(seed=0, scale=1.0):
    return torch.randn(L, N, T, HK, D, generator=gen(seed), dtype=torch.float64) * scale


def lowrank_keys(seed=0, rank=2, norm_spread=True):
    g = gen(seed)
    basis = torch.randn(L, 1, 1, HK, rank, D, generator=g, dtype=torch.float64)
    coef = torch.randn(L, N, T, HK, rank, generator=g, dtype=torch.float64)
    k = torch.einsum("lnthr,lxyhrd->lnthd", coef, basis) + 0.05 * torch.randn(L, N, T, HK, D, generator=g, dtype=torch.float64)
    if norm_spread:
        k = k * torch.linspace(0.5, 2.0, T, dtype=torch.float64).view(1, 1, T, 1, 1)
    return k


def run(m_keys, attn=None, post=None):
    attn = causal_uniform(N, H, T, L) if attn is None else attn
    return measurement_from_tensors(m_keys, attn, post)


# ---------------------------------------------------------------- TF-1
def test_tf1_fails_on_constant_norm_keys():
    k = gaussian_keys(1)
    k = 3.0 * k / k.norm(dim=-1, keepdim=True)  # hyperspherical keys: A4 holds, CV = 0
    r = checks_tf.check_tf1(REG["TF-1"], rec(run(k)))
    assert r.verdict == "not reproduced", r.message()


def test_tf1_fails_on_isotropic_gaussian_keys():
    """Gaussian keys sit *at* the baseline, so they must not clear it beyond the margin."""
    r = checks_tf.check_tf1(REG["TF-1"], rec(run(gaussian_keys(2))))
    assert r.verdict == "not reproduced", r.message()


def test_tf1_passes_on_stratified_norms():
    r = checks_tf.check_tf1(REG["TF-1"], rec(run(lowrank_keys(3))))
    assert r.verdict == "reproduced", r.message()


def test_centred_key_norms_match_brute_force():
    """The reducer's centred norms are ||k − mean of the sequence's keys|| per (layer, sequence, token, KV head)."""
    k = lowrank_keys(4)
    m = run(k)
    want = (k - k.mean(2, keepdim=True)).norm(dim=-1).float().numpy()
    np.testing.assert_allclose(m.key_norms(centred=True), want, rtol=1e-6)
    np.testing.assert_allclose(m.key_norms(), k.norm(dim=-1).float().numpy(), rtol=1e-6)


def test_tf1_key_bias_raw_versus_centred():
    """Issue 22 item 7: stratified norms plus a large common key offset (a key bias). The raw norms are nearly
    equal (the offset dominates): the registry's rule (raw keys, A4) reads not reproduced; the panel's
    'keys centred' alternative reads the stratification and flips it — the verdict is marked fragile."""
    from dataclasses import replace

    from suite.robustness import panel

    k = lowrank_keys(3)
    bias = torch.zeros(D, dtype=torch.float64)
    bias[0] = 40.0 * float(k.norm(dim=-1).mean())
    m = run(k + bias)
    c = REG["TF-1"]
    raw = checks_tf.check_tf1(c, rec(m))
    assert raw.verdict == "not reproduced", raw.message()
    centred = checks_tf.check_tf1(replace(c, params=dict(c.params, centre_keys=True)), rec(m))
    assert centred.verdict == "reproduced", centred.message()
    p = panel(c, checks_tf.check_tf1, rec(m), raw.verdict)
    assert "keys centred" in p["flips"]
    # the zero-mean isotropic null stays below the baseline under both readings
    g = run(gaussian_keys(2))
    assert checks_tf.check_tf1(replace(c, params=dict(c.params, centre_keys=True)), rec(g)).verdict == "not reproduced"


# ---------------------------------------------------------------- TF-2
def test_tf2_fails_on_gaussian_keys():
    real, shuf = run(gaussian_keys(4)), run(gaussian_keys(5))
    r = checks_tf.check_tf2(REG["TF-2"], rec(real, shuf))
    assert r.verdict == "not reproduced", r.message()


def test_tf2_fails_when_shuffle_null_is_as_low_rank():
    real, shuf = run(lowrank_keys(6)), run(lowrank_keys(7))
    r = checks_tf.check_tf2(REG["TF-2"], rec(real, shuf))
    assert r.verdict == "not reproduced", r.message()


def test_tf2_passes_low_rank_against_gaussian_shuffle():
    r = checks_tf.check_tf2(REG["TF-2"], rec(run(lowrank_keys(8)), run(gaussian_keys(9))))
    assert r.verdict == "reproduced", r.message()


# ---------------------------------------------------------------- TF-5
def test_tf5_uniform_attention_never_onsets():
    m = run(gaussian_keys(10), causal_uniform(N, H, T, L))
    r = checks_tf.check_tf5(REG["TF-5"], rec(m))
    assert r.verdict == "not reproduced" and r.measured["onset_layer"] is None, r.message()


def test_tf5_late_onset_fails_and_early_onset_passes():
    late = run(gaussian_keys(11), sink_attention(N, H, T, L, [0.0, 0.0, 0.0, 0.6]))
    assert checks_tf.check_tf5(REG["TF-5"], rec(late)).verdict == "not reproduced"
    # onset at layer 1 of 4 = 25 %: inside the band
    early = run(gaussian_keys(12), sink_attention(N, H, T, L, [0.5, 0.6, 0.7, 0.8]))
    r = checks_tf.check_tf5(REG["TF-5"], rec(early))
    assert r.verdict == "reproduced", r.message()


# ---------------------------------------------------------------- TF-15
def test_tf15_plateau_passes_and_its_hard_null_the_hump_fails():
    """A profile that crosses 0.20 and stays above it passes; the hard null, the recurrent routers' shape
    (Fig. 1: a hump that crosses and falls back below the line), reads not reproduced, and so does one
    that never crosses. The final layer's drop (§4.3) is left out unless the alternative includes it."""
    from suite.registry import Alternative
    from tests.synthetic import sink_profile_measurement

    c = REG["TF-15"]
    plateau = sink_profile_measurement([0.1, 0.35, 0.5, 0.55, 0.6, 0.58, 0.15], jitter=0.01)
    r = CHECKS["TF-15"](c, rec(plateau))
    assert r.verdict == "reproduced" and r.measured["onset_layer"] == 2 and r.measured["layers_below"] == [], r.message()
    final = dataclasses.replace(c, params={**c.params, "exclude_final_layers": 0})
    assert CHECKS["TF-15"](final, rec(plateau)).verdict == "not reproduced"
    hump = sink_profile_measurement([0.1, 0.35, 0.5, 0.3, 0.12, 0.08, 0.07], jitter=0.01)
    r = CHECKS["TF-15"](c, rec(hump))
    assert r.verdict == "not reproduced" and r.measured["layers_below"] == [5, 6], r.message()
    flat = sink_profile_measurement([0.1, 0.12, 0.15, 0.14, 0.12, 0.1, 0.1], jitter=0.01)
    r = CHECKS["TF-15"](c, rec(flat))
    assert r.verdict == "not reproduced" and r.measured["onset_layer"] is None, r.message()
    assert isinstance(c.alternatives[0], Alternative) and c.measure == ("attention-pass",)


# ---------------------------------------------------------------- TF-6
def _cv_share_model(sign):
    """Heads whose key-norm spread grows (sign=+1) or shrinks (-1) with their sink strength."""
    g = gen(13)
    k = torch.randn(L, N, T, HK, D, generator=g, dtype=torch.float64)
    k = k / k.norm(dim=-1, keepdim=True)
    spreads = torch.linspace(0.05, 0.8, L * HK).view(L, HK)
    scale = 1 + spreads.view(L, 1, 1, HK, 1) * torch.randn(L, N, T, HK, 1, generator=g, dtype=torch.float64).abs()
    k = k * scale
    strength = spreads if sign > 0 else spreads.flip(0).flip(1)
    a = causal_uniform(N, H, T, L).clone()
    for li in range(L):
        for h in range(H):
            s = float(strength[li, h // (H // HK)])
            a[li, :, h] *= 1 - s
            a[li, :, h, :, 0] += s
    return run(k, a)


def test_tf6_fails_on_negative_correlation():
    r = checks_tf.check_tf6(REG["TF-6"], rec(_cv_share_model(-1)))
    assert r.verdict == "not reproduced" and r.measured["r"] < 0, r.message()


def test_tf6_passes_on_positive_correlation():
    r = checks_tf.check_tf6(REG["TF-6"], rec(_cv_share_model(+1)))
    assert r.verdict == "reproduced", r.message()


# ---------------------------------------------------------------- TF-7
def test_tf7_fails_when_the_rotation_changes_norms():
    pre = lowrank_keys(14)
    post = pre * 1.5 ** torch.rand(pre.shape[:-1] + (1,), generator=gen(15), dtype=torch.float64)  # not an isometry
    m = measurement_from_tensors(pre, causal_uniform(N, H, T, L), post)
    r = checks_tf.check_tf7(REG["TF-7"], rec(m, run(gaussian_keys(16))))
    assert r.verdict == "not reproduced"
    assert not r.checks[0].passed


def test_tf7_shuffle_null_is_reported_not_deciding():
    """§7 / Fig. 5 test post-RoPE VE@8 against the Gaussian null only (the nulls of Fig. 3):
    a shuffle null as low-rank as the real keys is shown, but does not decide the verdict."""
    pre = lowrank_keys(40)
    post = _rotate_half(pre)
    m = measurement_from_tensors(pre, causal_uniform(N, H, T, L), post)
    shuf = measurement_from_tensors(pre, causal_uniform(N, H, T, L), post)  # identical: shuffle null not cleared
    r = checks_tf.check_tf7(REG["TF-7"], rec(m, shuf))
    assert r.extra["shuffle_post_not_cleared_layers"] == list(range(1, L + 1))
    assert all("shuffle" not in c.name for c in r.checks)


def _rotate_half(k):
    """A norm-preserving map that spreads the leading direction: rotate each key in
    its (0,1) plane by an angle that grows with position (a toy RoPE)."""
    T_ = k.shape[2]
    ang = torch.linspace(0, 3.0, T_, dtype=torch.float64).view(1, 1, T_, 1)
    out = k.clone()
    for a, b in ((0, 1), (2, 3), (4, 5), (6, 7)):
        out[..., a] = k[..., a] * torch.cos(ang * (a + 1)) - k[..., b] * torch.sin(ang * (a + 1))
        out[..., b] = k[..., a] * torch.sin(ang * (a + 1)) + k[..., b] * torch.cos(ang * (a + 1))
    return out


def test_tf7_half_precision_tolerance_reads_rounding_not_a_norm_change():
    """TF-7 v3: in a bf16 run the model's rotated keys are rounded to bf16; that rounding passes the isometry check
    under the half-precision tolerance, while a rotation that changes the norms (the hard null) still fails it."""
    pre = lowrank_keys(41)
    rounded = _rotate_half(pre).to(torch.bfloat16).to(torch.float64)  # the rotation as a bf16 model stores it
    for post, passes in ((rounded, True), (pre * 1.5 ** torch.rand(pre.shape[:-1] + (1,), generator=gen(42),
                                                                     dtype=torch.float64), False)):
        m = measurement_from_tensors(pre, causal_uniform(N, H, T, L), post)
        m.provenance = {"dtype": "bfloat16"}
        r = checks_tf.check_tf7(REG["TF-7"], rec(m, run(gaussian_keys(43))))
        assert r.checks[0].passed is passes, r.checks[0]
        assert r.checks[0].reference == REG["TF-7"].param("cv_rel_tol_half")
    m = measurement_from_tensors(pre, causal_uniform(N, H, T, L), rounded)  # the same keys in a float32 run: fails
    assert not checks_tf.check_tf7(REG["TF-7"], rec(m, run(gaussian_keys(43)))).checks[0].passed


def test_tf7_fails_when_rotation_does_nothing():
    pre = lowrank_keys(17)
    m = measurement_from_tensors(pre, causal_uniform(N, H, T, L), pre.clone())
    r = checks_tf.check_tf7(REG["TF-7"], rec(m, run(gaussian_keys(18))))
    assert r.verdict == "not reproduced"  # VE@1 ratio 1.0 is not 'roughly half'


# ---------------------------------------------------------------- TF-4
class _FakeM:
    def __init__(self, v, label):
        self.label, self._v, self.provenance = label, v, {}

    def ve(self, r, post=False):
        return self._v

    def lm_gain(self):
        return 4.0


def test_tf4_fails_when_content_effect_shrinks_with_scale():
    rng = np.random.default_rng(0)
    pairs = []
    for i, c in enumerate([0.30, 0.20, 0.10]):  # content effect falls with size
        real = 0.6 + c + 0.01 * rng.standard_normal((L, N, HK))
        shuf = 0.6 + 0.01 * rng.standard_normal((L, N, HK))
        pairs.append((_FakeM(real, f"m{i}"), _FakeM(shuf, f"m{i}")))
    models = tuple(checks_tf.ModelRecord(label=real.label, real=real, shuffled=shuf) for real, shuf in pairs)
    r = checks_tf.check_tf4(REG["TF-4"], checks_tf.FamilyRecord(label="toy", models=models, n_params=(1, 2, 3)))
    assert r.verdict == "not reproduced" and r.model == "toy", r.message()
    # same data, growing with size
    r2 = checks_tf.check_tf4(REG["TF-4"], checks_tf.FamilyRecord(label="toy", models=models, n_params=(3, 2, 1)))
    assert r2.verdict == "reproduced", r2.message()


# ---------------------------------------------------------------- TF-2 hard null: a token-only first layer
def test_tf2_token_only_layer_is_untestable_not_failed():
    """Hard null: layer 1's keys are a function of the token alone, so the shuffled run has the
    same key cloud (permuted) and the same spectrum. That layer must be reported untestable
    and left out of the per-layer shuffle rule, not counted as a failure (CLAIMS.md §4)."""
    real_k = lowrank_keys(30)
    shuf_k = gaussian_keys(31) * 0.3 + lowrank_keys(30) * 0.0  # a shuffle null well below the real VE ...
    perm = torch.randperm(T, generator=gen(32))
    shuf_k[0] = real_k[0][:, perm]  # ... except layer 1: the same keys in another token order
    real, shuf = run(real_k), run(shuf_k)
    r = checks_tf.check_tf2(REG["TF-2"], rec(real, shuf))
    assert r.extra["shuffle_untestable_layers"] == [1]
    assert r.verdict == "reproduced", r.message()
    # without the rule, layer 1 would fail (real == null there): the rule is what makes it pass
    assert abs(r.per_layer["ve8"][0] - r.per_layer["ve8_shuffle"][0]) < TOKEN_ONLY_ATOL


def test_tf2_a_model_whose_every_layer_is_token_only_still_fails_the_depth_mean():
    """The Table-1 depth-mean rule keeps every layer: if the shuffle null equals the real keys
    everywhere, the claim is not reproduced (it cannot pass by excluding everything)."""
    k = lowrank_keys(33)
    perm = torch.randperm(T, generator=gen(34))
    r = checks_tf.check_tf2(REG["TF-2"], rec(run(k), run(k[:, :, perm])))
    assert r.extra["shuffle_untestable_layers"] == list(range(1, L + 1))
    assert r.verdict == "not reproduced", r.message()


# ---------------------------------------------------------------- premise: a model that works on its text
@pytest.mark.parametrize("cid", ["TF-1", "TF-5", "TF-6", "TF-15"])
def test_broken_model_is_inconclusive_and_working_false_claim_is_not_reproduced(cid):
    """Premise unmet (loss at the unigram level) → inconclusive; premise met and the claim
    false (constant-norm keys, uniform attention) → not reproduced."""
    k = gaussian_keys(50)
    k = 3.0 * k / k.norm(dim=-1, keepdim=True)
    fn = CHECKS[cid]
    broken = measurement_from_tensors(k, causal_uniform(N, H, T, L), nll=6.0, unigram_nll=6.2)
    working = measurement_from_tensors(k, causal_uniform(N, H, T, L))
    rb, rw = fn(REG[cid], rec(broken)), fn(REG[cid], rec(working))
    assert rb.verdict == "inconclusive" and "functioning-model" in rb.premise_text(), rb.message()
    assert rw.verdict == "not reproduced", rw.message()


def test_missing_loss_is_inconclusive_not_silently_conclusive():
    m = measurement_from_tensors(lowrank_keys(51), causal_uniform(N, H, T, L), nll=None)
    assert checks_tf.check_tf1(REG["TF-1"], rec(m)).verdict == "inconclusive"


# ---------------------------------------------------------------- the family's targets and records
def test_targets_of_the_default_run():
    """``targets(default options)``: the default model twice (scope model; TF-1/5/6 on its real pass,
    TF-2/7 with its shuffled re-run; SmolLM2 is a rotary softmax-attention model, so every one applies),
    and the cross-model claims, unavailable with the command that runs them (no family has two models)."""
    from suite.family import skip_reason
    from suite.options import RunOptions
    from tests import audit

    got = audit.cases(checks_tf, RunOptions(models=("smollm2-135m",)))
    pairs = sorted((c.cid, c.target.label) for c in got)
    assert pairs == sorted([(c, "smollm2-135m") for c in ("TF-1", "TF-2", "TF-5", "TF-6", "TF-7", "TF-15")]
                           + [("TF-4", "gpt2+pythia"), ("TF-9", "pythia"), ("TF-10", "gpt2"), ("TF-12", "gpt2+pythia"),
                              ("TF-14", "pythia"), ("TF-11", "gpt2-large"), ("TF-11", "gpt2-xl"),
                              ("TF-13", "paper-models")])
    assert set(audit.checks_of(checks_tf)) == {c for c, _ in pairs}
    assert all(c.target.scope == "model" for c in got)
    for c in got:
        cid, t = c.cid, c.target
        why = skip_reason(REG[cid], t)
        if t.label == "smollm2-135m":
            assert why is None, (cid, why)
        else:
            assert "models" in t.marks and "--paper-models" in why and why.startswith(cid), (cid, why)


def test_a_record_without_its_shuffled_run_is_an_error_not_a_skip():
    """TF-2 and TF-7 read the shuffled re-run: a record without it is a bug in targets(), raised."""
    m = run(lowrank_keys(60))
    for cid in ("TF-2", "TF-7"):
        with pytest.raises(ValueError, match="shuffled"):
            CHECKS[cid](REG[cid], rec(m))


def test_measure_reads_the_shuffled_run_only_for_tf2_and_tf7(monkeypatch):
    """A --model's ``attention-pass`` record has the real pass, and its ``shuffled-pass`` record (TF-2/TF-7) the
    shuffled re-run too (fixtures.measure.measure, variants "real" and "shuffled"), with the run's seed."""
    from suite.options import RunOptions
    from tests import audit

    calls = []
    fake = {"real": run(lowrank_keys(61)), "shuffled": run(gaussian_keys(62))}
    monkeypatch.setattr(checks_tf, "attention_pass",
                        lambda spec, options, variant="real": calls.append((spec.label, variant)) or fake[variant])
    opts = RunOptions(models=("smollm2-135m",), seed=3)
    (t,) = audit.subjects("attention-pass", opts)
    r1 = audit.measure("attention-pass", t, opts)
    assert calls == [("smollm2-135m", "real")] and r1.shuffled is None and r1.seed == 3
    assert [REG[c].measure for c in ("TF-2", "TF-7")] == [("shuffled-pass",)] * 2
    r2 = audit.measure("shuffled-pass", t, opts)
    assert calls[1:] == [("smollm2-135m", "real"), ("smollm2-135m", "shuffled")]
    assert r2.real is fake["real"] and r2.shuffled is fake["shuffled"] and r2.label == "smollm2-135m"
