"""Claims on the trained-here zoo: PR-1 (brake ordering, §7), SC-1 (seed control, App. C.6),
AR-1 / AR-2 / AR-3 (attention residuals, §5.4, App. C.5, Fig. 8); and the same claims on the open
hub checkpoints where they can be had (AttnRes 0.6B, PolyPythias seed twins). A family of the audit
(``suite.family``): its measurements run on the zoo's entries (marked ``zoo``) and the hub
checkpoints (marked ``hub``; skipped offline with the command that runs them): ``brake-ordering``,
``zoo-seed-twins`` / ``hub-seed-twins``, ``zoo-depth-routing`` / ``hub-depth-routing``, each one record
(:class:`BrakeOrdering`, :class:`SeedTwins`, :class:`DepthRouting`) from the cached measurements of
fixtures/zoo_measure.py; the ``@check`` functions decide them: pure functions, record in,
``ClaimResult`` out. The self-tests (tests/test_zoo.py) feed the same functions records on which
each claim is false, including each claim's hard null (the nearest explanation other than the
claimed mechanism).

The zoo trains once per machine (``make zoo``: ≈23 min on 2 cores, then cached under
``suite.cache.cache_root()/zoo``); ``--retrain`` forces it, ``--zoo smoke`` reads the self-tests' cut.

Every check supplies its claim's premise quantities (registry ``preconditions``): the
``functioning-model`` gain of every model it reads (:func:`lm_gain`), plus the claim's own
(PR-1: an attractor that onsets; AR-2: a recency hub to relocate).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr

from fixtures import zoo, zoo_recipes
from fixtures.adapters import ADAPTERS
from fixtures.catalogue import PAPER_ATTNRES
from fixtures.data import wikitext_sequences
from fixtures.measure import measure as measure_model
from fixtures.models import hub_reachable, in_local_hub_cache, load_for_run, resolve
from fixtures.routing import run_routing
from fixtures.targets import model_targets
from fixtures.zoo_measure import (key_cross_moments_many, routing_measurement, transformer_measurement,
                                  twin_cross_moments)
from probes import stats
from probes.subspace import aligned_canonical_angles, mean_canonical_angles, random_subspace_angle
from suite.errors import WeightsUnavailable
from suite.family import Target, check, declare_classes, measurement, reading
from suite.provenance import collect
from suite.registry import Claim, registry
from suite.results import Check, evaluate

declare_classes("trained-zoo")  # the kinds of subject this family's targets are

HUB_ATTNRES = PAPER_ATTNRES  # the paper's AttnRes checkpoint (fixtures.catalogue)
# PolyPythias (van der Wal et al. 2025): 160M Pythia retrained with other seeds
HUB_TWINS = {"base": "EleutherAI/pythia-160m", "weight": "EleutherAI/pythia-160m-weight-seed1",
             "data": "EleutherAI/pythia-160m-data-seed1", "both": "EleutherAI/pythia-160m-seed1"}
ZOO_ATTNRES = "attnres"  # the zoo entry AR-1/2/3 read
LABELS = {"brake-ordering": "zoo: nope/rope/alibi", "seed-twins": "zoo: rope seed twins",
          "attnres": f"zoo-{ZOO_ATTNRES}", "polypythias": "PolyPythias pythia-160m seed twins"}
# `pytest -k` expressions that select each hub target's tests (named in its offline skip reason)
HUB_SELECT = {HUB_ATTNRES: "AR- and open-attnres", "polypythias": "SC-1 and PolyPythias"}


# ----------------------------------------------------------------------------- measurement records
@dataclass
class BrakeOrdering:
    """PR-1's inputs: zoo transformers that differ only in their positional scheme."""

    label: str
    schemes: dict  # {"nope"|"rope"|"alibi": max share [L,N,H]}
    sweep: dict  # {ALiBi slope scale: max share [L,N,H]} of the trained ALiBi entry
    seed_family: dict  # {entry: max share [L,N,H]} of entries that differ only in their seeds (RoPE and its twins)
    lm_gains: dict  # {scheme: unigram − model NLL} (functioning-model premise)
    seed: int = 0  # the paired bootstrap's seed
    provenance: dict = field(default_factory=dict)  # the RoPE entry's, with every scheme's under "entries"
    curves: dict = field(default_factory=dict)  # the zoo's training curves (reported)


@dataclass
class SeedTwins:
    """SC-1's inputs: a base model and its reseeded twins."""

    label: str
    base_ve: np.ndarray  # [L,N,H] rank-r VE per (layer, sequence, head)
    base_cov: np.ndarray  # [L,H,d,d] key covariance
    twins: dict  # {reseed type: (ve [L,N,H], cov [L,H,d,d])}
    alignments: dict  # {reseed type: key_cross_moments_many(base, [twin])[0]}
    rotary_dim: int  # the keys' rotary dims
    lm_gains: dict  # {model: unigram − model NLL} of the base and every twin (functioning-model premise)
    seed: int = 0  # the random-subspace baseline's seed
    provenance: dict = field(default_factory=dict)


@dataclass
class DepthRouting:
    """AR-1/2/3's inputs: an AttnRes router's ``RoutingMeasurement`` records (fixtures/zoo_measure.py)."""

    label: str
    sweep: dict  # {recency offset δ: RoutingMeasurement}; δ = 0: the trained router with AR-2's nulls
    with_nulls: dict  # {claim id: the trained router measured with that claim's null_probes / null_seed}

    def trained(self, claim: Claim):
        """The trained router with ``claim``'s random-probe nulls (AR-1's and AR-3's: no second pass
        when their null parameters equal AR-2's)."""
        return self.with_nulls[claim.id]


def depth_routing(measured, label: str | None = None) -> DepthRouting:
    """A :class:`DepthRouting` of one trained measurement (every claim reads it) or of an offset
    sweep ``{δ: RoutingMeasurement}`` whose δ = 0 entry carries the nulls."""
    sweep = measured if isinstance(measured, dict) else {0.0: measured}
    trained = sweep[0.0]
    return DepthRouting(label=label or trained.label, sweep=sweep,
                        with_nulls={cid: trained for cid in reading("zoo-depth-routing")})


def lm_gain(provenance: dict | None, nll: float | None = None) -> float:
    """Unigram NLL − model NLL (nats/token), the ``functioning-model`` premise's quantity. A zoo
    entry's are the ones fixtures/zoo.py records at training (``val_loss`` and the training-split
    unigram baseline ``unigram_loss``, both on the 150 × 128 validation windows); a model without
    them (a hub checkpoint) passes its own ``unigram_loss`` and uses the measured ``nll``. NaN when
    either is missing (the premise then reads inconclusive, never passes silently)."""
    prov = provenance or {}
    uni = prov.get("unigram_loss")
    model = prov.get("val_loss", nll)
    if uni is None or model is None:
        return float("nan")
    return float(uni) - float(model)


