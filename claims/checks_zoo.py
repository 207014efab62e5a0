"""Claim logic on the trained-here zoo: PR-1 (brake ordering, §7), SC-1 (seed control, App. C.6),
AR-1 / AR-2 (attention residuals, §5.4, App. C.5). Pure functions: measurements in
(``TransformerMeasurement`` / ``RoutingMeasurement`` or their arrays), ``ClaimResult`` out.
The self-tests (tests/test_zoo.py) feed the same functions inputs on which each claim is false.
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import stats
from scipy.linalg import subspace_angles

from probes.attention import completion_depth, onset
from suite.registry import Claim
from suite.results import Check, evaluate, sem


# ----------------------------------------------------------------------------- PR-1
def onset_depth(profile, threshold: float) -> float:
    """Continuous onset (1-based layers): the first crossing of ``threshold``, linearly
    interpolated between the layer below and the first layer above it; 1.0 if layer 1 is already
    above; L+1 (censored: "never") if no layer is."""
    v = np.asarray(profile, dtype=float)
    idx = np.flatnonzero(v > threshold)
    if idx.size == 0:
        return float(v.size + 1)
    k = int(idx[0])
    if k == 0:
        return 1.0
    lo, hi = v[k - 1], v[k]
    return float(k + (threshold - lo) / (hi - lo))


def _profile(ms):
    """[L,N,H] max shares → [L] layer profile (mean over sequences and heads)."""
    return np.asarray(ms, dtype=float).mean((1, 2))


def bootstrap_onsets(max_shares: dict, threshold: float, reps: int, seed: int) -> dict:
    """Paired bootstrap over sequences (every model saw the same validation windows):
    ``{key: [reps] onset depths}`` with the same resampled sequences for every key."""
    n = next(iter(max_shares.values())).shape[1]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(reps, n))
    out = {}
    for k, ms in max_shares.items():
        ms = np.asarray(ms, dtype=float)
        per_seq = ms.mean(2)  # [L,N]
        out[k] = np.array([onset_depth(per_seq[:, i].mean(1), threshold) for i in idx])
    return out


def _summ(ms, thr, comp):
    prof = _profile(ms)
    o = onset(prof, thr)
    c = completion_depth(prof, comp)
    return {"profile": prof, "onset_layer": None if o is None else o[0], "onset_frac": None if o is None else o[1],
            "onset_depth": onset_depth(prof, thr), "peak": float(prof.max()), "peak_layer": int(prof.argmax()) + 1,
            "l_star": None if c is None else c[0]}


def check_pr1(claim: Claim, schemes: dict, sweep: dict, seed: int = 0, model_label: str = "zoo: nope/rope/alibi",
              provenance: dict | None = None, curves: dict | None = None):
    """``schemes``: ``{"nope"|"rope"|"alibi": max_share [L,N,H]}``; ``sweep``: ``{slope scale:
    max_share [L,N,H]}`` of the ALiBi entry. Reproduced iff onset(NoPE) < onset(RoPE) <
    onset(ALiBi) and the largest slope scale onsets later than scale 0, each beyond z·SE of a
    paired bootstrap over sequences."""
    thr, comp = claim.param("onset_threshold"), claim.param("completion_threshold")
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    order = claim.param("order")
    summ = {k: _summ(v, thr, comp) for k, v in schemes.items()}
    boot = bootstrap_onsets(schemes, thr, reps, seed)
    checks = []
    for a, b in zip(order[:-1], order[1:]):
        diff = summ[b]["onset_depth"] - summ[a]["onset_depth"]
        se = float(np.std(boot[b] - boot[a], ddof=1))
        checks.append(Check(f"onset depth {b} − {a} > 0 (layers; paired-bootstrap SE {se:.3g})", diff, ">", 0.0, z * se))
    scales = sorted(sweep)
    ssum = {s: _summ(sweep[s], thr, comp) for s in scales}
    sboot = bootstrap_onsets({s: sweep[s] for s in (scales[0], scales[-1])}, thr, reps, seed)
    sdiff = ssum[scales[-1]]["onset_depth"] - ssum[scales[0]]["onset_depth"]
    sse = float(np.std(sboot[scales[-1]] - sboot[scales[0]], ddof=1))
    checks.append(Check(f"ALiBi slope sweep: onset depth at ×{scales[-1]:g} − at ×{scales[0]:g} > 0 (SE {sse:.3g})",
                        sdiff, ">", 0.0, z * sse))
    onsets = [ssum[s]["onset_depth"] for s in scales]
    rho = stats.spearmanr(scales, onsets).statistic if np.ptp(onsets) > 0 else float("nan")
    L = len(next(iter(summ.values()))["profile"])
    fmt = lambda s: (f"{s['onset_depth']:.2f}" if s["onset_depth"] <= L else "never")  # noqa: E731
    summary = ("onset depth (interpolated layer, threshold %.2f): " % thr
               + ", ".join(f"{k} {fmt(summ[k])} (peak {summ[k]['peak']:.3f}, L* {summ[k]['l_star']})" for k in order)
               + "; ALiBi slope sweep onsets " + ", ".join(f"×{s:g}: {fmt(ssum[s])}" for s in scales)
               + f" (Spearman ρ {rho:.2f}); peak ×0 {ssum[scales[0]]['peak']:.3f} → ×{scales[-1]:g} "
               f"{ssum[scales[-1]]['peak']:.3f}")
    if all(summ[k]["onset_depth"] > L for k in order):
        summary += (f". No positional scheme reaches the {thr:.2f} onset threshold at any layer at this scale, "
                    "so onset cannot order them")
    return evaluate(
        claim, model_label, checks,
        measured={**{f"{k}_onset": (summ[k]["onset_depth"] if summ[k]["onset_depth"] <= L else "never") for k in order},
                  **{f"{k}_peak": summ[k]["peak"] for k in order}},
        null="onset ordering NoPE < RoPE < ALiBi",
        summary=summary,
        per_layer={f"max_share_{k}": summ[k]["profile"] for k in order},
        extra={"schemes": {k: {kk: vv for kk, vv in summ[k].items()} for k in order},
               "sweep": {f"{s:g}": ssum[s] for s in scales}, "sweep_scales": scales, "sweep_spearman": rho,
               "n_layers": L, "onset_threshold": thr, "completion_threshold": comp, "training_curves": curves or {},
               "peak_order_holds": bool(all(summ[a]["peak"] > summ[b]["peak"] for a, b in zip(order[:-1], order[1:])))},
        provenance=provenance or {},
    )


# ----------------------------------------------------------------------------- SC-1
@functools.lru_cache(maxsize=16)
def random_subspace_angle(d: int, r: int, reps: int, seed: int) -> tuple[float, float]:
    """Mean canonical angle (degrees) between two uniformly random r-dim subspaces of ℝ^d:
    (mean, SE) over ``reps`` pairs (74.5° at d=64, r=8)."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(reps):
        a, _r = np.linalg.qr(rng.standard_normal((d, r)))
        b, _r = np.linalg.qr(rng.standard_normal((d, r)))
        vals.append(np.degrees(subspace_angles(a, b)).mean())
    vals = np.asarray(vals)
    return float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(reps))


