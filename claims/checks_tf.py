"""Claim logic of the token-axis transformer claims TF-1, TF-2, TF-4..TF-7 and the family claims
TF-9..TF-14 (paper §4, §7, App. C).

The family follows :mod:`suite.family`:

* its measurements (each claim's ``measure`` in ``transformer.toml``): ``attention-pass`` (TF-1, TF-5,
  TF-6) and ``shuffled-pass`` (TF-2, TF-7; TF-7 applies to ``rope`` only, which the registry's
  ``applies_to`` decides) on each ``--model`` (scope ``model``, architecture from its config); the
  cross-model ones (scope ``model``, mark ``models``): ``family-passes`` / ``family-shuffled-passes``
  one per model family with at least two models in the run (TF-9, TF-10, TF-12 / TF-4, TF-14),
  ``named-model-pass`` per model TF-11 names, ``paper-model-passes`` over the paper's models (TF-13) —
  each unavailable, with the command that runs it, when the run lacks those models. Each makes one
  record: a :class:`ModelRecord` (a model's real pass, its shuffled re-run where read, the seed) or a
  :class:`FamilyRecord` (those of every model of the group, their sizes and refs), from
  :func:`fixtures.measure.measure`;
* every ``@check`` is ``check(claim, record) -> ClaimResult``, a pure function: the
  self-tests feed the same functions synthetic measurements on which each claim is false. A
  sibling claim's definitions (TF-5's crossing thresholds in TF-9/10/13, TF-6's α in TF-12, TF-2's
  Gaussian null in TF-14) are read from :func:`suite.registry.registry`.

Statistics from :mod:`probes.stats`; constants from ``claims/registry/transformer.toml``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fixtures.catalogue import FAMILIES, PAPER_MODELS
from fixtures.measure import measure as attention_pass
from fixtures.models import load_config
from fixtures.targets import model_targets, run_specs
from probes.geometry import gaussian_norm_cv_baseline, gaussian_ve_null
from probes.stats import (bootstrap_counts, completion_depth, cv_replicates, onset, onset_fraction, pearson,
                          pooled_cv_bootstrap, sem, uniform_share)
from suite.family import MODEL, Target, check, declare_classes, measurement, reading
from suite.options import HALF_DTYPES
from suite.registry import Claim, registry
from suite.results import Check, ClaimResult, evaluate

declare_classes("family")  # the kinds of subject this family's targets are

PAPER_MODELS_CMD = "run `pytest claims/ --paper-models` where huggingface.co is reachable"
PAPER_MODELS_LABEL = "paper-models"  # TF-13's target when the run lacks two of the paper's models


# ----------------------------------------------------------------------------- the measurement records
@dataclass(frozen=True)
class ModelRecord:
    """What TF-1, TF-2, TF-5, TF-6, TF-7 and TF-11 read on one model: its real pass
    (:class:`fixtures.measure.TransformerMeasurement`), the token-shuffled re-run where the claim
    needs it (``None`` otherwise), and the seed of the bootstraps and the simulated Gaussian null."""

    label: str
    real: Any
    shuffled: Any = None
    seed: int = 0


@dataclass(frozen=True)
class FamilyRecord:
    """What a cross-model claim reads: the :class:`ModelRecord` of every model of the group (in the
    run's order), each model's size (parameter-count proxy, layers × width²) and ref; ``family`` is the
    model family (``gpt2``, ``pythia``; ``None`` for TF-13's paper models)."""

    label: str
    models: tuple
    n_params: tuple
    refs: tuple = ()
    family: str | None = None
    seed: int = 0


def _prov(m, *others):
    p = dict(m.provenance)
    for o in others:
        if o is not None:
            p[f"{o.provenance.get('variant', 'other')}_data_ids_sha256"] = o.provenance.get("data_ids_sha256")
    return p


def _shuffled(rec: ModelRecord, cid: str):
    if rec.shuffled is None:
        raise ValueError(f"{cid}: the record of {rec.label} has no shuffled re-run (the registry's measure of "
                         f"{cid} should be a shuffled one)")
    return rec.shuffled


# ----------------------------------------------------------------------------- TF-1
@check("TF-1")
def check_tf1(claim: Claim, rec: ModelRecord) -> ClaimResult:
    """Every layer's key-norm CV (mean over KV heads) exceeds 1/sqrt(2 d_h) beyond z·SE."""
    m = rec.real
    z = claim.param("z")
    # position 0 in or out (the seeds do not say; the paper's Table 1 reads every token), raw or centred keys
    # (A4 is about the raw norm; the baseline is the zero-mean isotropic cloud's): the robustness panel
    centred = bool(claim.param("centre_keys"))
    norms = m.key_norms(centred=centred)
    norms = norms if claim.param("include_position0") else norms[:, :, 1:]
    cv, se = pooled_cv_bootstrap(norms, claim.param("bootstrap_reps"), rec.seed)
    layer_cv = cv.mean(1)
    layer_se = np.sqrt((se ** 2).mean(1) / se.shape[1])  # SE of a mean of heads (independent-heads approx.)
    base = gaussian_norm_cv_baseline(m.info.head_dim)
    no_first = m.norm_cv(include_first=False, centred=centred).mean(1)
    other = m.norm_cv(include_first=bool(claim.param("include_position0")), centred=not centred).mean(1)
    what = "centred" if centred else "raw"
    checks = [Check(f"per-layer key-norm CV ({what} keys) > 1/sqrt(2 d_h) (every layer)", layer_cv, "all>", base,
                    z * layer_se)]
    return evaluate(
        claim, rec.label, checks, measured={"min_layer_cv": float(layer_cv.min()), "mean_cv": float(layer_cv.mean())},
        null=base,
        summary=(f"min per-layer CV {layer_cv.min():.3f} (layer {int(layer_cv.argmin()) + 1}) vs baseline {base:.4f}; "
                 f"depth mean {layer_cv.mean():.3f}; without position 0: min {no_first.min():.3f}; "
                 f"{'raw' if centred else 'centred (on each sequence’s mean key)'} keys: min {other.min():.3f}; "
                 f"heads above baseline: {(cv > base).mean():.0%}"),
        per_layer={"norm_cv": layer_cv, "norm_cv_se": layer_se, "norm_cv_no_pos0": no_first,
                   f"norm_cv_{'raw' if centred else 'centred'}": other},
        extra={"baseline": base, "head_dim": m.info.head_dim, "per_head_cv": cv},
        provenance=_prov(m), premises=m.premises(),
    )


# ----------------------------------------------------------------------------- TF-2
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


@check("TF-2")
def check_tf2(claim: Claim, rec: ModelRecord) -> ClaimResult:
    """VE@8 above the Gaussian (MP) null and the token-shuffle null (§4.2): the depth mean
    (Table 1: 'real keys clear both nulls in all nine models') and every layer (Fig. 4: 'at
    every depth'), the shuffle comparison only over layers where that null is not identical
    to the measurement by construction."""
    m, shuffled = rec.real, _shuffled(rec, "TF-2")
    z, r = claim.param("z"), claim.param("rank")
    T = m.colsum.shape[-1]
    real, real_se = _layer_ve(m, r, post=False)
    shuf, shuf_se = _layer_ve(shuffled, r, post=False)
    gauss, gauss_se = gaussian_ve_null(T, m.info.head_dim, r, claim.param("null_reps"), rec.seed)
    degenerate = shuffle_degenerate_layers(m, shuffled, r, claim.param("degenerate_tol"))
    testable = ~degenerate
    per_seq_real = m.ve(r).mean(2).mean(0)  # [N] depth-and-head mean per sequence
    per_seq_shuf = shuffled.ve(r).mean(2).mean(0)
    mean_se = float(np.sqrt(sem(per_seq_real) ** 2 + sem(per_seq_shuf) ** 2))
    untestable = (np.flatnonzero(degenerate) + 1).tolist()
    checks = [
        Check(f"depth-mean VE@{r} > Gaussian (MP) null (Table 1)", float(real.mean()), ">", gauss,
              z * float(np.sqrt(sem(per_seq_real) ** 2 + gauss_se ** 2))),
        Check(f"depth-mean VE@{r} > shuffle null (Table 1)", float(real.mean()), ">", float(shuf.mean()), z * mean_se),
        Check(f"VE@{r} > Gaussian (MP) null, every layer (Fig. 4)", real, "all>", gauss,
              z * np.sqrt(real_se ** 2 + gauss_se ** 2)),
        # an untestable layer is compared with −inf (it cannot fail), so the failing indices are layer numbers
        Check(f"VE@{r} > shuffle null (token shuffle + re-run), every testable layer (Fig. 4)", real, "all>",
              np.where(testable, shuf, -np.inf), np.where(testable, z * np.sqrt(real_se ** 2 + shuf_se ** 2), 0.0),
              note=f"untestable against this null (identical by construction): layers {untestable};" if untestable else ""),
    ]
    n_fail = int((real[testable] - z * np.sqrt(real_se[testable] ** 2 + shuf_se[testable] ** 2) <= shuf[testable]).sum())
    return evaluate(
        claim, rec.label, checks,
        measured={"ve8": float(real.mean()), "shuffle": float(shuf.mean())},  # report schema keys (claims/plots_tf.py)
        null={"gauss": gauss, "shuffle": float(shuf.mean())},
        summary=(f"depth-mean VE@{r} {real.mean():.3f} vs Gaussian {gauss:.3f} and shuffle {shuf.mean():.3f} (Table 1 rule); "
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


# ----------------------------------------------------------------------------- TF-4
def content_effect(m, shuffled, r: int):
    """Depth-and-head mean VE@r of the real keys minus the token-shuffled keys, with its SE over sequences."""
    real = m.ve(r).mean(2).mean(0)  # [N] depth-and-head mean per sequence
    shuf = shuffled.ve(r).mean(2).mean(0)
    return float(real.mean() - shuf.mean()), float(np.sqrt(sem(real) ** 2 + sem(shuf) ** 2))


def _pairs(rec: FamilyRecord, cid: str) -> list:
    return [(m.real, _shuffled(m, cid)) for m in rec.models]


@check("TF-4")
def check_tf4(claim: Claim, rec: FamilyRecord) -> ClaimResult:
    """Content effect non-decreasing with scale in a family (the models' real and shuffled runs)."""
    pairs, n_params = _pairs(rec, "TF-4"), list(rec.n_params)
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
        claim, rec.label, checks, measured=dict(zip(labels, vals.round(4).tolist())), null="shuffle null",
        summary=f"content effect by size: {', '.join(f'{l} {v:+.3f}' for l, v in zip(labels, vals))}; "
                f"smallest model shuffle/real VE@{r} = {shuf0:.3f}/{real0:.3f}",
        per_layer={}, extra={"models": labels, "content": vals, "content_se": ses, "n_params": np.sort(n_params),
                             "lm_gain_nats": [pairs[i][0].lm_gain() for i in order]},
        provenance=_prov(pairs[0][0]),
        premises={"lm_gain_nats": min(p[0].lm_gain() for p in pairs)},  # every model of the family must work
    )


# ----------------------------------------------------------------------------- TF-5
@check("TF-5")
def check_tf5(claim: Claim, rec: ModelRecord) -> ClaimResult:
    """Onset (first layer > 0.20) in 9–25 % of depth; L* reported."""
    m = rec.real
    thr, cthr, z = claim.param("onset_threshold"), claim.param("completion_threshold"), claim.param("z")
    prof = m.layer_max_share()
    prof_se = sem(m.max_share().mean(2), axis=1)
    T = m.colsum.shape[-1]
    uni = uniform_share(T)
    on = onset(prof, thr)
    ls = completion_depth(prof, cthr)
    frac = on[1] if on else float("nan")
    checks = [Check("onset fraction k/L in band", frac, "in", claim.threshold, claim.tolerance.value,
                    note="never onsets" if on is None else f"onset layer {on[0]} of {len(prof)}")]
    if on is not None:
        checks.append(Check("onset layer's share > uniform causal null", float(prof[on[0] - 1]), ">", uni, z * float(prof_se[on[0] - 1])))
    return evaluate(
        claim, rec.label, checks,
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


@check("TF-15")
def check_tf15(claim: Claim, rec: ModelRecord) -> ClaimResult:
    """§5 / Fig. 1: the concentration crosses the onset threshold and plateaus (no later layer falls back below it)."""
    m = rec.real
    thr, z, cut = claim.param("onset_threshold"), claim.param("z"), int(claim.param("exclude_final_layers"))
    prof, prof_se = m.layer_max_share(), sem(m.max_share().mean(2), axis=1)
    on = onset(prof, thr)
    after = np.arange(on[0] if on else len(prof), len(prof) - cut)  # 0-based layers after the onset layer
    checks = [Check("crosses the onset threshold (peak layer)", float(prof.max()), ">", thr, 0.0)]
    if len(after):
        checks.append(Check(f"every layer after onset{' (final excluded)' if cut else ''} stays above it",
                            prof[after], "all>", thr, z * prof_se[after]))
    low = after[prof[after] - z * prof_se[after] <= thr] + 1
    return evaluate(
        claim, rec.label, checks,
        measured={"onset_layer": on[0] if on else None, "min_after_onset": float(prof[after].min()) if len(after) else None,
                  "layers_below": low.tolist()},
        null=uniform_share(m.colsum.shape[-1]),
        summary=(f"onset {'never' if on is None else f'L{on[0]}'}; after it"
                 f"{' (final layer excluded)' if cut else ''}: min {prof[after].min() if len(after) else float('nan'):.3f}"
                 f", {len(low)} of {len(after)} layers not above {thr:g} by {z:g} SE"
                 f"{' (L' + ', L'.join(map(str, low[:8])) + (' …' if len(low) > 8 else '') + ')' if len(low) else ''}"),
        per_layer={"max_share": prof, "max_share_se": prof_se},
        extra={"onset_threshold": thr, "excluded_final_layers": cut},
        provenance=_prov(m), premises=m.premises(),
    )


# ----------------------------------------------------------------------------- TF-6
def norm_share_points(info, cv: np.ndarray, head_share: np.ndarray, unit: str = "query-head"):
    """TF-6's points: (key-norm CV of the head's KV head, mean max share of the head) for every
    (layer, query head); ``cv [L,Hk]``, ``head_share [L,H]`` → ``x, y [L,H]`` (GQA: query head h
    reads KV head ``info.kv_head_of(h)``). ``unit = "kv-head"``: one point per (layer, KV head), the
    max share averaged over the query heads that share it (under GQA the query heads of one KV head
    repeat its CV: as separate points they are pseudo-replicates)."""
    kv = np.array([info.kv_head_of(h) for h in range(info.n_heads)])
    if unit == "kv-head":
        hk = cv.shape[1]
        share = np.stack([head_share[:, kv == g].mean(1) for g in range(hk)], axis=1)
        return cv, share
    if unit != "query-head":
        raise ValueError(f"TF-6 unit must be 'query-head' or 'kv-head', not {unit!r}")
    return cv[:, kv], head_share


def tf6_statistic(m) -> tuple[float, float]:
    """TF-6's statistic on one measurement: Pearson r and two-sided p over (layer, head)."""
    return pearson(*norm_share_points(m.info, m.norm_cv(), m.head_max_share()))


def tf6_bootstrap(m, reps: int, seed: int) -> np.ndarray:
    """[R] TF-6's r recomputed on sequence resamples (key-norm CV and head max shares from the
    same resampled sequences): the measured variation of r over the data."""
    w = bootstrap_counts(m.colsum.shape[1], reps, seed)
    cv = cv_replicates(m.key_norms_pre, w)  # [R,L,Hk]
    share = np.einsum("rn,lnh->rlh", w, m.max_share()) / w.sum(1)[:, None, None]  # [R,L,H]
    return np.array([pearson(*norm_share_points(m.info, cv[i], share[i]))[0] for i in range(len(w))])


@check("TF-6")
def check_tf6(claim: Claim, rec: ModelRecord) -> ClaimResult:
    """Pearson r(key-norm CV, max share) over (layer, query head) > 0."""
    m = rec.real
    x, y = norm_share_points(m.info, m.norm_cv(), m.head_max_share(), claim.param("unit"))
    r, p = pearson(x, y)
    checks = [Check("Pearson r(norm-CV, max share) > 0", r, ">", claim.threshold, claim.tolerance.value,
                    note=f"p = {p:.3g}{' (not significant, †)' if p >= claim.param('alpha') else ''}")]
    return evaluate(
        claim, rec.label, checks, measured={"r": r, "p": p}, null=0.0,
        summary=f"r = {r:+.3f} (p = {p:.2g}) over {x.size} (layer, head) pairs",
        extra={"cv": x, "max_share": y},
        provenance=_prov(m), premises=m.premises(),
    )


# ----------------------------------------------------------------------------- TF-7
@check("TF-7")
def check_tf7(claim: Claim, rec: ModelRecord) -> ClaimResult:
    """RoPE (§7, App. C.3 Fig. 5): norms preserved; VE@1 roughly halved; VE@8 lowered only
    slightly and still above the nulls of Fig. 3 (for transformers: the Gaussian null). The
    post-RoPE shuffle comparison is not in the paper: reported, not deciding."""
    m, shuffled = rec.real, _shuffled(rec, "TF-7")
    z, r, r1 = claim.param("z"), claim.param("rank"), claim.param("dominance_rank")
    cv_pre, cv_post = m.norm_cv(post=False), m.norm_cv(post=True)
    rel = float(np.max(np.abs(cv_post - cv_pre) / cv_pre))
    ve1_pre, ve1_post = m.ve(r1).mean(), m.ve(r1, post=True).mean()
    ve8_pre, ve8_post = m.ve(r).mean(), m.ve(r, post=True).mean()
    ratio1 = float(ve1_post / ve1_pre)
    drop1, drop8 = 1 - ratio1, float(1 - ve8_post / ve8_pre)
    post, post_se = _layer_ve(m, r, post=True)
    shuf, shuf_se = _layer_ve(shuffled, r, post=True)
    T = m.colsum.shape[-1]
    gauss, gauss_se = gaussian_ve_null(T, m.info.head_dim, r, claim.param("null_reps"), rec.seed)
    checks = [
        # v3: a model computing in bf16/fp16 rotates its keys in that dtype; the tolerance bounds its rounding
        Check("max relative |CV_post − CV_pre|", rel, "<=",
              claim.param("cv_rel_tol_half" if m.provenance.get("dtype") in HALF_DTYPES else "cv_rel_tol")),
        Check(f"VE@{r1} post/pre ratio ('roughly halves': nearer ½ than 0 or 1)", ratio1, "in",
              claim.param("ve1_ratio_band")),
        Check(f"VE@{r} reduced ('reduces VE everywhere')", drop8, ">", 0.0),
        Check(f"VE@{r} relative drop < VE@{r1} relative drop ('only slightly')", drop8, "<", drop1),
        Check(f"post-RoPE VE@{r} > Gaussian null (the transformers' null of Fig. 3), every layer", post, "all>", gauss,
              z * np.sqrt(post_se ** 2 + gauss_se ** 2)),
    ]
    shuf_fail = (np.flatnonzero(post - z * np.sqrt(post_se ** 2 + shuf_se ** 2) <= shuf) + 1).tolist()
    return evaluate(
        claim, rec.label, checks,
        measured={"cv_rel_diff": rel, "ve1_ratio": ratio1, "ve8_drop": drop8},  # report schema keys
        null={"gauss": gauss, "shuffle_post": float(shuf.mean())},
        summary=(f"norm-CV max rel. change {rel:.1e}; VE@{r1} {ve1_pre:.3f}→{ve1_post:.3f} (×{ratio1:.2f}); "
                 f"VE@{r} {ve8_pre:.3f}→{ve8_post:.3f} (−{drop8:.1%}); post-RoPE VE@{r} vs Gaussian {gauss:.3f}; "
                 f"for information (not in the paper, not deciding): post-RoPE shuffle null {shuf.mean():.3f}, "
                 f"not cleared in {len(shuf_fail)} of {len(post)} layers"),
        per_layer={"ve1_pre": m.ve(r1).mean((1, 2)), "ve1_post": m.ve(r1, post=True).mean((1, 2)),
                   "ve8_pre": m.ve(r).mean((1, 2)), "ve8_post": post, "ve8_post_shuffle": shuf},
        extra={"gauss_null": gauss, "rotary_dim": m.info.rotary_dim, "head_dim": m.info.head_dim,
               "shuffle_post_not_cleared_layers": shuf_fail},
        provenance=_prov(m, shuffled), premises=m.premises(),
    )


# ---------------------------------------------------------------------------- family claims
# Completion dynamics (§4.3) and the scale dependence of TF-6's r, over the models of one family
# ordered by size. Crossing depths are TF-5's: probes.stats.onset on the per-layer mean max
# share, with TF-5's registry thresholds (onset_threshold, completion_threshold); a model that
# never crosses is placed at (L+1)/L (probes.stats.onset_fraction), later than any layer, so
# "earlier" stays an ordering.


def crossings(m, tf5: Claim, reps: int, seed: int) -> dict:
    """One model's onset and L* (TF-5's definitions, fractions of depth), their gap, and the
    bootstrap SE of each over sequences (the profile recomputed on each resample)."""
    per_seq = m.max_share().mean(2)  # [L,N] head-mean max share per sequence
    prof = per_seq.mean(1)  # = m.layer_max_share()
    w = bootstrap_counts(per_seq.shape[1], reps, seed)
    boot = (w @ per_seq.T) / w.sum(1, keepdims=True)  # [R,L]
    out = {"label": m.label, "n_layers": len(prof), "profile": prof, "lm_gain": m.lm_gain()}
    for name, key in (("onset", "onset_threshold"), ("lstar", "completion_threshold")):
        thr = tf5.param(key)
        c = onset(prof, thr)
        out[name] = onset_fraction(prof, thr)
        out[f"{name}_layer"] = c[0] if c else None
        out[f"{name}_boot"] = np.array([onset_fraction(b, thr) for b in boot])
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


def _crossing_extra(rows):
    return {k: [r[k] for r in rows] for k in ("onset", "onset_se", "lstar", "lstar_se", "gap", "gap_se",
                                              "onset_layer", "lstar_layer", "n_layers", "profile")}


def _reals(rec: FamilyRecord) -> list:
    return [m.real for m in rec.models]


def _family_crossings(claim: Claim, rec: FamilyRecord):
    """What TF-9 and TF-10 start from: the claim's z, the family's real passes, TF-5's crossings of each
    model ordered by size (:func:`crossings`), the sizes, and ``col(key) -> (values, SEs)`` over the models."""
    tf5 = registry()["TF-5"]
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    ms = _reals(rec)
    rows, sizes = _by_size(ms, list(rec.n_params), lambda m: crossings(m, tf5, reps, rec.seed))

    def col(key):
        return np.array([r[key] for r in rows]), np.array([r[f"{key}_se"] for r in rows])

    return z, ms, rows, sizes, col


@check("TF-9")
def check_tf9(claim: Claim, rec: FamilyRecord) -> ClaimResult:
    """§4.3: 'The Pythia models lock in quickly after onset and do so earlier as they scale, with
    Pythia 2.8B crossing at 9 % depth.' Onset and L* fall from the smallest to the largest model;
    the largest onsets no later than any other (beyond the margin). The gap is reported."""
    z, ms, rows, sizes, col = _family_crossings(claim, rec)
    (on, on_se), (ls, ls_se) = col("onset"), col("lstar")
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
        claim, rec.label, rows, sizes, checks,
        measured={r["label"]: {"onset": r["onset"], "L*": r["lstar"]} for r in rows},
        summary="onset / L* by size: " + ", ".join(
            f"{r['label']} {_fmt_pct(r['onset'])}/{_fmt_pct(r['lstar'])} (gap {r['gap']:+.0%})" for r in rows),
        extra=_crossing_extra(rows), ms=ms)


@check("TF-10")
def check_tf10(claim: Claim, rec: FamilyRecord) -> ClaimResult:
    """§4.3: 'The larger GPT-2 models do the opposite: GPT-2 XL first exceeds the 0.20 onset at
    17 % depth but does not pass a 0.50 share until 60 % depth.' The completion gap (L* − onset)
    and L* grow from the smallest to the largest model; the largest has the family's widest gap."""
    z, ms, rows, sizes, col = _family_crossings(claim, rec)
    (gap, gap_se), (ls, ls_se) = col("gap"), col("lstar")
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
        claim, rec.label, rows, sizes, checks,
        measured={r["label"]: {"onset": r["onset"], "L*": r["lstar"], "gap": r["gap"]} for r in rows},
        summary="onset / L* by size: " + ", ".join(
            f"{r['label']} {_fmt_pct(r['onset'])}/{_fmt_pct(r['lstar'])} (gap {r['gap']:+.0%})" for r in rows)
        + f"; largest ({big['label']}): onset {_fmt_pct(big['onset'])}, L* {_fmt_pct(big['lstar'])}"
          f" (paper, GPT-2 XL: {claim.paper_values.get('gpt2_xl_onset', float('nan')):.0%} / "
          f"{claim.paper_values.get('gpt2_xl_lstar', float('nan')):.0%})",
        extra=_crossing_extra(rows), ms=ms)


@check("TF-11")
def check_tf11(claim: Claim, rec: ModelRecord) -> ClaimResult:
    """§4.3: 'both GPT-2 large and XL drop their concentration sharply in the final layer as
    routing gives way to the readout.' The final layer's mean max share falls below the
    penultimate's beyond z·SE (paired over sequences), and that fall is the steepest of the
    profile (no other layer-to-layer fall exceeds it beyond its margin)."""
    m = rec.real
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
        claim, rec.label, checks, measured={"final_fall": final, "final_fall_se": final_se,
                                            "relative_fall": float(final / prof[-2])},
        null="no final-layer fall: layer L's mean max share equal to layer L−1's (paired over sequences)",
        summary=(f"max share layer L−1 {prof[-2]:.3f} → L {prof[-1]:.3f}: fall {final:+.3f} ± {final_se:.3f} "
                 f"({final / prof[-2]:.0%}); largest other fall {falls[:-1].max() if len(falls) > 1 else float('nan'):+.3f}"),
        per_layer={"max_share": prof, "max_share_se": sem(per_seq, axis=1)},
        extra={"falls": falls, "falls_se": falls_se, "n_layers": len(prof)},
        provenance=_prov(m), premises=m.premises(),
    )


@check("TF-12")
def check_tf12(claim: Claim, rec: FamilyRecord) -> ClaimResult:
    """§4.3 'On the correlation …': 'in GPT-2 it is strong and grows with scale (0.37 to 0.70); in
    Pythia it is weak and decays toward zero, not significant at 410M.' TF-6's r per model, its
    bootstrap SE over sequences; GPT-2: r grows smallest → largest and no step falls beyond its
    margin; Pythia: |r| falls smallest → largest, and p ≥ α (TF-6's α) at the named models."""
    tf6 = registry()["TF-6"]
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    direction = claim.param("direction")[rec.family]
    alpha = tf6.param("alpha")
    ms, n_params = _reals(rec), list(rec.n_params)
    order = np.argsort(n_params, kind="stable")
    ms_o, refs_o = [ms[i] for i in order], [rec.refs[i] for i in order]
    stats_ = [tf6_statistic(m) for m in ms_o]
    r = np.array([s[0] for s in stats_])
    p = np.array([s[1] for s in stats_])
    se = np.array([np.nanstd(tf6_bootstrap(m, reps, rec.seed), ddof=1) for m in ms_o])
    labels = [m.label for m in ms_o]
    if direction == "grows":
        steps, step_se = np.diff(r), np.hypot(se[1:], se[:-1])
        checks = [_first_last("TF-6 r", r, se, ">", z),
                  Check("no step of r falls by more than its margin", steps, "all>", 0.0, -z * step_se)]
    else:
        checks = [_first_last("TF-6 |r| (decays toward zero)", np.abs(r), se, "<", z)]
        for ref in claim.param("not_significant").get(rec.family, []):
            if ref in refs_o:
                i = refs_o.index(ref)
                checks.append(Check(f"r at {labels[i]} not significant (p ≥ α = {alpha})", float(p[i]), ">=", alpha))
    return _family_result(
        claim, rec.label, [{"label": lb} for lb in labels], np.asarray(n_params)[order], checks,
        measured={lb: {"r": float(ri), "p": float(pi)} for lb, ri, pi in zip(labels, r, p)},
        summary=f"TF-6 r by size ({direction}): " + ", ".join(
            f"{lb} {ri:+.2f}±{si:.2f}{'†' if pi >= alpha else ''}" for lb, ri, si, pi in zip(labels, r, se, p))
        + " († p ≥ α)",
        extra={"r": r, "r_se": se, "p": p, "alpha": alpha, "direction": direction}, ms=ms_o)


@check("TF-13")
def check_tf13(claim: Claim, rec: FamilyRecord) -> ClaimResult:
    """§4.3: 'There is no single onset depth, and no fixed completion depth either.' A crossing at
    layer k of L places the depth in ((k−1)/L, k/L]; widened by z bootstrap SEs, these intervals
    have no common point across the models (for onset, and for L*)."""
    tf5 = registry()["TF-5"]
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    ms = _reals(rec)
    rows = [crossings(m, tf5, reps, rec.seed) for m in ms]
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
        claim, rec.label, checks,
        measured={r["label"]: {"onset": r["onset"], "L*": r["lstar"]} for r in rows}, null=claim.null,
        summary="onset / L*: " + ", ".join(f"{r['label']} {_fmt_pct(r['onset'])}/{_fmt_pct(r['lstar'])}"
                                           for r in rows),
        extra={"models": [r["label"] for r in rows], **_crossing_extra(rows), **extra},
        provenance={"models": {m.label: _prov(m) for m in ms}},
        premises={"lm_gain_nats": min(m.lm_gain() for m in ms)},
    )