def measurement_gain(m) -> float:
    """:func:`lm_gain` of a ``TransformerMeasurement``: the zoo's recorded losses where present,
    else the measurement's own (unigram of the measured windows − measured NLL)."""
    prov = getattr(m, "provenance", None) or {}
    if prov.get("unigram_loss") is not None:
        return lm_gain(prov, getattr(m, "nll", None))
    return float(m.lm_gain()) if hasattr(m, "lm_gain") else float("nan")


def _gains(gains: dict) -> dict:
    """Premise quantities of several models: the weakest must function."""
    if not gains:
        raise ValueError("functioning-model premise: no model gains supplied")
    vals = [float(v) for v in gains.values()]
    return {"lm_gain_nats": float("nan") if any(np.isnan(vals)) else min(vals)}


# ----------------------------------------------------------------------------- PR-1
def _profile(ms):
    """[L,N,H] max shares → [L] layer profile (mean over sequences and heads)."""
    return np.asarray(ms, dtype=float).mean((1, 2))


def bootstrap_onsets(max_shares: dict, threshold: float, reps: int, seed: int) -> dict:
    """Paired bootstrap over sequences (every model saw the same validation windows):
    ``{key: [reps] onset depths}`` with the same resampled sequences for every key."""
    n = next(iter(max_shares.values())).shape[1]
    idx = stats.bootstrap_indices(n, reps, seed)
    out = {}
    for k, ms in max_shares.items():
        ms = np.asarray(ms, dtype=float)
        per_seq = ms.mean(2)  # [L,N]
        out[k] = np.array([stats.onset_depth(per_seq[:, i].mean(1), threshold) for i in idx])
    return out


def checkpoint_readings(curves: dict, order, thr: float) -> list[dict]:
    """PR-1 read at every shared training checkpoint of its entries (point estimates from each entry's own
    trajectory profile, no bootstrap): the onset depth of each scheme (None = never) and what the rule would
    read there — censored (inconclusive) where a scheme predicted to onset later never does, else whether
    the order holds (a censored earlier scheme against an observed later one does not). Reported,
    not deciding: it shows whether the verdict depends on the training budget (issue 22 item 3)."""
    trajs = {k: ((curves or {}).get(k) or {}).get("trajectory") or [] for k in order}
    n = min((len(t) for t in trajs.values()), default=0)
    out = []
    for i in range(n):
        ons = {}
        for k in order:
            prof = np.asarray(trajs[k][i]["profile"], float)
            d = float(stats.onset_depth(prof, thr))
            ons[k] = d if d <= prof.size else None
        if any(ons[k] is None for k in order[1:]):
            reading = "censored (inconclusive)"
        else:
            ok = all(ons[a] is not None and ons[b] > ons[a] for a, b in zip(order[:-1], order[1:]))
            reading = "ordered" if ok else "not ordered"
        out.append({"tokens": trajs[order[0]][i].get("tokens"), "onsets": ons, "reading": reading})
    return out


def _summ(ms, thr, comp):
    prof = _profile(ms)
    o = stats.onset(prof, thr)
    c = stats.completion_depth(prof, comp)
    return {"profile": prof, "onset_layer": None if o is None else o[0], "onset_frac": None if o is None else o[1],
            "onset_depth": stats.onset_depth(prof, thr), "peak": float(prof.max()),
            "peak_layer": int(prof.argmax()) + 1,
            "l_star": None if c is None else c[0]}


def seed_spread(profiles: dict, threshold: float) -> tuple[float, dict]:
    """SD (ddof=1) of the onset depth over models that differ only in their training seeds
    (PR-1's hard null: how far onsets move by training chance alone) and the onsets."""
    ons = {k: stats.onset_depth(_profile(v), threshold) for k, v in profiles.items()}
    vals = np.array(list(ons.values()), dtype=float)
    return (float(vals.std(ddof=1)) if vals.size > 1 else float("nan")), ons


