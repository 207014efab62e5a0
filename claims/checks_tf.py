"""Claim logic for the token-axis transformer claims TF-1, TF-2, TF-4..TF-7 and the family
claims TF-9..TF-14 (paper §4, §7, App. C). Pure functions: a :class:`~fixtures.measure.TransformerMeasurement` (real, and the
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
    cv, se, _ = pooled_cv_from_sums(x.sum(2), (x * x).sum(2), x.shape[2], reps, seed)
    return cv, se


def pooled_cv_from_sums(s1, s2, count_per_seq: int, reps: int, seed: int):
    """The pooled norm CV (std/mean over all N·count tokens, ddof 0) from per-sequence sums of the
    norms and squared norms ``s1, s2 [L,N,H]``, with its bootstrap over sequences. Returns (cv [L,H],
    per-head SE [L,H], SE [L] of the mean over heads — which bootstraps the head mean itself, so heads
    that move together, e.g. Mamba's channels sharing ‖B_t‖, are not counted as independent)."""
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    L, N, H = s1.shape
    cnt = N * count_per_seq
    mean = s1.sum(1) / cnt
    cv = np.sqrt(np.maximum(s2.sum(1) / cnt - mean ** 2, 0.0)) / mean
    boot = cv_sums_replicates(s1, s2, count_per_seq, sequence_weights(N, reps, seed))  # [R,L,H]
    return cv, boot.std(0, ddof=1), boot.mean(2).std(0, ddof=1)


def sequence_weights(n: int, reps: int, seed: int) -> np.ndarray:
    """[R,N] multinomial resampling counts of the N sequences (one bootstrap replicate a row)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=reps).astype(np.float64)


def cv_sums_replicates(s1, s2, count_per_seq: int, w: np.ndarray) -> np.ndarray:
    """[R,L,H] pooled CV of each resample ``w [R,N]`` from per-sequence sums ``s1, s2 [L,N,H]``."""
    cnt = w.sum(1)[:, None, None] * count_per_seq
    mean = np.einsum("rn,lnh->rlh", w, s1) / cnt
    var = np.maximum(np.einsum("rn,lnh->rlh", w, s2) / cnt - mean ** 2, 0.0)
    return np.sqrt(var) / mean


def cv_replicates(norms: np.ndarray, w: np.ndarray) -> np.ndarray:
    """[R,L,Hk] pooled key-norm CV (as :meth:`TransformerMeasurement.norm_cv`: std/mean over
    all N·T tokens, ddof 0) of each resample ``w [R,N]``, from per-sequence sums."""
    x = norms.astype(np.float64)
    return cv_sums_replicates(x.sum(2), (x * x).sum(2), x.shape[2], w)


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


def content_effect(m, shuffled, r: int):
    """Depth-and-head mean VE@r of the real keys minus the token-shuffled keys, with its SE over sequences."""
    real = m.ve(r).mean(2).mean(0)  # [N] depth-and-head mean per sequence
    shuf = shuffled.ve(r).mean(2).mean(0)
    return float(real.mean() - shuf.mean()), float(np.sqrt(sem(real) ** 2 + sem(shuf) ** 2))


def check_tf4(claim: Claim, family: str, pairs: list, n_params: list):
    """Content effect non-decreasing with scale in a family. ``pairs`` = [(real, shuffled)]."""
    z, r = claim.param("z"), int(claim.param("rank"))
    order = np.argsort(n_params)
    effects = [content_effect(*pairs[i], r) for i in order]
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
    real0 = smallest[0].ve(r).mean()
    shuf0 = smallest[1].ve(r).mean()
    return evaluate(
        claim, family, checks, measured=dict(zip(labels, vals.round(4).tolist())), null="shuffle null",
        summary=f"content effect by size: {', '.join(f'{l} {v:+.3f}' for l, v in zip(labels, vals))}; "
                f"smallest model shuffle/real VE@{r} = {shuf0:.3f}/{real0:.3f}",
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


def norm_share_points(info, cv: np.ndarray, head_share: np.ndarray):
    """TF-6's points: (key-norm CV of the head's KV head, mean max share of the head) for every
    (layer, query head); ``cv [L,Hk]``, ``head_share [L,H]`` → ``x, y [L,H]`` (GQA: query head h
    reads KV head ``info.kv_head_of(h)``)."""
    kv = np.array([info.kv_head_of(h) for h in range(info.n_heads)])
    return cv[:, kv], head_share


def tf6_statistic(m) -> tuple[float, float]:
    """TF-6's statistic on one measurement: Pearson r and two-sided p over (layer, head)."""
    return pearson(*norm_share_points(m.info, m.norm_cv(), m.head_max_share()))