@check("TF-14")
def check_tf14(claim: Claim, rec: FamilyRecord) -> ClaimResult:
    """§4.2: 'The smallest model, Pythia 160M, is the cautionary case: almost all of its apparent
    collapse (0.819 of 0.885) is reproduced by the shuffle null … This caveat disappears at
    scale.' Smallest model: marginal effect (shuffle − Gaussian) > content effect (real −
    shuffle); the shuffle/real VE@8 ratio is lower at the largest model than at the smallest.
    VE@r and the Gaussian null are TF-2's (its rank and null_reps)."""
    tf2 = registry()["TF-2"]
    z, rank = claim.param("z"), tf2.param("rank")
    order = np.argsort(list(rec.n_params), kind="stable")
    pairs = _pairs(rec, "TF-14")
    pairs = [pairs[i] for i in order]
    rows = []
    for real, shuf in pairs:
        a, b = real.ve(rank).mean(2).mean(0), shuf.ve(rank).mean(2).mean(0)  # [N] depth-and-head means
        g, g_se = gaussian_ve_null(real.colsum.shape[-1], real.info.head_dim, rank, tf2.param("null_reps"), rec.seed)
        ratio = float(b.mean() / a.mean())
        rows.append({"label": real.label, "real": float(a.mean()), "shuffle": float(b.mean()), "gauss": g,
                     "content": float(a.mean() - b.mean()), "content_se": float(np.hypot(sem(a), sem(b))),
                     "marginal": float(b.mean() - g), "marginal_se": float(np.hypot(sem(b), g_se)),
                     "ratio": ratio, "ratio_se": ratio * float(np.hypot(sem(a) / a.mean(), sem(b) / b.mean()))})
    s, big = rows[0], rows[-1]
    checks = [
        Check(f"smallest model ({s['label']}): marginal effect − content effect > 0 (mostly marginal)",
              s["marginal"] - s["content"], ">", 0.0, z * float(np.hypot(s["marginal_se"], s["content_se"]))),
        Check(f"shuffle/real VE@{rank} ratio: largest − smallest < 0 (the caveat fades with scale)",
              big["ratio"] - s["ratio"], "<", 0.0, z * float(np.hypot(big["ratio_se"], s["ratio_se"]))),
    ]
    ms = [p[0] for p in pairs]
    return _family_result(
        claim, rec.label, rows, np.asarray(rec.n_params)[order], checks,
        measured={r["label"]: {"shuffle_over_real": r["ratio"], "content": r["content"], "marginal": r["marginal"]}
                  for r in rows},
        summary=", ".join(f"{r['label']} shuffle/real {r['shuffle']:.3f}/{r['real']:.3f} = {r['ratio']:.2f} "
                          f"(content {r['content']:+.3f}, marginal {r['marginal']:+.3f})" for r in rows),
        extra={k: [r[k] for r in rows] for k in ("real", "shuffle", "gauss", "content", "marginal", "ratio", "ratio_se")},
        ms=ms)