@check("PR-1")
def check_pr1(claim: Claim, m: BrakeOrdering):
    """§7's prediction: onset orders NoPE < RoPE < ALiBi (``m``: :class:`BrakeOrdering`).

    Premises: every scheme functions, and every scheme predicted to onset later than another is observed
    to onset (``onsets-observed``: a censored later side makes 'later' vacuous; a censored earlier side
    against an observed later one refutes the order, and its check reads that). Checks: each adjacent onset difference > 0 beyond z·√(SE_boot² + 2·SD_seed²)
    — the paired bootstrap over sequences, and the hard null of training chance (two models of
    one scheme differ in onset by SD_seed·√2). The slope sweep is this suite's addition, not the
    paper's test: reported, it does not decide."""
    schemes, sweep, seed_family, lm_gains, seed = m.schemes, m.sweep, m.seed_family, m.lm_gains, m.seed
    thr, comp = claim.param("onset_threshold"), claim.param("completion_threshold")
    z, reps = claim.param("z"), claim.param("bootstrap_reps")
    order = claim.param("order")
    summ = {k: _summ(v, thr, comp) for k, v in schemes.items()}
    boot = bootstrap_onsets(schemes, thr, reps, seed)
    sd_seed, seed_onsets = seed_spread(seed_family, thr)
    sd_seed_eff = 0.0 if np.isnan(sd_seed) else sd_seed
    L = len(next(iter(summ.values()))["profile"])
    checks = []
    for a, b in zip(order[:-1], order[1:]):
        diff = summ[b]["onset_depth"] - summ[a]["onset_depth"]
        se = float(np.std(boot[b] - boot[a], ddof=1))
        checks.append(Check(f"onset depth {b} − {a} > 0 (layers; paired-bootstrap SE {se:.3g}, seed SD {sd_seed_eff:.3g})",
                            diff, ">", 0.0, z * float(np.sqrt(se ** 2 + 2 * sd_seed_eff ** 2))))
    scales = sorted(sweep)
    ssum = {s: _summ(sweep[s], thr, comp) for s in scales}
    sboot = bootstrap_onsets({s: sweep[s] for s in (scales[0], scales[-1])}, thr, reps, seed)
    sdiff = ssum[scales[-1]]["onset_depth"] - ssum[scales[0]]["onset_depth"]
    sse = float(np.std(sboot[scales[-1]] - sboot[scales[0]], ddof=1))
    sweep_check = Check(f"ALiBi slope sweep (information): onset depth at ×{scales[-1]:g} − at ×{scales[0]:g} > 0 "
                        f"(SE {sse:.3g})", sdiff, ">", 0.0, z * sse).evaluate()
    onsets = [ssum[s]["onset_depth"] for s in scales]
    rho = spearmanr(scales, onsets).statistic if np.ptp(onsets) > 0 else float("nan")
    fmt = lambda s: (f"{s['onset_depth']:.2f}" if s["onset_depth"] <= L else "never")  # noqa: E731
    peak = max(summ[k]["peak"] for k in order)
    summary = ("onset depth (interpolated layer, threshold %.2f): " % thr
               + ", ".join(f"{k} {fmt(summ[k])} (peak {summ[k]['peak']:.3f}, L* {summ[k]['l_star']})" for k in order)
               + "; onsets across training seeds (" + ", ".join(
                   f"{k} {v:.2f}" if v <= L else f"{k} never" for k, v in seed_onsets.items())
               + f"): SD {sd_seed_eff:.3g} layers"
               + "; ALiBi slope sweep (information, not deciding) onsets "
               + ", ".join(f"×{s:g}: {fmt(ssum[s])}" for s in scales)
               + f" (Spearman ρ {rho:.2f}); peak ×0 {ssum[scales[0]]['peak']:.3f} → ×{scales[-1]:g} "
               f"{ssum[scales[-1]]['peak']:.3f}")
    ckpts = checkpoint_readings(m.curves, order, thr)
    if ckpts:
        fmt_on = lambda v: "never" if v is None else f"{v:.2f}"  # noqa: E731
        summary += ("; at every training checkpoint (information, not deciding: "
                    + "; ".join(f"{c['tokens'] / 1e6:.2f} M tokens " + "/".join(fmt_on(c['onsets'][k]) for k in order)
                                + f" → {c['reading']}" for c in ckpts) + ")")
    if all(summ[k]["onset_depth"] > L for k in order):
        summary += (f". No positional scheme reaches the {thr:.2f} onset threshold at any layer (highest peak "
                    f"{peak:.3f}), so there are no onsets to order")
    return evaluate(
        claim, m.label, checks,
        measured={**{f"{k}_onset": (summ[k]["onset_depth"] if summ[k]["onset_depth"] <= L else "never") for k in order},
                  **{f"{k}_peak": summ[k]["peak"] for k in order}},
        null="no ordering: equal onsets within the paired bootstrap and the seed-to-seed spread",
        summary=summary,
        per_layer={f"max_share_{k}": summ[k]["profile"] for k in order},
        extra={"schemes": {k: {kk: vv for kk, vv in summ[k].items()} for k in order},
               "sweep": {f"{s:g}": ssum[s] for s in scales}, "sweep_scales": scales, "sweep_spearman": rho,
               "sweep_check": sweep_check.describe(), "sweep_check_passed": sweep_check.passed,
               "seed_onsets": seed_onsets, "seed_sd": sd_seed, "lm_gains": lm_gains,
               "n_layers": L, "onset_threshold": thr, "completion_threshold": comp, "training_curves": m.curves or {},
               "checkpoints": ckpts,
               "peak_order_holds": bool(all(summ[a]["peak"] > summ[b]["peak"] for a, b in zip(order[:-1], order[1:])))},
        provenance=m.provenance or {},
        premises={**_gains(lm_gains),
                  # censoring, pair by pair: every scheme predicted to onset later than another must be
                  # observed; a censored earlier scheme against an observed later one fails its check
                  "onsets_observed": float(all(summ[k]["onset_depth"] <= L for k in order[1:]))},
    )


# ----------------------------------------------------------------------------- SC-1
def ve_by_construction(ve_a, ve_b, bound: float) -> np.ndarray:
    """Per layer: ``|VE_a − VE_b| < bound`` follows from VE ≤ 1 alone when both exceed 1 − bound
    (then the VE half holds whatever the two geometries are)."""
    return np.minimum(np.asarray(ve_a, dtype=float), np.asarray(ve_b, dtype=float)) > 1.0 - bound


@check("SC-1")
def check_sc1(claim: Claim, m: SeedTwins):
    """App. C.6 / Fig. 10: seeds give the same geometry, different directions (``m``: :class:`SeedTwins`).

    Checks per reseed type: every layer's |ΔVE@r| < max_ve_diff (beyond z·SE, paired over
    sequences); every layer's mean canonical angle, heads matched by index as measured (the
    paper's comparison), and again after the hard null is removed — the twin's keys carried onto
    the base's by the scores' own symmetry W_K → M W_K, W_Q → M⁻ᵀ W_Q and the best head matching
    (:func:`aligned_canonical_angles`) — exceeds ``min_angle_frac`` × the random-subspace baseline.
    The raw angle alone holds for any two models whose key bases differ by that symmetry, a
    functionally identical copy included. The VE half holds by construction at every layer
    where both VE@r exceed 1 − max_ve_diff (:func:`ve_by_construction`): recorded, not hidden."""
    base_ve, base_cov, twins, alignments, rotary_dim = m.base_ve, m.base_cov, m.twins, m.alignments, m.rotary_dim
    r, z = claim.param("rank"), claim.param("z")
    max_diff, frac = claim.param("max_ve_diff"), claim.param("min_angle_frac")
    d = base_cov.shape[-1]
    rand, rand_se = random_subspace_angle(d, r, claim.param("random_reps"), m.seed)
    checks, per_layer = [], {}
    bve = np.asarray(base_ve, dtype=float).mean(2)  # [L,N]
    per_layer["ve_base"] = bve.mean(1)
    worst_diff, worst_angle, worst_aligned = 0.0, 180.0, 180.0
    by_ve, matches = {}, {}
    for typ, (ve, cov) in twins.items():
        tve = np.asarray(ve, dtype=float).mean(2)
        diff = tve - bve  # [L,N] paired
        absdiff = np.abs(diff.mean(1))
        se = stats.sem(diff, axis=1)
        ang = mean_canonical_angles(base_cov, cov, r).mean(1)  # [L]
        al_h, match = aligned_canonical_angles(alignments[typ], r, rotary_dim)
        al = al_h.mean(1)
        by_ve[typ] = ve_by_construction(bve.mean(1), tve.mean(1), max_diff)
        matches[typ] = match.tolist()
        nb = int(by_ve[typ].sum())
        checks.append(Check(f"{typ} reseed: per-layer |ΔVE@{r}| < {max_diff}"
                            + (f" (holds by construction at {nb}/{len(absdiff)} layers: both VE@{r} > {1 - max_diff:g})"
                               if nb else ""), absdiff, "all<", max_diff, z * se))
        checks.append(Check(f"{typ} reseed: per-layer mean canonical angle > {frac}×random ({frac * rand:.1f}°), "
                            "heads by index, bases as trained", ang, "all>", frac * rand, 0.0))
        checks.append(Check(f"{typ} reseed: per-layer mean canonical angle > {frac}×random after aligning the key "
                            "bases by the scores' symmetry and matching heads (hard null)", al, "all>", frac * rand, 0.0))
        per_layer[f"ve_{typ}"] = tve.mean(1)
        per_layer[f"ve_absdiff_{typ}"] = absdiff
        per_layer[f"angle_{typ}"] = ang
        per_layer[f"angle_aligned_{typ}"] = al
        worst_diff, worst_angle = max(worst_diff, float(absdiff.max())), min(worst_angle, float(ang.min()))
        worst_aligned = min(worst_aligned, float(al.min()))
    L = len(bve)
    n_ve = sum(int(v.sum()) for v in by_ve.values())
    summary = (f"max |ΔVE@{r}| over layers and reseed types {worst_diff:.4f} (paper max "
               f"{claim.paper_values['max_ve_diff']:g}, bound {max_diff}); "
               f"min per-layer mean canonical angle {worst_angle:.1f}° as trained, {worst_aligned:.1f}° after aligning by "
               f"the scores' symmetry (rotary dims {rotary_dim}/{d}) and matching heads, vs random-subspace baseline "
               f"{rand:.1f}° (d={d}, r={r}); "
               + "; ".join(f"{t}: mean angle {per_layer[f'angle_{t}'].mean():.1f}° → aligned "
                           f"{per_layer[f'angle_aligned_{t}'].mean():.1f}°" for t in twins)
               + f". The VE half holds by construction at {n_ve}/{L * len(twins)} (layer, reseed) points (both VE@{r} > "
               f"{1 - max_diff:g}, so |ΔVE| < {max_diff} follows from VE ≤ 1)"
               + ("; only the angle halves could fail" if n_ve == L * len(twins) else ""))
    return evaluate(claim, m.label, checks,
                    measured={"max_ve_diff": worst_diff, "min_angle_deg": worst_angle,
                              "min_aligned_angle_deg": worst_aligned},
                    null={"random_angle": rand, "aligned_copy_angle": 0.0}, summary=summary,
                    per_layer=per_layer,
                    extra={"random_angle": rand, "random_angle_se": rand_se, "head_dim": d, "rank": r,
                           "rotary_dim": rotary_dim, "types": list(twins), "lm_gains": m.lm_gains,
                           "head_matching": matches,
                           "by_construction": {"ve_layers": {t: v.tolist() for t, v in by_ve.items()},
                                               "ve_points": n_ve, "points": L * len(twins)}},
                    provenance=m.provenance or {}, premises=_gains(m.lm_gains))