def tf6_bootstrap(m, reps: int, seed: int) -> np.ndarray:
    """[R] TF-6's r recomputed on sequence resamples (key-norm CV and head max shares from the
    same resampled sequences): the measured variation of r over the data."""
    w = sequence_weights(m.colsum.shape[1], reps, seed)
    cv = cv_replicates(m.key_norms_pre, w)  # [R,L,Hk]
    share = np.einsum("rn,lnh->rlh", w, m.max_share()) / w.sum(1)[:, None, None]  # [R,L,H]
    return np.array([pearson(*norm_share_points(m.info, cv[i], share[i]))[0] for i in range(len(w))])


def check_tf6(claim: Claim, m):
    """Pearson r(key-norm CV, max share) over (layer, query head) > 0."""
    x, y = norm_share_points(m.info, m.norm_cv(), m.head_max_share())
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


# ---------------------------------------------------------------------------- family claims
# Completion dynamics (§4.3) and the scale dependence of TF-6's r, over the models of one family
# ordered by size. Crossing depths are TF-5's: probes.attention.onset on the per-layer mean max
# share, with TF-5's registry thresholds (0.20 onset, 0.50 L*); a model that never crosses is
# placed at (L+1)/L, later than any layer, so "earlier" stays an ordering.


def _crossing_fraction(profile, threshold: float) -> float:
    c = onset(profile, threshold)
    return c[1] if c is not None else (len(profile) + 1) / len(profile)


def crossings(m, tf5: Claim, reps: int, seed: int) -> dict:
    """One model's onset and L* (TF-5's definitions, fractions of depth), their gap, and the
    bootstrap SE of each over sequences (the profile recomputed on each resample)."""
    per_seq = m.max_share().mean(2)  # [L,N] head-mean max share per sequence
    prof = per_seq.mean(1)  # = m.layer_max_share()
    w = sequence_weights(per_seq.shape[1], reps, seed)
    boot = (w @ per_seq.T) / w.sum(1, keepdims=True)  # [R,L]
    out = {"label": m.label, "n_layers": len(prof), "profile": prof, "lm_gain": m.lm_gain()}
    for name, key in (("onset", "onset_threshold"), ("lstar", "completion_threshold")):
        thr = tf5.param(key)
        c = onset(prof, thr)
        out[name] = _crossing_fraction(prof, thr)
        out[f"{name}_layer"] = c[0] if c else None
        out[f"{name}_boot"] = np.array([_crossing_fraction(b, thr) for b in boot])
        out[f"{name}_se"] = float(out[f"{name}_boot"].std(ddof=1))
    out["gap"] = out["lstar"] - out["onset"]
    out["gap_se"] = float((out["lstar_boot"] - out["onset_boot"]).std(ddof=1))
    return out


def _by_size(ms, n_params, fn):
    order = np.argsort(n_params, kind="stable")
    return [fn(ms[i]) for i in order], np.asarray(n_params)[order]


def _fmt_pct(x):
    return "never" if x > 1 else f"{x:.0%}"


def _family_result(claim, family, rows, sizes, checks, measured, summary, extra, ms):
    return evaluate(
        claim, family, checks, measured=measured, null=claim.null, summary=summary,
        extra={"models": [r["label"] for r in rows], "n_params": sizes, **extra},
        provenance={"models": {m.label: _prov(m) for m in ms}},
        premises={"lm_gain_nats": min(m.lm_gain() for m in ms)},  # every model of the family must work
    )


def _first_last(name, vals, ses, comparator, z):
    return Check(f"{name}: largest − smallest model {comparator} 0", float(vals[-1] - vals[0]), comparator, 0.0,
                 z * float(np.hypot(ses[0], ses[-1])))