# ----------------------------------------------------------------------------- the measurements
def _family_targets(cid: str, specs, wanted) -> list[Target]:
    """The run's models grouped by family (gpt2, pythia; ``wanted`` of them, all if None), one target of
    ``cid`` per family with at least two models (ref ``(family, specs)``); when none has two, one target
    unavailable with the command that runs it."""

    names = [f for f in FAMILIES if wanted is None or f in wanted]
    runnable = {f: ss for f in names if len(ss := [s for s in specs if s.family == f]) >= 2}
    if not runnable:
        return [Target(label="+".join(names), claims=(cid,), scope=MODEL, marks=("models",),
                       unavailable=f"{cid} compares models of one family ({' or '.join(names)}) and needs at least "
                                   f"two of them: " + PAPER_MODELS_CMD)]
    return [Target(label=f, ref=(f, tuple(ss)), claims=(cid,), scope=MODEL, marks=("models",))
            for f, ss in runnable.items()]


def family_groups(name: str):
    """The subjects of the cross-model measurement ``name``: for each claim reading it (TF-4, TF-9, TF-10,
    TF-12, TF-14), the run's models of each family it names (the registry's ``families``) with at least two
    models, scope ``model``, mark ``models``; unavailable, with the command that runs it, when none has two."""

    def subjects(options) -> list[Target]:
        specs, reg = run_specs(tuple(options.models)), registry()
        return [t for cid in reading(name) for t in _family_targets(cid, specs, reg[cid].params.get("families"))]

    return subjects