# ----------------------------------------------------------------------------- AR-1 / AR-2
def uniform_baseline(counts, drop_current: bool = False) -> float:
    """Mean over sublayers of the uniform routing's max share 1/n (n sources; n−1 without the current block)."""
    c = np.asarray(counts, dtype=float) - (1 if drop_current else 0)
    return float((1.0 / c).mean())


def _hubs(rm):
    return {"embeddings": rm.source_share(0).mean(1), "current": rm.source_share(-1).mean(1),
            "max_share": rm.max_share().mean(1)}


def _routing_premise(rm, ftol: float) -> dict:
    """The AttnRes family's premise (registry ``routing-concentrates``): the trained depth routing's mean
    max share (over sublayers; per sequence) against the uniform baseline of its source schedule."""
    per_seq = rm.max_share().mean(0)
    return {"mean_max_share": float(per_seq.mean()), "mean_max_share_se": float(stats.sem(per_seq)),
            "uniform_max_share": uniform_baseline(rm.counts) + ftol}


@check("AR-1")
def check_ar1(claim: Claim, m: DepthRouting):
    """§5.4 / Fig. 9 left: AttnRes depth routing concentrates although its keys' norm CV is zero.

    Reads the trained router's measurement with its hard null (``run_routing(..., null_probes=R)``,
    :meth:`DepthRouting.trained`). Checks: the mean max share exceeds (1) the uniform baseline of the source
    schedule (the paper's comparison) and (2) the same statistic under random probes of each
    sublayer's trained query norm on the same sources — the schedule, the logit scale and the
    max-of-n bias of noisy shares, without the learned direction — by z·√(SE² + SD²), SE over
    sequences, SD over probes; (3) the key-norm CV is zero up to float rounding at every sublayer.
    (The largest of n shares that average 1/n is ≥ 1/n for any router not exactly uniform, so (1)
    alone cannot tell a concentration from noise.) Premise: the model functions."""
    rm = m.trained(claim)
    z, tol, ftol = claim.param("z"), claim.param("cv_tolerance"), claim.param("float_tolerance")
    ms = rm.max_share()  # [S,N]
    per_seq = ms.mean(0)
    mean, se = float(per_seq.mean()), float(stats.sem(per_seq))
    uni = uniform_baseline(rm.counts)
    null_ms = rm.null_max_share()  # [R,S,N]
    null_draws = null_ms.mean((1, 2))  # [R]: each probe set's statistic
    null_mean, null_sd = float(null_draws.mean()), float(null_draws.std(ddof=1))
    exceed = float((null_draws >= mean).mean())
    hubs = _hubs(rm)
    cv = np.asarray(rm.key_norm_cv, dtype=float)
    checks = [Check("mean max share over sublayers > uniform baseline of this source schedule", mean, ">", uni,
                    z * se + ftol),
              Check(f"mean max share > random probes of the trained query norms on the same sources "
                    f"(hard null, {len(null_draws)} probes, SD {null_sd:.3g})", mean, ">", null_mean,
                    z * float(np.hypot(se, null_sd)) + ftol),
              Check("key-norm CV at every sublayer ≤ float rounding (0 by construction)", float(cv.max()), "<=", tol)]
    summary = (f"mean max share {mean:.3f} ± {se:.3f} vs uniform {uni:.4f} and vs random probes of the trained norms "
               f"{null_mean:.3f} (SD {null_sd:.3f}; {exceed:.0%} of probes reach the trained value) over {len(ms)} "
               f"sublayers (sources {min(rm.counts)}–{max(rm.counts)}); hubs: current block {hubs['current'].mean():.3f}, "
               f"embeddings {hubs['embeddings'].mean():.3f}; max key-norm CV {cv.max():.2e}")
    gain = lm_gain(rm.provenance, rm.nll)
    return evaluate(claim, m.label, checks,
                    measured={"max_share": mean, "null_max_share": null_mean, "hub_current": float(hubs["current"].mean()),
                              "hub_embeddings": float(hubs["embeddings"].mean()), "max_key_norm_cv": float(cv.max())},
                    null={"uniform": uni, "random_probes": null_mean}, summary=summary,
                    per_layer={"max_share": hubs["max_share"], "current": hubs["current"],
                               "embeddings": hubs["embeddings"], "uniform": 1.0 / np.asarray(rm.counts, dtype=float),
                               "null_max_share": null_ms.mean((0, 2)), "key_norm_cv": cv},
                    extra={"counts": rm.counts, "names": rm.names, "max_share_se": se, "nll": rm.nll,
                           "null_probes": len(null_draws), "null_sd": null_sd, "null_exceed_frac": exceed,
                           "probe_norms": rm.probe_norms, "lm_gain_nats": gain,
                           "by_construction": {"key_norm_cv": "K = RMSNorm(V) without a gain: ‖K‖ = √D for every "
                                                              "source, so the key-norm CV is 0 (and below TF-1's "
                                                              "baseline 1/√(2D)) whatever the training; the "
                                                              "concentration checks are what the measurement decides"}},
                    provenance=rm.provenance, premises={"lm_gain_nats": gain})