def top_subspace(cov: np.ndarray, r: int) -> np.ndarray:
    """Top-r principal directions (columns) of a covariance matrix."""
    w, v = np.linalg.eigh(cov)
    return v[:, np.argsort(w)[::-1][:r]]


def mean_canonical_angles(cov_a: np.ndarray, cov_b: np.ndarray, r: int) -> np.ndarray:
    """``cov [L,H,d,d]`` each → [L,H] mean canonical angle (degrees) between the top-r subspaces."""
    L, H = cov_a.shape[:2]
    out = np.zeros((L, H))
    for li in range(L):
        for h in range(H):
            out[li, h] = np.degrees(subspace_angles(top_subspace(cov_a[li, h], r), top_subspace(cov_b[li, h], r))).mean()
    return out


def check_sc1(claim: Claim, base_ve: np.ndarray, base_cov: np.ndarray, twins: dict, seed: int = 0,
              model_label: str = "zoo: rope seed twins", provenance: dict | None = None):
    """``base_ve [L,N,H]`` rank-r VE per (layer, sequence, head); ``base_cov [L,H,d,d]`` key
    covariance; ``twins``: ``{reseed type: (ve, cov)}``. Reproduced iff, for every reseed type,
    every layer's |ΔVE@r| < max_ve_diff (beyond z·SE, paired over sequences) and every layer's
    mean canonical angle exceeds ``min_angle_frac`` × the random-subspace baseline."""
    r, z = claim.param("rank"), claim.param("z")
    max_diff, frac = claim.param("max_ve_diff"), claim.param("min_angle_frac")
    d = base_cov.shape[-1]
    rand, rand_se = random_subspace_angle(d, r, claim.param("random_reps"), seed)
    checks, per_layer, extra = [], {}, {"random_angle": rand, "random_angle_se": rand_se, "head_dim": d, "rank": r,
                                          "types": list(twins)}
    bve = np.asarray(base_ve, dtype=float).mean(2)  # [L,N]
    per_layer["ve_base"] = bve.mean(1)
    worst_diff, worst_angle = 0.0, 180.0
    for typ, (ve, cov) in twins.items():
        tve = np.asarray(ve, dtype=float).mean(2)
        diff = tve - bve  # [L,N] paired
        absdiff = np.abs(diff.mean(1))
        se = sem(diff, axis=1)
        ang = mean_canonical_angles(base_cov, cov, r).mean(1)  # [L]
        checks.append(Check(f"{typ} reseed: per-layer |ΔVE@{r}| < {max_diff}", absdiff, "all<", max_diff, z * se))
        checks.append(Check(f"{typ} reseed: per-layer mean canonical angle > {frac}×random ({frac * rand:.1f}°)",
                            ang, "all>", frac * rand, 0.0))
        per_layer[f"ve_{typ}"] = tve.mean(1)
        per_layer[f"ve_absdiff_{typ}"] = absdiff
        per_layer[f"angle_{typ}"] = ang
        worst_diff, worst_angle = max(worst_diff, float(absdiff.max())), min(worst_angle, float(ang.min()))
    summary = (f"max |ΔVE@{r}| over layers and reseed types {worst_diff:.4f} (paper max 0.016, bound {max_diff}); "
               f"min per-layer mean canonical angle {worst_angle:.1f}° vs random-subspace baseline {rand:.1f}° "
               f"(d={d}, r={r}); " + "; ".join(f"{t}: mean angle {per_layer[f'angle_{t}'].mean():.1f}°" for t in twins))
    return evaluate(claim, model_label, checks,
                    measured={"max_ve_diff": worst_diff, "min_angle_deg": worst_angle}, null=rand, summary=summary,
                    per_layer=per_layer, extra=extra, provenance=provenance or {})


