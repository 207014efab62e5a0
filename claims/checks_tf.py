"""Claim logic for the token-axis transformer claims TF-1, TF-2, TF-4..TF-7 (paper §4, §7,
App. C). Pure functions: a :class:`~fixtures.measure.TransformerMeasurement` (real, and the
shuffled re-run where a null needs it) in, a :class:`~suite.results.ClaimResult` out.
The self-tests feed the same functions synthetic measurements on which each claim is false.
"""
from __future__ import annotations

import functools

import numpy as np

from probes.attention import completion_depth, onset, pearson, uniform_max_share
from probes.geometry import gaussian_norm_cv_baseline, simulated_ve_null
from suite.registry import Claim
from suite.results import Check, evaluate, sem


def _prov(m, *others):
    p = dict(m.provenance)
    for o in others:
        if o is not None:
            p[f"{o.provenance.get('variant', 'other')}_data_ids_sha256"] = o.provenance.get("data_ids_sha256")
    return p


@functools.lru_cache(maxsize=32)
def gaussian_null(n: int, d: int, r: int, reps: int, seed: int) -> tuple[float, float]:
    """Simulated MP null (mean, SE) for VE@r at n points in ℝ^d (cached per shape)."""
    return simulated_ve_null(n, d, r=r, reps=reps, seed=seed)