def renormalised_null(rm) -> dict:
    """AR-2's hard nulls from the trained measurement, as [S,N] (or [R,S,N]): ``max_share`` and
    ``embeddings`` of the trained weights with the current block removed and renormalised token
    by token (softmax renormalisation alone, sources fixed); ``probe_max_share``: the max share
    random probes of the trained norms give over the same remaining sources."""
    if rm.renorm_shares is None or rm.null_rest_shares is None:
        raise ValueError(f"{rm.label}: no renormalised null measured (run_routing(..., null_probes=R))")
    return {"max_share": np.stack([s.max(1) for s in rm.renorm_shares]),
            "embeddings": np.stack([s[:, 0] for s in rm.renorm_shares]),
            "probe_max_share": np.stack([s.max(2) for s in rm.null_rest_shares], 1)}


@check("AR-2")
def check_ar2(claim: Claim, m: DepthRouting):
    """§5.4 / App. C.5 Table 7: the recency-bias offset.

    ``m.sweep``: ``{offset δ: RoutingMeasurement}`` including 0 (the trained model, measured with
    its nulls) and ±δ_max. Premises: the model functions, and the trained routing has a recency
    hub to relocate (mean current-block share above the schedule's uniform share, beyond z·SE).
    Checks: +δ_max routes > plus_min_current to the current block, −δ_max leaves it
    < minus_max_current (both follow from |δ| = 10 logits ≫ the learned logit gaps: they confirm
    the intervention took); at −δ_max the top share holds at or above its trained value (not below
    it beyond z·SE, paired) and is not dissolved: it exceeds what random probes of the trained
    norms give over the same remaining sources (AR-1's hard null, z·√(SE² + SD²)); the embedding
    share rises above its trained value. Softmax renormalisation raises every remaining share by
    itself — removing one of n equal sources lifts each of the rest from 1/n to 1/(n−1) — so the
    renormalised trained shares (the hard null) are reported beside every −δ number: on a router
    whose concentration sits on the current block alone they leave the rest uniform, which no
    random probe falls below, and the "not dissolved" check fails there."""
    sweep = m.sweep
    z, ftol = claim.param("z"), claim.param("float_tolerance")
    offs = sorted(sweep)
    lo, hi = offs[0], offs[-1]
    if 0.0 not in sweep:
        raise ValueError("AR-2 needs the trained model (offset 0) in the sweep")
    trained = sweep[0.0]
    cur_hi = sweep[hi].source_share(-1).mean(0)  # per sequence, mean over sublayers
    cur_lo = sweep[lo].source_share(-1).mean(0)
    top_lo = sweep[lo].max_share().mean(0)
    top_0 = trained.max_share().mean(0)
    emb_lo = sweep[lo].source_share(0).mean(0)
    emb_0 = trained.source_share(0).mean(0)
    cur_0 = trained.source_share(-1).mean(0)
    uni = uniform_baseline(trained.counts)
    uni_nc = uniform_baseline(sweep[lo].counts, drop_current=True)
    ren = renormalised_null(trained)
    top_ren, emb_ren = ren["max_share"].mean(0), ren["embeddings"].mean(0)
    probe_draws = ren["probe_max_share"].mean((1, 2))  # [R]
    probe_mean, probe_sd = float(probe_draws.mean()), float(probe_draws.std(ddof=1))
    # sublayers where the trained top source is not the current block: there softmax
    # renormalisation alone keeps the top share at or above its trained value
    shares0 = [s.mean(0) for s in trained.shares]
    guaranteed = np.array([int(np.argmax(s)) != len(s) - 1 for s in shares0])
    d_top = top_lo - top_0
    checks = [
        Check(f"δ={hi:+g}: current-block share > {claim.param('plus_min_current')} (forced by the offset)",
              float(cur_hi.mean()), ">", claim.param("plus_min_current"), z * float(stats.sem(cur_hi))),
        Check(f"δ={lo:+g}: current-block share < {claim.param('minus_max_current')} (forced by the offset)",
              float(cur_lo.mean()), "<", claim.param("minus_max_current"), z * float(stats.sem(cur_lo))),
        Check(f"δ={lo:+g}: top share holds at or above its trained value {float(top_0.mean()):.3f} (upper z·SE bound "
              f"of the change ≥ 0; renormalisation alone gives {float(top_ren.mean()):.3f})",
              float(d_top.mean()) + z * float(stats.sem(d_top)), ">=", 0.0),
        Check(f"δ={lo:+g}: top share not dissolved: > random probes of the trained norms over the remaining sources "
              f"(hard null, SD {probe_sd:.3g})", float(top_lo.mean()), ">", probe_mean,
              z * float(np.hypot(float(stats.sem(top_lo)), probe_sd)) + ftol),
        Check(f"δ={lo:+g}: embedding share rises above its trained value (renormalisation alone gives "
              f"{float(emb_ren.mean()):.3f})", float((emb_lo - emb_0).mean()), ">", 0.0,
              z * float(stats.sem(emb_lo - emb_0)) + ftol),
    ]
    table = {f"{o:+g}": {"max_share": float(sweep[o].max_share().mean()),
                         "current": float(sweep[o].source_share(-1).mean()),
                         "embeddings": float(sweep[o].source_share(0).mean()), "nll": sweep[o].nll} for o in offs}
    summary = ("offset sweep (max share / current / embeddings): "
               + "; ".join(f"δ{k}: {v['max_share']:.3f}/{v['current']:.3f}/{v['embeddings']:.3f}" for k, v in table.items())
               + f"; trained current-block share {float(cur_0.mean()):.3f} vs uniform {uni:.3f} (the recency hub "
               f"to relocate); renormalised trained shares (hard null: the current block removed, softmax alone) "
               f"top {float(top_ren.mean()):.3f}, embeddings {float(emb_ren.mean()):.3f} vs measured at δ={lo:+g} "
               f"{float(top_lo.mean()):.3f} / {float(emb_lo.mean()):.3f}; the trained top source is not the current "
               f"block at {int(guaranteed.sum())}/{len(guaranteed)} sublayers, where renormalisation alone keeps the "
               f"top share; random probes over the non-current sources give {probe_mean:.3f}; uniform over them "
               f"{uni_nc:.3f}")
    gain = lm_gain(trained.provenance, trained.nll)
    # the offset models (the intervention): unigram of the same windows − each re-run pass's measured NLL
    gain_iv = stats.least_lm_gain((trained.provenance or {}).get("unigram_loss"), [sweep[o].nll for o in offs if o != 0.0])
    return evaluate(claim, m.label, checks,
                    measured={"current_plus": float(cur_hi.mean()), "current_minus": float(cur_lo.mean()),
                              "top_share_minus": float(top_lo.mean()), "top_share_trained": float(top_0.mean()),
                              "embeddings_minus": float(emb_lo.mean()), "embeddings_trained": float(emb_0.mean()),
                              "current_trained": float(cur_0.mean())},
                    null={"renormalised_top": float(top_ren.mean()), "renormalised_embeddings": float(emb_ren.mean()),
                          "random_probes_remaining": probe_mean, "uniform_remaining": uni_nc},
                    summary=summary,
                    per_layer={f"max_share_{o:+g}": sweep[o].max_share().mean(1) for o in offs}
                    | {f"embeddings_{o:+g}": sweep[o].source_share(0).mean(1) for o in offs}
                    | {f"current_{o:+g}": sweep[o].source_share(-1).mean(1) for o in offs}
                    | {"max_share_renormalised": ren["max_share"].mean(1), "embeddings_renormalised": ren["embeddings"].mean(1),
                       "top_guaranteed_by_renormalisation": guaranteed},
                    extra={"offsets": offs, "table": table, "counts": trained.counts, "lm_gain_nats": gain,
                           "by_construction": {"plus_current": True, "minus_current": True,
                                               "embedding_rise": "softmax renormalisation raises every remaining share",
                                               "top_holds_sublayers": int(guaranteed.sum())},
                           "renormalised": {"max_share": float(top_ren.mean()), "embeddings": float(emb_ren.mean())}},
                    provenance=trained.provenance,
                    # float_tolerance on the reference: exactly uniform routing must not meet the premise on rounding
                    premises={"lm_gain_nats": gain, "intervened_lm_gain_nats": gain_iv,
                              "trained_current_share": float(cur_0.mean()),
                              "trained_current_share_se": float(stats.sem(cur_0)), "uniform_share": uni + ftol,
                              **_routing_premise(trained, ftol)})