def check_tf9(claim: Claim, tf5: Claim, family: str, ms: list, n_params: list, seed: int = 0):
    """§4.3: 'The Pythia models lock in quickly after onset and do so earlier as they scale, with
    Pythia 2.8B crossing at 9 % depth.' Onset and L* fall from the smallest to the largest model;
    the largest onsets no later than any other (beyond the margin). The gap is reported."""
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    rows, sizes = _by_size(ms, n_params, lambda m: crossings(m, tf5, reps, seed))
    on, on_se = np.array([r["onset"] for r in rows]), np.array([r["onset_se"] for r in rows])
    ls, ls_se = np.array([r["lstar"] for r in rows]), np.array([r["lstar_se"] for r in rows])
    earliest_other = int(np.argmin(on[:-1]))
    checks = [
        _first_last("onset fraction", on, on_se, "<", z),
        _first_last("L* fraction", ls, ls_se, "<", z),
        # passes iff onset(largest) − min(others) − z·SE <= 0: the largest is not later than the earliest other
        Check("largest model onsets earliest in the family (not later than any other beyond its margin)",
              float(on[-1] - on[earliest_other]), "<=", 0.0, -z * float(np.hypot(on_se[-1], on_se[earliest_other])),
              note=f"earliest other: {rows[earliest_other]['label']} at {on[earliest_other]:.0%}"),
    ]
    return _family_result(
        claim, family, rows, sizes, checks,
        measured={r["label"]: {"onset": r["onset"], "L*": r["lstar"]} for r in rows},
        summary="onset / L* by size: " + ", ".join(
            f"{r['label']} {_fmt_pct(r['onset'])}/{_fmt_pct(r['lstar'])} (gap {r['gap']:+.0%})" for r in rows),
        extra=_crossing_extra(rows), ms=ms)


def _crossing_extra(rows):
    return {k: [r[k] for r in rows] for k in ("onset", "onset_se", "lstar", "lstar_se", "gap", "gap_se",
                                              "onset_layer", "lstar_layer", "n_layers", "profile")}


def check_tf10(claim: Claim, tf5: Claim, family: str, ms: list, n_params: list, seed: int = 0):
    """§4.3: 'The larger GPT-2 models do the opposite: GPT-2 XL first exceeds the 0.20 onset at
    17 % depth but does not pass a 0.50 share until 60 % depth.' The completion gap (L* − onset)
    and L* grow from the smallest to the largest model; the largest has the family's widest gap."""
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    rows, sizes = _by_size(ms, n_params, lambda m: crossings(m, tf5, reps, seed))
    gap, gap_se = np.array([r["gap"] for r in rows]), np.array([r["gap_se"] for r in rows])
    ls, ls_se = np.array([r["lstar"] for r in rows]), np.array([r["lstar_se"] for r in rows])
    widest_other = int(np.argmax(gap[:-1]))
    checks = [
        _first_last("completion gap L* − onset", gap, gap_se, ">", z),
        _first_last("L* fraction", ls, ls_se, ">", z),
        # passes iff gap(largest) − max(others) + z·SE >= 0: not narrower than any other beyond its margin
        Check("largest model has the family's widest completion gap (not narrower beyond its margin)",
              float(gap[-1] - gap[widest_other]), ">=", 0.0, -z * float(np.hypot(gap_se[-1], gap_se[widest_other])),
              note=f"widest other: {rows[widest_other]['label']} {gap[widest_other]:+.0%}"),
    ]
    big = rows[-1]
    return _family_result(
        claim, family, rows, sizes, checks,
        measured={r["label"]: {"onset": r["onset"], "L*": r["lstar"], "gap": r["gap"]} for r in rows},
        summary="onset / L* by size: " + ", ".join(
            f"{r['label']} {_fmt_pct(r['onset'])}/{_fmt_pct(r['lstar'])} (gap {r['gap']:+.0%})" for r in rows)
        + f"; largest ({big['label']}): onset {_fmt_pct(big['onset'])}, L* {_fmt_pct(big['lstar'])}"
          f" (paper, GPT-2 XL: {claim.paper_values.get('gpt2_xl_onset', float('nan')):.0%} / "
          f"{claim.paper_values.get('gpt2_xl_lstar', float('nan')):.0%})",
        extra=_crossing_extra(rows), ms=ms)