# ----------------------------------------------------------------------------- AR-1 / AR-2
def uniform_baseline(counts, drop_current: bool = False) -> float:
    """Mean over sublayers of the uniform routing's max share 1/n (n sources; n−1 without the current block)."""
    c = np.asarray(counts, dtype=float) - (1 if drop_current else 0)
    return float((1.0 / c).mean())


def _hubs(rm):
    return {"embeddings": rm.source_share(0).mean(1), "current": rm.source_share(-1).mean(1),
            "max_share": rm.max_share().mean(1)}


def check_ar1(claim: Claim, rm, model_label: str | None = None):
    """AttnRes concentrates (mean max share above the schedule's uniform baseline beyond z·SE
    over sequences) although its keys' norm CV is zero (≤ float rounding) at every sublayer."""
    z, tol, ftol = claim.param("z"), claim.param("cv_tolerance"), claim.param("float_tolerance")
    ms = rm.max_share()  # [S,N]
    per_seq = ms.mean(0)
    mean, se = float(per_seq.mean()), float(sem(per_seq))
    uni = uniform_baseline(rm.counts)
    hubs = _hubs(rm)
    cv = np.asarray(rm.key_norm_cv, dtype=float)
    checks = [Check("mean max share over sublayers > uniform baseline of this source schedule", mean, ">", uni,
                    z * se + ftol),
              Check("key-norm CV at every sublayer ≤ float rounding (0 by construction)", float(cv.max()), "<=", tol)]
    summary = (f"mean max share {mean:.3f} ± {se:.3f} vs uniform {uni:.4f} over {len(ms)} sublayers "
               f"(sources {min(rm.counts)}–{max(rm.counts)}); hubs: current block {hubs['current'].mean():.3f}, "
               f"embeddings {hubs['embeddings'].mean():.3f}; max key-norm CV {cv.max():.2e}")
    return evaluate(claim, model_label or rm.label, checks,
                    measured={"max_share": mean, "hub_current": float(hubs["current"].mean()),
                              "hub_embeddings": float(hubs["embeddings"].mean()), "max_key_norm_cv": float(cv.max())},
                    null=uni, summary=summary,
                    per_layer={"max_share": hubs["max_share"], "current": hubs["current"],
                               "embeddings": hubs["embeddings"], "uniform": 1.0 / np.asarray(rm.counts, dtype=float),
                               "key_norm_cv": cv},
                    extra={"counts": rm.counts, "names": rm.names, "max_share_se": se, "nll": rm.nll},
                    provenance=rm.provenance)