# ----------------------------------------------------------------------------- AR-3
AR3_ROLES = ("embeddings", "current", "intermediate")


def hub_roles(shares: np.ndarray, dup=()) -> dict:
    """Role shares of one sublayer from its source shares ``[..., n]`` (last axis: embeddings, snapshots…,
    current): ``embeddings`` (source 0), ``current`` (the last source plus every source whose keys equal it,
    ``dup``), ``intermediate`` (the largest of the other snapshots; None when there is none), and
    ``degenerate`` — the embeddings are the current block (the very first sublayer), so the roles cannot
    be told apart."""
    s = np.asarray(shares, dtype=float)
    n = s.shape[-1]
    cur_idx = sorted(set(int(i) for i in dup) | {n - 1})
    mids = [i for i in range(1, n - 1) if i not in cur_idx]
    return {"embeddings": s[..., 0], "current": s[..., cur_idx].sum(-1),
            "intermediate": s[..., mids].max(-1) if mids else None, "degenerate": 0 in cur_idx}


def dominance(roles: dict, role: str):
    """Share of ``role`` minus the largest share of the other two roles (> 0: ``role`` has the largest
    share); None when the sublayer has no such role or cannot tell the roles apart."""
    if roles["degenerate"] or roles[role] is None:
        return None
    others = [roles[r] for r in AR3_ROLES if r != role and roles[r] is not None]
    return roles[role] - np.max(np.stack(others), axis=0)


def depth_thirds(n_sublayers: int) -> list[np.ndarray]:
    """Sublayer indices of the early, middle and late thirds of depth (np.array_split: sizes differ by ≤ 1)."""
    return np.array_split(np.arange(n_sublayers), 3)