def check_tf11(claim: Claim, m):
    """§4.3: 'both GPT-2 large and XL drop their concentration sharply in the final layer as
    routing gives way to the readout.' The final layer's mean max share falls below the
    penultimate's beyond z·SE (paired over sequences), and that fall is the steepest of the
    profile (no other layer-to-layer fall exceeds it beyond its margin)."""
    z = claim.param("z")
    per_seq = m.max_share().mean(2)  # [L,N]
    prof = per_seq.mean(1)
    falls_seq = per_seq[:-1] - per_seq[1:]  # [L-1,N]: fall from layer l to l+1 (positive = drop)
    falls, falls_se = falls_seq.mean(1), sem(falls_seq, axis=1)
    final, final_se = float(falls[-1]), float(falls_se[-1])
    if len(falls) > 1:
        j = int(np.argmax(falls[:-1]))
        diff = falls_seq[-1] - falls_seq[j]
        steep = Check("final-layer fall is the profile's steepest (no other fall larger beyond its margin)",
                      float(diff.mean()), ">=", 0.0, -z * float(sem(diff)),
                      note=f"steepest other: layer {j + 1}→{j + 2}, fall {falls[j]:+.3f}")
    else:
        steep = Check("final-layer fall is the profile's steepest", True, "true", True, note="two layers only")
    checks = [Check("final-layer fall of mean max share (layer L−1 → L) > 0", final, ">", 0.0, z * final_se,
                    note=f"relative fall {final / prof[-2]:.0%} of layer L−1's {prof[-2]:.3f}"), steep]
    return evaluate(
        claim, m.label, checks, measured={"final_fall": final, "final_fall_se": final_se,
                                          "relative_fall": float(final / prof[-2])},
        null="no final-layer fall: layer L's mean max share equal to layer L−1's (paired over sequences)",
        summary=(f"max share layer L−1 {prof[-2]:.3f} → L {prof[-1]:.3f}: fall {final:+.3f} ± {final_se:.3f} "
                 f"({final / prof[-2]:.0%}); largest other fall {falls[:-1].max() if len(falls) > 1 else float('nan'):+.3f}"),
        per_layer={"max_share": prof, "max_share_se": sem(per_seq, axis=1)},
        extra={"falls": falls, "falls_se": falls_se, "n_layers": len(prof)},
        provenance=_prov(m), premises=m.premises(),
    )


def check_tf12(claim: Claim, tf6: Claim, family: str, ms: list, n_params: list, refs: list, seed: int = 0):
    """§4.3 'On the correlation …': 'in GPT-2 it is strong and grows with scale (0.37 to 0.70); in
    Pythia it is weak and decays toward zero, not significant at 410M.' TF-6's r per model, its
    bootstrap SE over sequences; GPT-2: r grows smallest → largest and no step falls beyond its
    margin; Pythia: |r| falls smallest → largest, and p ≥ α (TF-6's α) at the named models."""
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    direction = claim.param("direction")[family]
    alpha = tf6.param("alpha")
    order = np.argsort(n_params, kind="stable")
    ms_o, refs_o = [ms[i] for i in order], [refs[i] for i in order]
    stats_ = [tf6_statistic(m) for m in ms_o]
    r = np.array([s[0] for s in stats_])
    p = np.array([s[1] for s in stats_])
    se = np.array([np.nanstd(tf6_bootstrap(m, reps, seed), ddof=1) for m in ms_o])
    labels = [m.label for m in ms_o]
    if direction == "grows":
        steps, step_se = np.diff(r), np.hypot(se[1:], se[:-1])
        checks = [_first_last("TF-6 r", r, se, ">", z),
                  Check("no step of r falls by more than its margin", steps, "all>", 0.0, -z * step_se)]
    else:
        checks = [_first_last("TF-6 |r| (decays toward zero)", np.abs(r), se, "<", z)]
        for ref in claim.param("not_significant").get(family, []):
            if ref in refs_o:
                i = refs_o.index(ref)
                checks.append(Check(f"r at {labels[i]} not significant (p ≥ α = {alpha})", float(p[i]), ">=", alpha))
    return _family_result(
        claim, family, [{"label": lb} for lb in labels], np.asarray(n_params)[order], checks,
        measured={lb: {"r": float(ri), "p": float(pi)} for lb, ri, pi in zip(labels, r, p)},
        summary=f"TF-6 r by size ({direction}): " + ", ".join(
            f"{lb} {ri:+.2f}±{si:.2f}{'†' if pi >= alpha else ''}" for lb, ri, si, pi in zip(labels, r, se, p))
        + " († p ≥ α)",
        extra={"r": r, "r_se": se, "p": p, "alpha": alpha, "direction": direction}, ms=ms_o)