def check_ar2(claim: Claim, sweep: dict, model_label: str | None = None):
    """``sweep``: ``{offset δ: RoutingMeasurement}`` including 0 and ±δ_max. Reproduced iff at +δ_max
    the current block takes > plus_min_current of the weight; at −δ_max it takes < minus_max_current,
    the max share stays above the uniform baseline of the remaining sources (not dissolved) and the
    embedding share rises above its trained value (relocated to the embedding hub), margins z·SE."""
    z, ftol = claim.param("z"), claim.param("float_tolerance")
    offs = sorted(sweep)
    lo, hi = offs[0], offs[-1]
    trained = sweep[0.0] if 0.0 in sweep else sweep[min(offs, key=abs)]
    cur_hi = sweep[hi].source_share(-1).mean(0)  # per sequence, mean over sublayers
    cur_lo = sweep[lo].source_share(-1).mean(0)
    top_lo = sweep[lo].max_share().mean(0)
    emb_lo = sweep[lo].source_share(0).mean(0)
    emb_0 = trained.source_share(0).mean(0)
    uni_nc = uniform_baseline(sweep[lo].counts, drop_current=True)
    checks = [
        Check(f"δ={hi:+g}: current-block share > {claim.param('plus_min_current')}", float(cur_hi.mean()), ">",
              claim.param("plus_min_current"), z * float(sem(cur_hi))),
        Check(f"δ={lo:+g}: current-block share < {claim.param('minus_max_current')}", float(cur_lo.mean()), "<",
              claim.param("minus_max_current"), z * float(sem(cur_lo))),
        Check(f"δ={lo:+g}: max share > uniform over the remaining sources (not dissolved)", float(top_lo.mean()), ">",
              uni_nc, z * float(sem(top_lo)) + ftol),
        Check(f"δ={lo:+g}: embedding share rises above its trained value (relocated to the embedding hub)",
              float((emb_lo - emb_0).mean()), ">", 0.0, z * float(sem(emb_lo - emb_0)) + ftol),
    ]
    table = {f"{o:+g}": {"max_share": float(sweep[o].max_share().mean()),
                         "current": float(sweep[o].source_share(-1).mean()),
                         "embeddings": float(sweep[o].source_share(0).mean()), "nll": sweep[o].nll} for o in offs}
    summary = ("offset sweep (max share / current / embeddings): "
               + "; ".join(f"δ{k}: {v['max_share']:.3f}/{v['current']:.3f}/{v['embeddings']:.3f}" for k, v in table.items())
               + f"; uniform over non-current sources {uni_nc:.3f}")
    return evaluate(claim, model_label or trained.label, checks,
                    measured={"current_plus": float(cur_hi.mean()), "current_minus": float(cur_lo.mean()),
                              "top_share_minus": float(top_lo.mean()), "embeddings_minus": float(emb_lo.mean()),
                              "embeddings_trained": float(emb_0.mean())},
                    null=uni_nc, summary=summary,
                    per_layer={f"max_share_{o:+g}": sweep[o].max_share().mean(1) for o in offs}
                    | {f"embeddings_{o:+g}": sweep[o].source_share(0).mean(1) for o in offs}
                    | {f"current_{o:+g}": sweep[o].source_share(-1).mean(1) for o in offs},
                    extra={"offsets": offs, "table": table, "counts": trained.counts},
                    provenance=trained.provenance)