def named_models(options) -> list[Target]:
    """TF-11's subjects: each model its registry record names that is in the run; one unavailable target per
    named model otherwise."""

    specs, named = run_specs(tuple(options.models)), registry()["TF-11"].param("models")
    out = []
    for ref in named:
        present = [s for s in specs if s.ref == ref]
        out += [Target(label=s.label, ref=s, scope=MODEL, marks=("models",)) for s in present] or [
            Target(label=ref, scope=MODEL, marks=("models",),
                   unavailable=f"TF-11 is about {' and '.join(named)}, not in this run (hub weights, not available "
                               f"offline): " + PAPER_MODELS_CMD)]
    return out


def paper_models(options) -> list[Target]:
    """TF-13's subject: the paper's transformers in the run (ref ``(None, specs)``), unavailable with the
    command that runs it when the run has fewer than two."""

    paper = tuple(s for s in run_specs(tuple(options.models)) if s.ref in PAPER_MODELS)
    if len(paper) < 2:
        return [Target(label=PAPER_MODELS_LABEL, scope=MODEL, marks=("models",),
                       unavailable="TF-13 compares the paper's transformers and needs at least two of them: "
                                   + PAPER_MODELS_CMD)]
    return [Target(label="+".join(s.label for s in paper), ref=(None, paper), scope=MODEL, marks=("models",))]