@check("AR-3")
def check_ar3(claim: Claim, m: DepthRouting):
    """App. C.5 / Fig. 8: 'the token embeddings dominate the early sublayers (the depth sink), the current
    block dominates the middle, and the late sublayers route from specific intermediate blocks'.

    Reads the trained router's measurement with its random-probe null (AR-1's,
    :meth:`DepthRouting.trained`). For each third of depth and its role (params ``roles``): the role's
    dominance — its share minus the largest share of the two other roles, per sequence, mean over the
    third's sublayers — must be > 0 (the role has the largest share) and exceed the same statistic under random probes of the trained query norms on the same sources
    (AR-1's hard null: the schedule, the logit scale, no learned direction), by z·√(SE² + SD²). A source
    whose keys equal the current block's (a block's first sublayer sees its snapshot twice) counts as the
    current block; the first sublayer (embeddings = current) cannot tell the roles apart and is left out.
    Premises: the model functions, and the routing has hubs ('the hubs' of Fig. 8): its mean max share
    exceeds the uniform baseline of the source schedule (the paper's comparison, §5.4)."""
    rm = m.trained(claim)
    z, ftol = claim.param("z"), claim.param("float_tolerance")
    order = list(claim.param("roles"))
    S = len(rm.shares)
    dup = rm.dup_current if rm.dup_current is not None else [[] for _ in range(S)]
    if rm.null_shares is None:
        raise ValueError(f"{rm.label}: AR-3 needs the random-probe null (run_routing(..., null_probes=R))")
    roles = [hub_roles(rm.shares[j], dup[j]) for j in range(S)]
    null_roles = [hub_roles(rm.null_shares[j], dup[j]) for j in range(S)]
    thirds = depth_thirds(S)
    checks, per_third = [], {}
    for name, idx, role in zip(("early", "middle", "late"), thirds, order):
        dj = [(j, dominance(roles[j], role), dominance(null_roles[j], role)) for j in idx]
        dj = [(j, d, dn) for j, d, dn in dj if d is not None]
        used = [int(j) + 1 for j, _, _ in dj]
        if dj:
            real = np.mean([d for _, d, _ in dj], axis=0)  # [N]
            null = np.mean([dn for _, _, dn in dj], axis=0).mean(-1)  # [R]: each probe draw's statistic
            mean, se = float(real.mean()), float(stats.sem(real))
            null_mean, null_sd = float(null.mean()), float(null.std(ddof=1))
        else:
            mean = se = null_mean = null_sd = float("nan")
        span = f"sublayers {int(idx[0]) + 1}–{int(idx[-1]) + 1}"
        checks.append(Check(f"{name} third ({span}): the {role} have the largest share (dominance over the other "
                            f"roles > 0)", mean, ">", 0.0, z * se + ftol,
                            note=f"tested sublayers {used}" if used else "no sublayer of this third has the role"))
        checks.append(Check(f"{name} third: {role} dominance > random probes of the trained query norms (hard null, "
                            f"SD {null_sd:.3g})", mean, ">", null_mean, z * float(np.hypot(se, null_sd)) + ftol))
        mean_roles = {r: (float(np.mean([roles[j][r].mean() for j in idx if roles[j][r] is not None]))
                          if any(roles[j][r] is not None for j in idx) else None) for r in AR3_ROLES}
        top_role = max((r for r in AR3_ROLES if mean_roles[r] is not None), key=lambda r: mean_roles[r])
        per_third[name] = {"role": role, "sublayers": used, "dominance": mean, "dominance_se": se,
                           "null_dominance": null_mean, "null_sd": null_sd, "mean_shares": mean_roles,
                           "largest_role": top_role}
    # premise (the AttnRes family's, _routing_premise): the routing has hubs — the paper's own comparison (§5.4:
    # top share 0.643 against a uniform baseline 0.245). Whether the hubs are learned is what the random-probe
    # checks decide, so the premise does not use that null.
    gain = lm_gain(rm.provenance, rm.nll)
    per_layer = {r: np.array([float(x[r].mean()) if x[r] is not None and not x["degenerate"] else np.nan
                              for x in roles]) for r in AR3_ROLES}
    per_layer |= {"max_share": rm.max_share().mean(1), "uniform": 1.0 / np.asarray(rm.counts, dtype=float),
                  "null_max_share": rm.null_max_share().mean((0, 2)),
                  "third": np.concatenate([np.full(len(t), i) for i, t in enumerate(thirds)]),
                  "degenerate": np.array([x["degenerate"] for x in roles])}
    late, mid = per_third["late"]["mean_shares"], per_third["middle"]["mean_shares"]
    summary = ("hub composition by depth thirds (mean shares embeddings / current / best intermediate): "
               + "; ".join(f"{k}: {v['mean_shares']['embeddings']:.3f} / {v['mean_shares']['current']:.3f} / "
                           + (f"{v['mean_shares']['intermediate']:.3f}" if v['mean_shares']['intermediate'] is not None
                              else "—") + f" (largest: {v['largest_role']}; claimed: {v['role']}, dominance "
                           f"{v['dominance']:+.3f} vs random probes {v['null_dominance']:+.3f})"
                           for k, v in per_third.items())
               + f"; sources equal to the current block counted with it at {sum(1 for d in dup if d)} of {S} sublayers"
               + (f"; recency dips late (information): current {mid['current']:.3f} → {late['current']:.3f}"
                  if late["current"] is not None and mid["current"] is not None else ""))
    return evaluate(claim, m.label, checks,
                    measured={f"{k}_dominance": v["dominance"] for k, v in per_third.items()}
                    | {f"{k}_largest_role": v["largest_role"] for k, v in per_third.items()},
                    null={f"{k}_random_probes": v["null_dominance"] for k, v in per_third.items()} | {"uniform": 0.0},
                    summary=summary, per_layer=per_layer,
                    extra={"thirds": per_third, "counts": rm.counts, "names": rm.names, "dup_current": dup,
                           "roles": order, "lm_gain_nats": gain,
                           "dup_detected": rm.dup_current is not None},
                    provenance=rm.provenance,
                    premises={"lm_gain_nats": gain, **_routing_premise(rm, ftol)})


# ----------------------------------------------------------------------------- targets / measure
@functools.lru_cache(maxsize=None)
def _hub_reachable() -> bool:

    return hub_reachable()


def offline_reason(repos, select: str) -> str | None:
    """Why hub weights cannot be had here (some not in the local hub cache, huggingface.co not
    reachable), with the command that runs their tests; None when they can."""

    missing = [r for r in repos if not in_local_hub_cache(r)]
    if not missing or _hub_reachable():
        return None
    return (f"weights for {', '.join(repr(r) for r in missing)} are not available offline; run "
            f"`pytest claims/test_audit.py -m hub -k \"{select}\"` on a machine that reaches huggingface.co")


ZOO = frozenset({"trained-zoo"})


# cost: cold-cache seconds on 2 cores (each entry ~80 s of training and checkpoints; AttnRes 140): the plan's order
@measurement("brake-ordering", subjects=lambda options: [
    Target(label=LABELS["brake-ordering"], marks=("zoo",), arch=ZOO, cost=240.0)])
def brake_ordering(target: Target, options) -> BrakeOrdering:
    """PR-1: the zoo's NoPE/RoPE/ALiBi entries, the ALiBi slope sweep and the RoPE seed family."""

    c = registry()["PR-1"]
    schemes = {k: transformer_measurement(k, options) for k in c.param("order")}
    sweep = {float(s): transformer_measurement("alibi", options, slope_scale=float(s)).max_share()
             for s in c.param("slope_scales")}
    # the hard null of training chance: the RoPE entry and its seed twins (the SC-1 measurements)
    family = [zoo_recipes.TWIN_BASE, *zoo_recipes.TWINS.values()]
    seed_family = {n: transformer_measurement(n, options).max_share() for n in family}
    prov = {k: {"recipe_hash": m.provenance.get("recipe_hash"), "val_loss": m.provenance.get("val_loss"),
                "unigram_loss": m.provenance.get("unigram_loss"), "nll_measured": m.nll} for k, m in schemes.items()}
    base = dict(schemes["rope"].provenance)
    base["entries"] = prov
    return BrakeOrdering(label=target.label, schemes={k: m.max_share() for k, m in schemes.items()}, sweep=sweep,
                         seed_family=seed_family, lm_gains={k: measurement_gain(m) for k, m in schemes.items()},
                         seed=options.seed, provenance=base, curves=zoo.training_curves(options))


@measurement("zoo-seed-twins", subjects=lambda options: [
    Target(label=LABELS["seed-twins"], marks=("zoo",), arch=ZOO, cost=400.0)])