def pooled_cv_bootstrap(norms: np.ndarray, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pooled key-norm CV per (layer, head) and its bootstrap SE over sequences.

    ``norms [L,N,T,Hk]``. Resampling uses per-sequence sums, so each replicate costs
    O(L·N·Hk), never touching the token axis again.
    """
    x = norms.astype(np.float64)
    L, N, T, Hk = x.shape
    s1 = x.sum(2)  # [L,N,Hk]
    s2 = (x * x).sum(2)
    cnt = N * T

    def cv_from(a1, a2, c):
        mean = a1 / c
        var = np.maximum(a2 / c - mean ** 2, 0.0)
        return np.sqrt(var) / mean

    cv = cv_from(s1.sum(1), s2.sum(1), cnt)  # [L,Hk]
    rng = np.random.default_rng(seed)
    w = rng.multinomial(N, np.full(N, 1.0 / N), size=reps).astype(np.float64)  # [R,N]
    b1 = np.einsum("rn,lnh->rlh", w, s1)
    b2 = np.einsum("rn,lnh->rlh", w, s2)
    boot = cv_from(b1, b2, cnt)
    return cv, boot.std(0, ddof=1)


def check_tf1(claim: Claim, m, seed: int = 0):
    """Every layer's key-norm CV (mean over KV heads) exceeds 1/sqrt(2 d_h) beyond z·SE."""
    z = claim.param("z")
    cv, se = pooled_cv_bootstrap(m.key_norms_pre, claim.param("bootstrap_reps"), seed)
    layer_cv = cv.mean(1)
    layer_se = np.sqrt((se ** 2).mean(1) / se.shape[1])  # SE of a mean of heads (independent-heads approx.)
    base = gaussian_norm_cv_baseline(m.info.head_dim)
    no_first = m.norm_cv(include_first=False).mean(1)
    checks = [Check("per-layer key-norm CV > 1/sqrt(2 d_h) (every layer)", layer_cv, "all>", base, z * layer_se)]
    return evaluate(
        claim, m.label, checks, measured={"min_layer_cv": float(layer_cv.min()), "mean_cv": float(layer_cv.mean())},
        null=base,
        summary=(f"min per-layer CV {layer_cv.min():.3f} (layer {int(layer_cv.argmin()) + 1}) vs baseline {base:.4f}; "
                 f"depth mean {layer_cv.mean():.3f}; without position 0: min {no_first.min():.3f}; "
                 f"heads above baseline: {(cv > base).mean():.0%}"),
        per_layer={"norm_cv": layer_cv, "norm_cv_se": layer_se, "norm_cv_no_pos0": no_first},
        extra={"baseline": base, "head_dim": m.info.head_dim, "per_head_cv": cv},
        provenance=_prov(m), premises=m.premises(),
    )


def _layer_ve(m, r, post):
    v = m.ve(r, post=post).mean(2)  # [L,N] mean over heads
    return v.mean(1), sem(v, axis=1)


def shuffle_degenerate_layers(m, shuffled, r: int, tol: float, post: bool = False) -> np.ndarray:
    """[L] bool: layers where the token-shuffle null equals the measurement by construction.

    Pre-RoPE keys of a model without absolute position embeddings are, in the first layer, a
    function of the token alone (embedding → norm → k_proj), so permuting the tokens of a
    sequence permutes its key cloud and leaves every VE unchanged (CLAIMS.md §4). Detected as
    every (sequence, KV head) VE@r of the two runs agreeing to ``tol`` (float32 round-off of the
    same keys computed in another order); such a layer cannot be tested against that null."""
    a, b = m.ve(r, post=post), shuffled.ve(r, post=post)  # [L,N,Hk]
    return np.abs(a - b).reshape(a.shape[0], -1).max(1) <= tol


def check_tf2(claim: Claim, m, shuffled, seed: int = 0):
    """VE@8 above the Gaussian (MP) null and the token-shuffle null (§4.2): the depth mean
    (Table 1: 'real keys clear both nulls in all nine models') and every layer (Fig. 4: 'at
    every depth'), the shuffle comparison only over layers where that null is not identical
    to the measurement by construction."""
    z, r = claim.param("z"), claim.param("rank")
    T = m.colsum.shape[-1]
    real, real_se = _layer_ve(m, r, post=False)
    shuf, shuf_se = _layer_ve(shuffled, r, post=False)
    gauss, gauss_se = gaussian_null(T, m.info.head_dim, r, claim.param("null_reps"), seed)
    degenerate = shuffle_degenerate_layers(m, shuffled, r, claim.param("degenerate_tol"))
    testable = ~degenerate
    per_seq_real = m.ve(r).mean(2).mean(0)  # [N] depth-and-head mean per sequence
    per_seq_shuf = shuffled.ve(r).mean(2).mean(0)
    mean_se = float(np.sqrt(sem(per_seq_real) ** 2 + sem(per_seq_shuf) ** 2))
    untestable = (np.flatnonzero(degenerate) + 1).tolist()
    checks = [
        Check("depth-mean VE@8 > Gaussian (MP) null (Table 1)", float(real.mean()), ">", gauss,
              z * float(np.sqrt(sem(per_seq_real) ** 2 + gauss_se ** 2))),
        Check("depth-mean VE@8 > shuffle null (Table 1)", float(real.mean()), ">", float(shuf.mean()), z * mean_se),
        Check("VE@8 > Gaussian (MP) null, every layer (Fig. 4)", real, "all>", gauss, z * np.sqrt(real_se ** 2 + gauss_se ** 2)),
        # an untestable layer is compared with −inf (it cannot fail), so the failing indices are layer numbers
        Check("VE@8 > shuffle null (token shuffle + re-run), every testable layer (Fig. 4)", real, "all>",
              np.where(testable, shuf, -np.inf), np.where(testable, z * np.sqrt(real_se ** 2 + shuf_se ** 2), 0.0),
              note=f"untestable against this null (identical by construction): layers {untestable};" if untestable else ""),
    ]
    n_fail = int((real[testable] - z * np.sqrt(real_se[testable] ** 2 + shuf_se[testable] ** 2) <= shuf[testable]).sum())
    return evaluate(
        claim, m.label, checks,
        measured={"ve8": float(real.mean()), "shuffle": float(shuf.mean())},
        null={"gauss": gauss, "shuffle": float(shuf.mean())},
        summary=(f"depth-mean VE@8 {real.mean():.3f} vs Gaussian {gauss:.3f} and shuffle {shuf.mean():.3f} (Table 1 rule); "
                 f"content effect {real.mean() - shuf.mean():+.3f}, marginal effect {shuf.mean() - gauss:+.3f}; "
                 f"per-layer rule (Fig. 4): shuffle null not cleared in {n_fail} of {int(testable.sum())} testable layers"
                 + (f"; layers {untestable} untestable against the shuffle null (keys a function of the token alone)"
                    if untestable else "")),
        per_layer={"ve8": real, "ve8_se": real_se, "ve8_shuffle": shuf, "ve8_shuffle_se": shuf_se,
                   "shuffle_untestable": degenerate},
        extra={"gauss_null": gauss, "gauss_null_se": gauss_se, "n": T, "head_dim": m.info.head_dim,
               "shuffle_untestable_layers": untestable,
               "shuffle_protocol": shuffled.provenance.get("shuffle") or "input tokens permuted per sequence, model re-run"},
        provenance=_prov(m, shuffled), premises=m.premises(),
    )


def content_effect(m, shuffled, r=8):
    real = m.ve(r).mean(2).mean(0)  # [N] depth-and-head mean per sequence
    shuf = shuffled.ve(r).mean(2).mean(0)
    return float(real.mean() - shuf.mean()), float(np.sqrt(sem(real) ** 2 + sem(shuf) ** 2))


def check_tf4(claim: Claim, family: str, pairs: list, n_params: list):
    """Content effect non-decreasing with scale in a family. ``pairs`` = [(real, shuffled)]."""
    z = claim.param("z")
    order = np.argsort(n_params)
    effects = [content_effect(*pairs[i]) for i in order]
    vals = np.array([e for e, _ in effects])
    ses = np.array([s for _, s in effects])
    steps = np.diff(vals)
    step_se = np.sqrt(ses[1:] ** 2 + ses[:-1] ** 2)
    labels = [pairs[i][0].label for i in order]
    checks = [
        Check("content effect grows first→last model", float(vals[-1] - vals[0]), ">", 0.0, z * float(np.sqrt(ses[0] ** 2 + ses[-1] ** 2))),
        Check("no step falls by more than its margin", steps, "all>", 0.0, -z * step_se),  # steps + z·SE > 0
    ]
    smallest = pairs[order[0]]
    real0 = smallest[0].ve(8).mean()
    shuf0 = smallest[1].ve(8).mean()
    return evaluate(
        claim, family, checks, measured=dict(zip(labels, vals.round(4).tolist())), null="shuffle null",
        summary=f"content effect by size: {', '.join(f'{l} {v:+.3f}' for l, v in zip(labels, vals))}; "
                f"smallest model shuffle/real VE@8 = {shuf0:.3f}/{real0:.3f}",
        per_layer={}, extra={"models": labels, "content": vals, "content_se": ses, "n_params": np.sort(n_params),
                             "lm_gain_nats": [pairs[i][0].lm_gain() for i in order]},
        provenance=_prov(pairs[0][0]),
        premises={"lm_gain_nats": min(p[0].lm_gain() for p in pairs)},  # every model of the family must work
    )


def check_tf5(claim: Claim, m):
    """Onset (first layer > 0.20) in 9–25 % of depth; L* reported."""
    thr, cthr, z = claim.param("onset_threshold"), claim.param("completion_threshold"), claim.param("z")
    prof = m.layer_max_share()
    prof_se = sem(m.max_share().mean(2), axis=1)
    T = m.colsum.shape[-1]
    uni = uniform_max_share(T)
    on = onset(prof, thr)
    ls = completion_depth(prof, cthr)
    frac = on[1] if on else float("nan")
    checks = [Check("onset fraction k/L in band", frac, "in", claim.threshold, claim.tolerance.value,
                    note="never onsets" if on is None else f"onset layer {on[0]} of {len(prof)}")]
    if on is not None:
        checks.append(Check("onset layer's share > uniform causal null", float(prof[on[0] - 1]), ">", uni, z * float(prof_se[on[0] - 1])))
    return evaluate(
        claim, m.label, checks,
        measured={"onset": frac, "onset_layer": on[0] if on else None, "L*": ls[1] if ls else None,
                  "peak": float(prof.max())},
        null=uni,
        summary=(f"onset {'never' if on is None else f'L{on[0]} ({frac:.0%})'}; L* "
                 f"{'never' if ls is None else f'L{ls[0]} ({ls[1]:.0%})'}; peak {prof.max():.3f} at L{int(prof.argmax()) + 1}; "
                 f"uniform causal null {uni:.4f}"),
        per_layer={"max_share": prof, "max_share_se": prof_se},
        extra={"onset_threshold": thr, "completion_threshold": cthr, "uniform_null": uni, "n_layers": len(prof)},
        provenance=_prov(m), premises=m.premises(),
    )


def check_tf6(claim: Claim, m):
    """Pearson r(key-norm CV, max share) over (layer, query head) > 0."""
    cv = m.norm_cv()  # [L,Hk]
    kv = np.array([m.info.kv_head_of(h) for h in range(m.info.n_heads)])
    x = cv[:, kv]  # [L,H]
    y = m.head_max_share()  # [L,H]
    r, p = pearson(x, y)
    checks = [Check("Pearson r(norm-CV, max share) > 0", r, ">", claim.threshold, claim.tolerance.value,
                    note=f"p = {p:.3g}{' (not significant, †)' if p >= claim.param('alpha') else ''}")]
    return evaluate(
        claim, m.label, checks, measured={"r": r, "p": p}, null=0.0,
        summary=f"r = {r:+.3f} (p = {p:.2g}) over {x.size} (layer, head) pairs",
        extra={"cv": x, "max_share": y},
        provenance=_prov(m), premises=m.premises(),
    )


def check_tf7(claim: Claim, m, shuffled, seed: int = 0):
    """RoPE (§7, App. C.3 Fig. 5): norms preserved; VE@1 roughly halved; VE@8 lowered only
    slightly and still above the nulls of Fig. 3 (for transformers: the Gaussian null). The
    post-RoPE shuffle comparison is not in the paper: reported, not deciding."""
    z = claim.param("z")
    cv_pre, cv_post = m.norm_cv(post=False), m.norm_cv(post=True)
    rel = float(np.max(np.abs(cv_post - cv_pre) / cv_pre))
    ve1_pre, ve1_post = m.ve(1).mean(), m.ve(1, post=True).mean()
    ve8_pre, ve8_post = m.ve(8).mean(), m.ve(8, post=True).mean()
    ratio1 = float(ve1_post / ve1_pre)
    drop1, drop8 = 1 - ratio1, float(1 - ve8_post / ve8_pre)
    post, post_se = _layer_ve(m, 8, post=True)
    shuf, shuf_se = _layer_ve(shuffled, 8, post=True)
    T = m.colsum.shape[-1]
    gauss, gauss_se = gaussian_null(T, m.info.head_dim, 8, claim.param("null_reps"), seed)
    checks = [
        Check("max relative |CV_post − CV_pre|", rel, "<=", claim.param("cv_rel_tol")),
        Check("VE@1 post/pre ratio ('roughly halves': nearer ½ than 0 or 1)", ratio1, "in", claim.param("ve1_ratio_band")),
        Check("VE@8 reduced ('reduces VE everywhere')", drop8, ">", 0.0),
        Check("VE@8 relative drop < VE@1 relative drop ('only slightly')", drop8, "<", drop1),
        Check("post-RoPE VE@8 > Gaussian null (the transformers' null of Fig. 3), every layer", post, "all>", gauss,
              z * np.sqrt(post_se ** 2 + gauss_se ** 2)),
    ]
    shuf_fail = (np.flatnonzero(post - z * np.sqrt(post_se ** 2 + shuf_se ** 2) <= shuf) + 1).tolist()
    return evaluate(
        claim, m.label, checks,
        measured={"cv_rel_diff": rel, "ve1_ratio": ratio1, "ve8_drop": drop8},
        null={"gauss": gauss, "shuffle_post": float(shuf.mean())},
        summary=(f"norm-CV max rel. change {rel:.1e}; VE@1 {ve1_pre:.3f}→{ve1_post:.3f} (×{ratio1:.2f}); "
                 f"VE@8 {ve8_pre:.3f}→{ve8_post:.3f} (−{drop8:.1%}); post-RoPE VE@8 vs Gaussian {gauss:.3f}; "
                 f"for information (not in the paper, not deciding): post-RoPE shuffle null {shuf.mean():.3f}, "
                 f"not cleared in {len(shuf_fail)} of {len(post)} layers"),
        per_layer={"ve1_pre": m.ve(1).mean((1, 2)), "ve1_post": m.ve(1, post=True).mean((1, 2)),
                   "ve8_pre": m.ve(8).mean((1, 2)), "ve8_post": post, "ve8_post_shuffle": shuf},
        extra={"gauss_null": gauss, "rotary_dim": m.info.rotary_dim, "head_dim": m.info.head_dim,
               "shuffle_post_not_cleared_layers": shuf_fail},
        provenance=_prov(m, shuffled), premises=m.premises(),
    )