def model_size(spec) -> int:
    """Parameter-count proxy for ordering a family: layers × width² (from the config; raises
    WeightsUnavailable)."""

    cfg = load_config(spec)
    return cfg.num_hidden_layers * cfg.hidden_size ** 2


def _model_record(spec, options, shuffled: bool) -> ModelRecord:

    real = attention_pass(spec, options, "real")
    shuf = attention_pass(spec, options, "shuffled") if shuffled else None
    return ModelRecord(label=spec.label, real=real, shuffled=shuf, seed=options.seed)


@measurement("attention-pass", subjects=model_targets)
@measurement("named-model-pass", subjects=named_models)
def real_record(target: Target, options) -> ModelRecord:
    """One model's :class:`ModelRecord` from its real pass (:func:`fixtures.measure.measure`, cached on disk;
    missing hub weights raise WeightsUnavailable, which the harness skips)."""
    return _model_record(target.ref, options, False)


@measurement("shuffled-pass", subjects=model_targets)
def shuffled_record(target: Target, options) -> ModelRecord:
    """One model's :class:`ModelRecord` with its token-shuffled re-run (TF-2, TF-7)."""
    return _model_record(target.ref, options, True)


def _family_record(target: Target, options, shuffled: bool) -> FamilyRecord:
    family, specs = target.ref
    models = tuple(_model_record(s, options, shuffled) for s in specs)
    return FamilyRecord(label=target.label, models=models, n_params=tuple(model_size(s) for s in specs),
                        refs=tuple(s.ref for s in specs), family=family, seed=options.seed)


@measurement("family-passes", subjects=family_groups("family-passes"))
@measurement("paper-model-passes", subjects=paper_models)
def family_record(target: Target, options) -> FamilyRecord:
    """A :class:`FamilyRecord` of a group of models (one family; TF-13: the paper's models), real passes."""
    return _family_record(target, options, False)


@measurement("family-shuffled-passes", subjects=family_groups("family-shuffled-passes"))
def family_shuffled_record(target: Target, options) -> FamilyRecord:
    """A :class:`FamilyRecord` of one family's models with their token-shuffled re-runs (TF-4, TF-14)."""
    return _family_record(target, options, True)