def check_tf13(claim: Claim, tf5: Claim, ms: list, seed: int = 0):
    """§4.3: 'There is no single onset depth, and no fixed completion depth either.' A crossing at
    layer k of L places the depth in ((k−1)/L, k/L]; widened by z bootstrap SEs, these intervals
    have no common point across the models (for onset, and for L*)."""
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    rows = [crossings(m, tf5, reps, seed) for m in ms]
    checks, extra = [], {}
    for name, what in (("onset", "onset"), ("lstar", "completion depth L*")):
        lo = np.array([r[name] - 1 / r["n_layers"] - z * r[f"{name}_se"] for r in rows])
        hi = np.array([r[name] + z * r[f"{name}_se"] if r[name] <= 1 else np.inf for r in rows])
        gap = float(lo.max() - hi.min())  # > 0: no depth fraction is consistent with every model
        checks.append(Check(f"no single {what} fits every model (max lower − min upper bound > 0)", gap, ">", 0.0,
                            note=f"latest lower bound {rows[int(lo.argmax())]['label']}, earliest upper bound "
                                 f"{rows[int(hi.argmin())]['label']}"))
        extra[f"{name}_interval"] = np.stack([lo, np.where(np.isfinite(hi), hi, 2.0)], 1)
    return evaluate(
        claim, "+".join(r["label"] for r in rows), checks,
        measured={r["label"]: {"onset": r["onset"], "L*": r["lstar"]} for r in rows}, null=claim.null,
        summary="onset / L*: " + ", ".join(f"{r['label']} {_fmt_pct(r['onset'])}/{_fmt_pct(r['lstar'])}"
                                           for r in rows),
        extra={"models": [r["label"] for r in rows], **_crossing_extra(rows), **extra},
        provenance={"models": {m.label: _prov(m) for m in ms}},
        premises={"lm_gain_nats": min(m.lm_gain() for m in ms)},
    )


def check_tf14(claim: Claim, tf2: Claim, family: str, pairs: list, n_params: list, seed: int = 0):
    """§4.2: 'The smallest model, Pythia 160M, is the cautionary case: almost all of its apparent
    collapse (0.819 of 0.885) is reproduced by the shuffle null … This caveat disappears at
    scale.' Smallest model: marginal effect (shuffle − Gaussian) > content effect (real −
    shuffle); the shuffle/real VE@8 ratio is lower at the largest model than at the smallest.
    ``pairs`` = [(real, shuffled)]; the Gaussian null is TF-2's (same reps)."""
    z = claim.param("z")
    order = np.argsort(n_params, kind="stable")
    pairs = [pairs[i] for i in order]
    rows = []
    for real, shuf in pairs:
        a, b = real.ve(8).mean(2).mean(0), shuf.ve(8).mean(2).mean(0)  # [N] depth-and-head means
        g, g_se = gaussian_null(real.colsum.shape[-1], real.info.head_dim, 8, tf2.param("null_reps"), seed)
        ratio = float(b.mean() / a.mean())
        rows.append({"label": real.label, "real": float(a.mean()), "shuffle": float(b.mean()), "gauss": g,
                     "content": float(a.mean() - b.mean()), "content_se": float(np.hypot(sem(a), sem(b))),
                     "marginal": float(b.mean() - g), "marginal_se": float(np.hypot(sem(b), g_se)),
                     "ratio": ratio, "ratio_se": ratio * float(np.hypot(sem(a) / a.mean(), sem(b) / b.mean()))})
    s, big = rows[0], rows[-1]
    checks = [
        Check(f"smallest model ({s['label']}): marginal effect − content effect > 0 (mostly marginal)",
              s["marginal"] - s["content"], ">", 0.0, z * float(np.hypot(s["marginal_se"], s["content_se"]))),
        Check("shuffle/real VE@8 ratio: largest − smallest < 0 (the caveat fades with scale)",
              big["ratio"] - s["ratio"], "<", 0.0, z * float(np.hypot(big["ratio_se"], s["ratio_se"]))),
    ]
    ms = [p[0] for p in pairs]
    return _family_result(
        claim, family, rows, np.asarray(n_params)[order], checks,
        measured={r["label"]: {"shuffle_over_real": r["ratio"], "content": r["content"], "marginal": r["marginal"]}
                  for r in rows},
        summary=", ".join(f"{r['label']} shuffle/real {r['shuffle']:.3f}/{r['real']:.3f} = {r['ratio']:.2f} "
                          f"(content {r['content']:+.3f}, marginal {r['marginal']:+.3f})" for r in rows),
        extra={k: [r[k] for r in rows] for k in ("real", "shuffle", "gauss", "content", "marginal", "ratio", "ratio_se")},
        ms=ms)