def zoo_seed_twins(target: Target, options) -> SeedTwins:
    """SC-1 on the zoo's RoPE entry and its three seed twins."""

    r = registry()["SC-1"].param("rank")
    base = transformer_measurement(zoo_recipes.TWIN_BASE, options)
    twins, gains = {}, {zoo_recipes.TWIN_BASE: measurement_gain(base)}
    for typ, name in zoo_recipes.TWINS.items():
        m = transformer_measurement(name, options)
        twins[typ] = (m.ve(r), m.key_covariance())
        gains[name] = measurement_gain(m)
    moments = twin_cross_moments(zoo_recipes.TWIN_BASE, list(zoo_recipes.TWINS.values()), options)
    prov = dict(base.provenance)
    prov["twins"] = {t: n for t, n in zoo_recipes.TWINS.items()}
    return SeedTwins(label=target.label, base_ve=base.ve(r), base_cov=base.key_covariance(), twins=twins,
                     alignments={typ: moments[name] for typ, name in zoo_recipes.TWINS.items()},
                     rotary_dim=base.info.rotary_dim, lm_gains=gains, seed=options.seed, provenance=prov)


# arch not checked: SC-1 applies to the trained-here zoo; PolyPythias are its paper-scale twins
@measurement("hub-seed-twins", subjects=lambda options: [
    Target(label=LABELS["polypythias"], ref=tuple(HUB_TWINS.items()), marks=("hub",),
           unavailable=offline_reason(list(HUB_TWINS.values()), HUB_SELECT["polypythias"]))])
def hub_seed_twins(target: Target, options) -> SeedTwins:
    """SC-1 on the PolyPythias seed twins (hub)."""
    repos = dict(target.ref)
    r = registry()["SC-1"].param("rank")
    ms = {}
    for typ, repo in repos.items():
        try:
            ms[typ] = measure_model(resolve(repo), options)
        except WeightsUnavailable as exc:
            raise WeightsUnavailable(f"{exc} — for this test: `pytest claims/test_audit.py -m hub -k "
                                     f"\"{HUB_SELECT['polypythias']}\"` where huggingface.co is reachable") from exc
    gains = {repos[t]: measurement_gain(m) for t, m in ms.items()}
    base = ms.pop("base")
    twins = {t: (m.ve(r), m.key_covariance()) for t, m in ms.items()}
    # the hard null needs both models' keys on the same tokens (the four share one tokenizer)
    lb = load_for_run(resolve(repos["base"]), options)  # the run's --device / --dtype, as measure_model
    ids = wikitext_sequences(options, lb.tokenizer, repos["base"]).input_ids
    names = list(twins)
    moments = key_cross_moments_many(lb.model, [load_for_run(resolve(repos[t]), options).model for t in names], ids,
                                     options.batch_size)  # one pass of the base for all twins
    return SeedTwins(label=target.label, base_ve=base.ve(r), base_cov=base.key_covariance(), twins=twins,
                     alignments=dict(zip(names, moments)), rotary_dim=base.info.rotary_dim, lm_gains=gains,
                     seed=options.seed, provenance=dict(base.provenance))


def _ar_nulls() -> dict:
    """``{claim id: {"null_probes": R, "null_seed": s}}``: each AR claim's random-probe nulls."""
    return {cid: {"null_probes": registry()[cid].param("null_probes"), "null_seed": registry()[cid].param("null_seed")}
            for cid in reading("zoo-depth-routing")}


def _routing_record(label: str, sweep: dict, nulls: dict, trained_with) -> DepthRouting:
    """The record of an AR-2 offset sweep (δ = 0 with AR-2's nulls); AR-1 and AR-3 read that
    trained measurement where their null parameters equal AR-2's, else ``trained_with(their nulls)``."""
    by_nulls = {tuple(sorted(nulls["AR-2"].items())): sweep[0.0]}
    with_nulls = {}
    for cid in reading("zoo-depth-routing"):
        key = tuple(sorted(nulls[cid].items()))
        if key not in by_nulls:
            by_nulls[key] = trained_with(nulls[cid])
        with_nulls[cid] = by_nulls[key]
    return DepthRouting(label=label, sweep=sweep, with_nulls=with_nulls)


@measurement("zoo-depth-routing", subjects=lambda options: [
    Target(label=LABELS["attnres"], ref=ZOO_ATTNRES, marks=("zoo",), arch=ZOO | {"attention-residuals"},
           group=LABELS["attnres"], cost=140.0)])
def zoo_routing(target: Target, options) -> DepthRouting:
    """AR-1..3 on the zoo's AttnRes entry: AR-2's offset sweep, each AR claim's random-probe nulls."""
    name = target.ref

    nulls = _ar_nulls()
    sweep = {float(d): routing_measurement(name, options, offset=float(d), **(nulls["AR-2"] if d == 0 else {}))
             for d in registry()["AR-2"].param("offsets")}
    return _routing_record(target.label, sweep, nulls, lambda nl: routing_measurement(name, options, **nl))


def depth_routers(options) -> list[Target]:
    """AR-1..3's subjects beside the zoo's: every ``--model`` (its adapter's classes decide, through the registry's
    ``applies_to``: a depth router is ``attention-residuals``) and the open AttnRes checkpoint (hub; its own
    remote code), measured unless offline."""
    hub = Target(label=HUB_ATTNRES, ref=resolve(HUB_ATTNRES), marks=("hub",), arch=ADAPTERS["attnres"].vocabulary,
                 group=HUB_ATTNRES, unavailable=offline_reason([HUB_ATTNRES], HUB_SELECT[HUB_ATTNRES]))
    models = model_targets(options)
    return models + ([hub] if hub.ref not in [t.ref for t in models] else [])


@measurement("hub-depth-routing", subjects=depth_routers)
def model_routing(target: Target, options) -> DepthRouting:
    """AR-1..3 on a depth router loaded as every model is (:func:`fixtures.models.load_for_run`: the run's
    ``--device``/``--dtype``/``--device-map``, recorded in the provenance with its revision or weights hash)."""
    lm = load_for_run(target.ref, options)
    data = wikitext_sequences(options, lm.tokenizer, target.label)

    def run(offset: float, **nulls):
        m = run_routing(lm.model, data.input_ids, options.batch_size, offset=offset, label=target.label, **nulls)
        # functioning-model premise: the measured NLL against the unigram of the same windows
        m.provenance = collect(**lm.provenance, **data.provenance(), recency_offset=offset,
                               unigram_loss=data.unigram_nll, **nulls)
        return m

    nulls = _ar_nulls()
    sweep = {float(d): run(float(d), **(nulls["AR-2"] if d == 0 else {})) for d in registry()["AR-2"].param("offsets")}
    return _routing_record(target.label, sweep, nulls, lambda nl: run(0.0, **nl))



