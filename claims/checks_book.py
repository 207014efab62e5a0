"""Claim logic of the book chapters (seeds 002 ch. 18 and 000 ch. 40): BK-1 γ ⊥ sink under a
RoPE-θ rescale, BK-2 the Bose–Einstein condensate closed form, BK-3 the γ ↔ fractional-order map,
BK-4 γ and sink as two axes across models, BK-5 the sink forms in pretraining, BK-6 secondary
sinks under the θ rescale, BK-8 the γ re-rise (by depth), BK-10 a first-position sink without a
BOS token, BK-11 softmax as the free-energy minimum. (BK-7, BK-9, BK-12, BK-13 are recorded, not tested.)

The family follows :mod:`suite.family`; its measurements (each claim's ``measure`` in ``book.toml``):

* ``theta-sweep`` on each ``--model`` (scope ``model``; the registry's ``applies_to = ["rope"]`` leaves a
  model without a rotary embedding not applicable) and ``first-position``, its real pass for BK-10;
* ``rope-zoo-entry`` on each RoPE entry of the trained-here zoo (mark ``zoo``): its θ sweep (native point:
  the zoo measurement PR-1/SC-1 use) and its training trajectory;
* ``rope-axes`` (``across-models``, mark ``zoo``): BK-4 over the run's RoPE models and the zoo's RoPE entries;
* ``book-algebra``: BK-3 (quadrature oracle over the γ grid and the Hypothesis search over γ) and BK-11.

Each makes one record (:class:`BookMeasurement`, :class:`AxesMeasurement`, :class:`AlgebraMeasurement`);
:func:`summarise_sweep` turns a :class:`fixtures.rope.ThetaSweep` (real or synthetic) into per-θ probe
results, computed once per sweep in a session (BK-4 reuses the sweeps of the other subjects). Every
``@check`` is ``check(claim, record) -> ClaimResult``, a pure function. Statistics come from
:mod:`probes.stats`. No pytest here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fixtures import zoo_recipes
from fixtures.measure import measure as measure_pass
from fixtures.models import ModelSpec
from fixtures.rope import theta_sweep
from fixtures.targets import architecture, model_targets, run_specs
from fixtures.zoo import entry_info, entry_recipe, zoo_entry_dir
from fixtures.zoo_measure import transformer_measurement
from probes import decay
from probes.stats import bootstrap_counts, least_lm_gain, lm_gain, pearson, sem, sink_mass, uniform_sink_mass
from suite import cache
from suite.family import Target, check, declare_classes, measurement
from suite.provenance import bos_words, collect
from suite.registry import Claim, registry
from suite.results import Check, ClaimResult, evaluate
from suite.search import isolated_examples

declare_classes("algebra", "trained-zoo")  # the kinds of subject this family's targets are


# ----------------------------------------------------------------------------- BK-1 measurement summary
def fit_distances_for(claim: Claim, T: int) -> np.ndarray:
    d_max = min(int(round(claim.param("d_max_frac") * T)), T - 2)
    return decay.fit_distances(T, int(claim.param("d_min")), d_max, int(claim.param("n_fit_points")))


def summarise_point(claim: Claim, p, T: int, seed: int = 0) -> dict:
    """Probe results at one θ: γ (both protocols, CI, R², nulls), γ_Padé, sink mass, secondary sinks, perplexity."""
    d = fit_distances_for(claim, T)
    nb, ci = int(claim.param("n_boot")), float(claim.param("ci_level"))
    fc = getattr(p, "first_col", None)
    ap = decay.gamma_all_pairs(p.diag_mean, p.colsum, d, nb, seed, ci, first_col=fc)
    ap0 = ap if fc is None else decay.gamma_all_pairs(p.diag_mean, p.colsum, d, nb, seed, ci)
    lq = decay.gamma_last_query(p.last_row, d, nb, seed, ci)
    sink_lnh = sink_mass(p.colsum)  # [L,N,H]
    sink_seq = sink_lnh.mean((0, 2))  # [N]
    sec = decay.secondary_sinks(p.colsum, float(claim.param("secondary_sink_share")))  # [L,N,H]
    out = {
        "factor": p.factor, "theta": p.theta, "nll": p.nll, "ppl": math.exp(p.nll) if p.nll is not None else None,
        "gamma_pade": decay.gamma_pade(p.theta, T),
        "sink": float(sink_seq.mean()), "sink_sem": float(sem(sink_seq)), "sink_seq": sink_seq,
        "sink_per_layer": sink_lnh.mean((1, 2)),
        "secondary_mean": float(sec.mean()), "secondary_frac": float((sec > 0).mean()),
        "secondary_seq": sec.mean((0, 2)), "secondary_per_layer": sec.mean((1, 2)),
        "secondary_positions": decay.secondary_sink_positions(p.colsum, float(claim.param("secondary_sink_share"))),
        "verification": dict(p.verification or {}),
    }
    out["ap_protocol"] = ap["protocol"]
    for name, r in (("ap", ap), ("ap0", ap0), ("lq", lq)):
        out[f"gamma_{name}"] = r["gamma"]
        out[f"gamma_{name}_lo"], out[f"gamma_{name}_hi"] = r["ci_lo"], r["ci_hi"]
        out[f"gamma_{name}_hw"] = r["half_width"]
        out[f"gamma_{name}_r2"] = r["r2_mean"]
        out[f"gamma_{name}_grand"], out[f"gamma_{name}_grand_r2"] = r["gamma_grand"], r["r2_grand"]
        out[f"gamma_{name}_per_layer"] = r["gamma_per_layer"]
        out[f"gamma_{name}_null_uniform"] = r["null_uniform"]["gamma"]
        out[f"curve_{name}"] = r["curve"]
    out["gamma_ap_null_sink_uniform"] = ap["null_sink_uniform"]["gamma"]
    out["gamma_ap0_null_sink_uniform"] = ap0["null_sink_uniform"]["gamma"]
    out["d"] = d
    return out


def per_layer_gamma_ci(per_seq_curves, d, n_boot: int, seed: int, ci: float) -> dict:
    """γ per layer (mean over heads of the per-head fit, as :func:`probes.decay.gamma_fit`) with a
    percentile bootstrap CI over sequences per layer (the same resampling weights as the model γ)."""
    a = np.asarray(per_seq_curves, dtype=np.float64)[..., np.asarray(d)]  # [L,N,H,K]
    L, N, H, K = a.shape
    g = decay.power_law_fit(a.mean(1), d)[0].mean(1)  # [L]
    if n_boot and N >= 2:
        w = bootstrap_counts(N, n_boot, seed) / N  # [B,N] resampling weights, the model γ's own
        gb = decay.power_law_fit(np.einsum("bn,lnhk->blhk", w, a), d)[0].mean(2)  # [B,L]
        lo, hi = np.quantile(gb, [(1 - ci) / 2, 1 - (1 - ci) / 2], axis=0)
    else:
        lo = hi = g
    return {"gamma": g, "lo": lo, "hi": hi, "hw": (hi - lo) / 2}


def _native_per_layer(claim: Claim, p, T: int, seed: int) -> dict:
    """BK-8's depth profile at the native θ: per-layer γ with CI under both protocols."""
    d = fit_distances_for(claim, T)
    nb, ci = int(claim.param("n_boot")), float(claim.param("ci_level"))
    fc = getattr(p, "first_col", None)
    ap_curves = p.diag_mean if fc is None else decay.diag_mean_without_key0(p.diag_mean, fc)
    return {"all_pairs": per_layer_gamma_ci(ap_curves, d, nb, seed, ci),
            "last_query": per_layer_gamma_ci(decay.last_query_by_distance(p.last_row), d, nb, seed, ci)}


def summarise_sweep(claim: Claim, sweep, seed: int = 0) -> dict:
    """``{"label", "T", "native_theta", "points": [per-θ summary], "provenance"}``; the native
    point also carries ``per_layer_ci`` (per-layer γ with CI, both protocols: BK-8)."""
    T = int(sweep.seq_len)
    pts = [summarise_point(claim, p, T, seed) for p in sweep.points]
    for raw, pt in zip(sweep.points, pts):
        if float(raw.factor) == 1.0:
            pt["per_layer_ci"] = _native_per_layer(claim, raw, T, seed)
    return {"label": sweep.label, "T": T, "native_theta": float(sweep.native_theta), "points": pts,
            "provenance": dict(sweep.provenance or {}), "seed": seed,
            "unigram_nll": getattr(sweep, "unigram_nll", None)}


def native_point(summary: dict) -> dict:
    """The factor-1 point of a sweep (the model as it is used): the premises are read there."""
    nat = [p for p in summary["points"] if float(p["factor"]) == 1.0]
    if not nat:
        raise ValueError("the θ sweep has no native point (factor 1): the premises are measured there")
    return nat[0]


def sweep_premises(summary: dict) -> dict:
    """Premise quantities of BK-1/BK-2 on the native-θ model (registry ``preconditions``):
    ``sink_mass`` (± ``sink_mass_se``, SEM over sequences) against ``uniform_sink_mass``, and
    ``lm_gain_nats`` = unigram NLL − model NLL of the same windows; ``intervened_lm_gain_nats``: the
    least of the same gain over the rescaled-θ points (the ``intervened-model-functions`` premise). A summary without the
    unigram baseline raises ``KeyError`` (the premise would go untested)."""
    nat = native_point(summary)
    uni = summary.get("unigram_nll")
    if uni is None or nat.get("nll") is None:
        raise KeyError(f"{summary.get('label')}: the θ sweep carries no unigram baseline / native loss "
                       f"(unigram_nll={uni!r}, nll={nat.get('nll')!r}); the functioning-model premise needs both")
    rescaled = [p.get("nll") for p in summary["points"] if float(p["factor"]) != 1.0]
    return {"sink_mass": float(nat["sink"]), "sink_mass_se": float(nat["sink_sem"]),
            "uniform_sink_mass": uniform_sink_mass(int(summary["T"])),
            "lm_gain_nats": lm_gain(uni, nat["nll"]),
            # the rescaled-θ models (BK-1/2/6's intervention): the least functioning of them
            "intervened_lm_gain_nats": least_lm_gain(uni, rescaled)}


def _col(pts, key):
    return np.array([p[key] for p in pts], dtype=float)


def _moves_check(pts, key, null_key, label) -> tuple[Check, dict]:
    g, hw, gn = _col(pts, key), _col(pts, f"{key}_hw"), _col(pts, null_key)
    i_max, i_min = int(np.argmax(g)), int(np.argmin(g))
    rng, nrng = float(g[i_max] - g[i_min]), float(gn.max() - gn.min())
    margin = float(hw[i_max] + hw[i_min])
    chk = Check(f"γ moves ({label}): range over θ − null's range", rng - nrng, ">", 0.0, margin=margin,
                note=f"γ {g[i_min]:.3f} (θ×{pts[i_min]['factor']:g}) → {g[i_max]:.3f} (θ×{pts[i_max]['factor']:g}); "
                     f"null range {nrng:.3g}; CI half-widths {hw[i_min]:.3f}+{hw[i_max]:.3f}")
    return chk, {"range": rng, "null_range": nrng, "margin": margin}


def _trend(theta, g) -> float:
    """Least-squares slope of γ against log10 θ (sign: does γ rise or fall as θ grows)."""
    x = np.log10(np.asarray(theta, float))
    if np.ptp(x) == 0:
        return float("nan")
    return float(np.polyfit(x, np.asarray(g, float), 1)[0])


def book_flat_spread(claim: Claim) -> float:
    """The book's own 'flat' sink (Fig. 18.1, ``paper_values.sink_book``): its range over θ relative
    to its mean level, (0.388 − 0.371)/0.381. BK-1's flatness tolerance is this number."""
    b = np.asarray(claim.paper_values["sink_book"], dtype=float)
    return float(np.ptp(b) / b.mean())


@check("BK-1")
def check_bk1(claim: Claim, m: "BookMeasurement") -> ClaimResult:
    """Book ch. 18 §18.4 (Fig. 18.1): γ moves (both protocols, beyond CI and null) while the sink
    mass stays flat — its range over θ, relative to its level, no larger than the book's own 'flat'
    sink. Premises on the native-θ model: a sink above uniform attention's, a functioning model."""
    summary, model_label = _sweep_of(m), m.label
    pts = summary["points"]
    if len(pts) < 2:
        raise ValueError("BK-1 needs a sweep of at least two θ values")
    premises = sweep_premises(summary)
    z = float(claim.param("z"))
    c_ap, m_ap = _moves_check(pts, "gamma_ap", "gamma_ap_null_sink_uniform", "all-pairs")
    c_lq, m_lq = _moves_check(pts, "gamma_lq", "gamma_lq_null_uniform", "last-query")
    s = _col(pts, "sink")
    level = float(s.mean())
    j_max, j_min = int(np.argmax(s)), int(np.argmin(s))
    diff = np.asarray(pts[j_max]["sink_seq"]) - np.asarray(pts[j_min]["sink_seq"])
    sem_diff = float(sem(diff)) if diff.size > 1 else 0.0
    s_rng = float(s[j_max] - s[j_min])
    rel, rel_margin = s_rng / level, z * sem_diff / level
    book_rel = book_flat_spread(claim)
    book_sink = np.asarray(claim.paper_values["sink_book"], dtype=float)
    c_sink = Check("sink mass flat: range over θ / mean sink level", rel, "<=", claim.tolerance.value, margin=rel_margin,
                   note=f"sink {s.min():.3f}–{s.max():.3f} (range {s_rng:.4f} at level {level:.3f}); margin z·SEM of "
                        f"the paired difference of the extreme points; tolerance = the book's own flat sink "
                        f"({book_rel:.1%} of its level)")
    sec = _col(pts, "secondary_mean")
    g_ap, g_lq, th = _col(pts, "gamma_ap"), _col(pts, "gamma_lq"), _col(pts, "theta")
    pade = _col(pts, "gamma_pade")
    T = int(summary["T"])
    uniform_sink = uniform_sink_mass(T)
    moved = c_ap.evaluate().passed and c_lq.evaluate().passed
    flat = c_sink.evaluate().passed
    # information, not deciding: the book's standard of 'flat' is the size of the move, not its significance
    move_in_sem = s_rng / sem_diff if sem_diff > 0 else float("inf")
    r_ap, r_lq = pearson(g_ap, s)[0], pearson(g_lq, s)[0]
    pv = claim.paper_values
    r_book = pearson(pv["gamma_pade_book"], pv["sink_book"])[0]
    tr_ap, tr_lq, tr_pade = _trend(th, g_ap), _trend(th, g_lq), _trend(th, pade)
    i_lo, i_hi = int(np.argmin(th)), int(np.argmax(th))

    def word(x):
        return "rises" if x > 0 else "falls" if x < 0 else "stays"

    direction = (f"measured γ {word(tr_ap)} as θ grows (all-pairs {g_ap[i_lo]:.3f} at θ×{pts[i_lo]['factor']:g} → "
                 f"{g_ap[i_hi]:.3f} at θ×{pts[i_hi]['factor']:g}; last-query {word(tr_lq)}, {g_lq[i_lo]:.3f} → "
                 f"{g_lq[i_hi]:.3f}) while γ_Padé, the book's γ axis, {word(tr_pade)} ({pade[i_lo]:.4f} → {pade[i_hi]:.4f})")
    nat = native_point(summary)
    summ = (f"θ×{pts[0]['factor']:g}…×{pts[-1]['factor']:g} around θ={summary['native_theta']:g} (T={T}). "
            f"Native θ: sink {premises['sink_mass']:.3f} ± {premises['sink_mass_se']:.3f} vs uniform attention "
            f"{uniform_sink:.4f}; LM gain {premises['lm_gain_nats']:.2f} nats (unigram {summary['unigram_nll']:.3f} − "
            f"model {nat['nll']:.3f}). "
            f"γ_{pts[0]['ap_protocol']} {g_ap.min():.3f}–{g_ap.max():.3f} (null {_col(pts, 'gamma_ap_null_uniform')[0]:.3f}), "
            f"γ_all-pairs incl. key 0 {_col(pts, 'gamma_ap0').min():.3f}–{_col(pts, 'gamma_ap0').max():.3f}, "
            f"γ_last-query {g_lq.min():.3f}–{g_lq.max():.3f} (null 0), γ_Padé {pade.min():.4f}–{pade.max():.4f}; "
            f"direction: {direction}. "
            f"Sink {s.min():.3f}–{s.max():.3f}: range {rel:.1%} of its level (+{rel_margin:.1%} z·SEM) vs the book's own "
            f"flat sink {book_rel:.1%} ({book_sink.min():.3f}–{book_sink.max():.3f}, Fig. 18.1). Not deciding: the move "
            f"is {move_in_sem:.0f}× its paired "
            f"SEM and r(γ, sink) = {r_ap:.2f} (all-pairs) / {r_lq:.2f} (last-query) over the {len(pts)} θ points "
            f"(the book's own r(γ_Padé, sink) = {r_book:.2f}); secondary sinks/head {sec.min():.3f}–{sec.max():.3f}. "
            f"Checks: γ {'moves' if moved else 'does not move beyond CI/null'}, sink {'flat' if flat else 'not flat'}.")
    extra = {
        "T": summary["T"], "native_theta": summary["native_theta"], "seed": summary.get("seed"),
        "fit_distances": pts[0]["d"],
        "theta": th, "factor": _col(pts, "factor"),
        "ppl": [p["ppl"] for p in pts], "nll": [p["nll"] for p in pts], "unigram_nll": summary.get("unigram_nll"),
        "gamma_pade": pade,
        "sink": s, "sink_sem": _col(pts, "sink_sem"), "sink_uniform_level": uniform_sink,
        "sink_level": level, "sink_relative_range": rel, "sink_relative_margin": rel_margin,
        "sink_flat_tolerance": claim.tolerance.value, "book_flat_spread": book_rel,
        "sink_flat_band": [float(s.min()), float(s.min() + claim.tolerance.value * level)],  # the width 'flat' allows
        "sink_move_in_paired_sem": move_in_sem, "sink_paired_sem": sem_diff,
        "r_gamma_sink": {"all_pairs": r_ap, "last_query": r_lq, "book_pade": r_book},
        "gamma_trend_per_decade": {"all_pairs": tr_ap, "last_query": tr_lq, "pade": tr_pade},
        "gamma_direction": direction,
        "secondary_mean": sec, "secondary_frac": _col(pts, "secondary_frac"),
        # the chapter's open question: change of the secondary-sink count between the θ extremes (paired over sequences)
        "secondary_change_extremes": float(sec[-1] - sec[0]),
        "secondary_change_sem": float(sem(np.asarray(pts[-1]["secondary_seq"]) - np.asarray(pts[0]["secondary_seq"]))),
        "secondary_positions": [np.asarray(p["secondary_positions"]) for p in pts],
        "verification": [p["verification"] for p in pts],
        "moves": {"all_pairs": m_ap, "last_query": m_lq}, "sink_range": s_rng, "sink_margin": z * sem_diff,
        "fractional_order_at_gamma": decay.fractional_order(g_ap),  # BK-3's α; a fractional Laplacian needs 0<α<1
    }
    for key in ("gamma_ap", "gamma_ap0", "gamma_lq"):
        for suf in ("", "_lo", "_hi", "_hw", "_r2", "_grand", "_grand_r2", "_null_uniform"):
            extra[key + suf] = _col(pts, key + suf)
        extra[f"curve_{key[6:]}"] = [np.asarray(p[f"curve_{key[6:]}"]) for p in pts]
    extra["gamma_ap_null_sink_uniform"] = _col(pts, "gamma_ap_null_sink_uniform")
    extra["gamma_ap0_null_sink_uniform"] = _col(pts, "gamma_ap0_null_sink_uniform")
    extra["all_pairs_protocol"] = pts[0]["ap_protocol"]
    per_layer = {}
    for p in pts:
        tag = f"θ×{p['factor']:g}"
        per_layer[f"sink {tag}"] = p["sink_per_layer"]
        per_layer[f"gamma_all_pairs {tag}"] = p["gamma_ap_per_layer"]
        per_layer[f"gamma_last_query {tag}"] = p["gamma_lq_per_layer"]
        per_layer[f"secondary_sinks {tag}"] = p["secondary_per_layer"]
    return evaluate(
        claim, model_label, [c_ap, c_lq, c_sink],
        measured={"gamma_all_pairs": g_ap, "gamma_last_query": g_lq, "sink": s,
                  "gamma_all_pairs_with_key0": _col(pts, "gamma_ap0")},
        null={"gamma_all_pairs_uniform": _col(pts, "gamma_ap_null_uniform"),
              "gamma_all_pairs_sink_uniform": _col(pts, "gamma_ap_null_sink_uniform"),
              "gamma_last_query_uniform": _col(pts, "gamma_lq_null_uniform")},
        summary=summ, per_layer=per_layer, extra=extra, premises=premises,
        provenance=collect(**summary.get("provenance", {}), claim_protocol="θ sweep, one verified pass per θ"),
    )


# ----------------------------------------------------------------------------- BK-2
_PROTOCOL = {"gamma_ap": "all_pairs", "gamma_lq": "last_query"}


@check("BK-2")
def check_bk2(claim: Claim, m: "BookMeasurement") -> ClaimResult:
    """Book ch. 18 §18.5: the BEC closed form at each measured γ against the measured sink mass.

    The seed places the formula's γ-dependent prediction in Phase B ('the clean sweep never enters
    Phase B (γ>1), which is where the BEC's γ-dependent prediction lives'), so the check is made at
    the θ points whose measured γ lies above 1 by its CI, and the claim's premise is that the sweep
    reaches one; the Phase-A points (the seed's 'tension') are reported beside it."""
    summary, model_label = _sweep_of(m), m.label
    pts = summary["points"]
    T = summary["T"]
    key = {v: k for k, v in _PROTOCOL.items()}[claim.param("gamma_protocol")]
    other = "gamma_lq" if key == "gamma_ap" else "gamma_ap"
    g, lo, hi = _col(pts, key), _col(pts, f"{key}_lo"), _col(pts, f"{key}_hi")
    s = _col(pts, "sink")
    n_mid = decay.condensate_fraction(g, T)
    n_lo, n_hi = decay.condensate_fraction(lo, T), decay.condensate_fraction(hi, T)
    band_lo = np.minimum.reduce([n_mid, n_lo, n_hi])
    band_hi = np.maximum.reduce([n_mid, n_lo, n_hi])
    # distance from the sink to the predicted band (0 when the band contains it)
    dist = np.maximum(0.0, np.maximum(band_lo - s, s - band_hi))
    b = float(claim.paper_values["phase_boundary_gamma"])  # the BEC onset, γ = 1
    phase = np.where(hi < b, f"A (γ<{b:g})", np.where(lo > b, f"B (γ>{b:g})", f"straddles {b:g}"))
    in_b = lo > b
    premises = dict(sweep_premises(summary), gamma_ci_lo_max=float(lo.max()))
    if in_b.any():
        idx = np.flatnonzero(in_b)
        worst = int(idx[np.argmax(dist[idx])])
        chk = Check("|N_cond(γ_measured) − sink mass|, worst Phase-B θ", float(dist[worst]), "<", claim.tolerance.value,
                    note=f"θ×{pts[worst]['factor']:g}: γ={g[worst]:.3f} → N_cond={n_mid[worst]:.3f} vs sink {s[worst]:.3f}; "
                         f"{int(in_b.sum())}/{len(pts)} θ points in Phase B")
    else:
        chk = Check("|N_cond(γ_measured) − sink mass|, worst Phase-B θ", float("nan"), "<", claim.tolerance.value,
                    note=f"no θ point in Phase B (largest CI lower bound of γ {lo.max():.3f} ≤ {b:g}): nothing to test")
    a_idx = np.flatnonzero(~in_b)
    lo_other = _col(pts, f"{other}_lo") if all(f"{other}_lo" in p for p in pts) else None
    n_other = decay.condensate_fraction(_col(pts, other), T)
    n_pade = decay.condensate_fraction(_col(pts, "gamma_pade"), T)
    phys = bool(np.all((n_mid >= 0) & (n_mid <= 1)))
    summ = (f"N_cond (L=T={T}) at measured γ_{claim.param('gamma_protocol')} {np.round(n_mid, 3).tolist()} vs sink "
            f"{np.round(s, 3).tolist()}; phases {sorted(set(phase.tolist()))}: {int(in_b.sum())}/{len(pts)} θ points in "
            f"Phase B (largest γ CI lower bound {lo.max():.3f}"
            + (f"; under {_PROTOCOL[other]}, not deciding: {lo_other.max():.3f}"
               if lo_other is not None else "") + "). "
            + (f"Phase-A points (the seed's 'tension', not a test by its own words): worst |N_cond − sink| "
               f"{dist[a_idx].max():.3f}; " if a_idx.size else "")
            + f"N_cond {'is' if phys else 'is NOT'} a fraction in [0,1] at every θ"
            f"{'' if phys else ' (ζ(γ)<0 for γ<1: the printed formula exceeds 1 in Phase A)'}.")
    return evaluate(
        claim, model_label, [chk],
        measured={"n_cond": n_mid, "sink": s}, null={"phase": phase.tolist()},
        summary=summ, premises=premises,
        extra={"theta": _col(pts, "theta"), "factor": _col(pts, "factor"), "gamma": g, "gamma_lo": lo, "gamma_hi": hi,
               "n_cond": n_mid, "n_cond_lo": band_lo, "n_cond_hi": band_hi, "sink": s, "distance": dist,
               "phase_b": in_b.tolist(), "gamma_ci_lo_max": float(lo.max()),
               "gamma_ci_lo_max_other_protocol": None if lo_other is None else float(lo_other.max()),
               "n_cond_other_protocol": n_other, "n_cond_pade": n_pade, "L": T, "phase": phase.tolist(),
               "gamma_protocol": claim.param("gamma_protocol")},
        provenance=collect(**summary.get("provenance", {})),
    )


# ----------------------------------------------------------------------------- BK-3
def fractional_order_search(claim: Claim, alpha_fn=decay.fractional_order) -> dict:
    """BK-3's Hypothesis search: γ drawn from ``gamma_bounds`` (the session's Hypothesis profile; the
    suite's ``ci`` profile: derandomised, 60 examples); at each draw α(γ) must equal half the
    quadrature symbol exponent and invert to γ, both within the tolerance. Every evaluated draw
    (shrinking included) is kept: ``{"gamma", "err_symbol", "err_inverse"}`` arrays, ``falsified``
    (the search found a counterexample) and the bounds."""

    lo, hi = claim.param("gamma_bounds")
    tol = claim.tolerance.value
    draws = []

    @given(st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False))
    def prop(gamma):
        s = decay.symbol_exponent(gamma, claim.param("k1"), claim.param("k2"))
        alpha = float(alpha_fn(gamma))
        draws.append((gamma, abs(alpha - s / 2), abs((1 + 2 * alpha) - gamma)))
        assert abs(alpha - s / 2) < tol
        assert abs((1 + 2 * alpha) - gamma) < tol

    try:
        prop()
        falsified = False
    except AssertionError:
        falsified = True
    d = np.array(draws, dtype=float).reshape(-1, 3)
    return {"gamma": d[:, 0], "err_symbol": d[:, 1], "err_inverse": d[:, 2], "falsified": falsified,
            "bounds": [float(lo), float(hi)]}


@dataclass(frozen=True)
class FractionalOrder:
    """BK-3's inputs: the claimed map α(γ) at the γ grid against the quadrature symbol exponent s(γ)
    of the |x|^−γ kernel (the oracle), the Hypothesis search over γ, and optionally measured γ."""

    gamma: Any  # the γ grid
    alpha: Any  # α(γ) of the map under test
    symbol_exponent: Any  # s(γ), scipy quadrature
    k: tuple
    search: dict  # fractional_order_search
    measured_gamma: Any = None
    measured_alpha: Any = None


def fractional_order_inputs(claim: Claim, alpha_fn=decay.fractional_order, gammas=None,
                            measured_gammas=None) -> FractionalOrder:
    gammas = np.asarray(claim.param("gamma_grid") if gammas is None else gammas, dtype=float)
    k1, k2 = float(claim.param("k1")), float(claim.param("k2"))
    s = np.array([decay.symbol_exponent(float(g), k1, k2) for g in gammas])
    mg = None if measured_gammas is None else np.asarray(measured_gammas, dtype=float)
    return FractionalOrder(gamma=gammas, alpha=np.asarray(alpha_fn(gammas), dtype=float), symbol_exponent=s,
                           k=(k1, k2), search=fractional_order_search(claim, alpha_fn),
                           measured_gamma=mg, measured_alpha=None if mg is None else np.asarray(alpha_fn(mg), float))


@check("BK-3")
def check_bk3(claim: Claim, m: "AlgebraMeasurement") -> ClaimResult:
    """α(γ) against the symbol exponent of the |x|^−γ kernel (quadrature), over the γ grid and the
    Hypothesis draws (α − s/2 and the inversion 1 + 2α = γ)."""
    f = m.fractional
    if f is None:
        raise ValueError(f"{m.label}: the record carries no BK-3 inputs (fractional_order_inputs)")
    gammas, alpha, s = np.asarray(f.gamma, float), np.asarray(f.alpha, float), np.asarray(f.symbol_exponent, float)
    k1, k2 = f.k
    err = np.abs(alpha - s / 2)
    chk = Check("max |α(γ) − s(γ)/2| over the γ grid", float(err.max()), "<", claim.tolerance.value,
                note=f"worst at γ={gammas[int(np.argmax(err))]:.3g}")
    h = f.search
    h_err = np.maximum(h["err_symbol"], h["err_inverse"])
    worst = int(np.argmax(h_err)) if h_err.size else None
    c_hyp = Check("Hypothesis draws: max of |α(γ) − s(γ)/2| and |1 + 2α(γ) − γ|",
                  float(h_err.max()) if h_err.size else float("nan"), "<", claim.tolerance.value,
                  note=(f"{h_err.size} draws in [{h['bounds'][0]:g}, {h['bounds'][1]:g}]"
                        + ("" if worst is None else f", worst at γ={h['gamma'][worst]:.6g}")
                        + (": falsified" if h["falsified"] else "")))
    extra = {"gamma": gammas, "alpha": alpha, "symbol_exponent": s, "abs_err": err, "k": [k1, k2]}
    summ = f"α=(γ−1)/2 against quadrature at {gammas.size} γ in (1,3): max error {err.max():.2g}."
    if f.measured_gamma is not None:
        mg, ma = np.asarray(f.measured_gamma, float), np.asarray(f.measured_alpha, float)
        inside = (ma > 0) & (ma < 1)
        extra.update(measured_gamma=mg, measured_alpha=ma, in_fractional_range=inside)
        summ += (f" Measured γ {mg.min():.3f}–{mg.max():.3f} ↦ α {ma.min():.3f}–{ma.max():.3f}: "
                 f"{int(inside.sum())}/{mg.size} inside (0,1), where a fractional Laplacian exists.")
    return evaluate(claim, m.label, [chk, c_hyp], measured=float(err.max()), extra=extra, summary=summ,
                    provenance=collect(oracle="scipy.integrate.quad (QAWF tail)"))


# ----------------------------------------------------------------------------- BK-4
def model_axes(summary: dict) -> dict:
    """One model's two axes at its native θ (the model as it is used), from a BK-1 sweep summary:
    γ under both protocols with its bootstrap CI, and sink mass with its SEM over sequences."""
    nat = native_point(summary)
    out = {"label": summary["label"], "T": int(summary["T"]), "native_theta": float(summary["native_theta"]),
           "sink": float(nat["sink"]), "sink_sem": float(nat["sink_sem"]),
           "bos": bos_words(summary["provenance"].get("bos_id"), int(summary["T"]))}
    for key in ("gamma_ap", "gamma_lq"):
        for suf in ("", "_lo", "_hi"):
            out[key + suf] = float(nat[key + suf])
    return out


def _rank(x) -> np.ndarray:
    x = np.asarray(x, float)
    r = np.empty(x.size)
    r[np.argsort(x, kind="stable")] = np.arange(x.size)
    return r


@check("BK-4")
def check_bk4(claim: Claim, m: "AxesMeasurement") -> ClaimResult:
    """Book ch. 18 §18.6 ('a model can have high γ and little sink, or the other way around'):
    across the models of a run, a pair whose order by γ and order by sink mass disagree beyond
    their CIs. Score of an ordered pair (i, j): the smallest of γ_i's CI lower bound − γ_j's CI
    upper bound (under each protocol), sink_j − sink_i − z·√(SEM_i² + SEM_j²), and sink_j −
    uniform − z·SEM_j (model j has a sink: the sentence contrasts 'little sink' with a sink);
    reproduced iff the best pair scores above 0. The best pair without the has-a-sink term is
    reported, not deciding. Premise: at least two models (the sentence compares models)."""
    axes, model_label = list(m.axes), m.label
    z = float(claim.param("z"))
    n = len(axes)
    labels = [a["label"] for a in axes]
    best, best_pair, scores = float("nan"), None, {}
    best_lenient, pair_lenient = float("nan"), None
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            a, b = axes[i], axes[j]
            parts = {"gamma_all_pairs": a["gamma_ap_lo"] - b["gamma_ap_hi"],
                     "gamma_last_query": a["gamma_lq_lo"] - b["gamma_lq_hi"],
                     "sink": b["sink"] - a["sink"] - z * math.hypot(a["sink_sem"], b["sink_sem"]),
                     "has_sink": b["sink"] - uniform_sink_mass(b["T"]) - z * b["sink_sem"]}
            sc = min(parts.values())
            lenient = min(v for k, v in parts.items() if k != "has_sink")
            scores[f"{a['label']} > {b['label']}"] = dict(parts, score=sc, score_without_has_sink=lenient)
            if not np.isfinite(best) or sc > best:
                best, best_pair = sc, (i, j)
            if not np.isfinite(best_lenient) or lenient > best_lenient:
                best_lenient, pair_lenient = lenient, (i, j)
    g_ap = np.array([a["gamma_ap"] for a in axes]) if n else np.array([])
    s = np.array([a["sink"] for a in axes]) if n else np.array([])
    rho = pearson(_rank(g_ap), _rank(s))[0]  # Spearman (NaN below three models)
    if best_pair is not None:
        a, b = axes[best_pair[0]], axes[best_pair[1]]
        note = (f"{a['label']}: γ_ap {a['gamma_ap']:.3f} [{a['gamma_ap_lo']:.3f}, {a['gamma_ap_hi']:.3f}], γ_lq "
                f"{a['gamma_lq']:.3f}, sink {a['sink']:.4f} ± {a['sink_sem']:.4f}  vs  {b['label']}: γ_ap "
                f"{b['gamma_ap']:.3f} [{b['gamma_ap_lo']:.3f}, {b['gamma_ap_hi']:.3f}], γ_lq {b['gamma_lq']:.3f}, "
                f"sink {b['sink']:.4f} ± {b['sink_sem']:.4f}")
    else:
        note = "fewer than two models: no pair to compare"
    chk = Check("best discordant pair: min(γ gap beyond CIs, both protocols; sink gap beyond z·SEM; the other has a sink)",
                best, ">", 0.0, note=note)
    lenient_txt = ("" if pair_lenient is None else
                   f" Not deciding, without the has-a-sink term: best pair {labels[pair_lenient[0]]} > "
                   f"{labels[pair_lenient[1]]}, score {best_lenient:.4g}.")
    Ts = sorted({a["T"] for a in axes})
    rows = "; ".join(f"{a['label']} γ_ap {a['gamma_ap']:.3f} [{a['gamma_ap_lo']:.3f}–{a['gamma_ap_hi']:.3f}] γ_lq "
                     f"{a['gamma_lq']:.3f} sink {a['sink']:.4f}±{a['sink_sem']:.4f}" for a in axes)
    summ = (f"{n} models at native θ (T {Ts}): {rows}. Best discordant pair score {best:.4g} "
            f"({'more γ and less sink' if best > 0 else 'no pair beyond noise'}); Spearman ρ(γ_ap, sink) over models "
            f"{rho:.2f} (not deciding).{lenient_txt} The book's own cross-model points (§18.5, γ > 1): Mistral sink "
            f"{claim.paper_values['sink_mistral']}, Qwen2.5 {claim.paper_values['sink_qwen25']}.")
    extra = {"models": labels, "T": Ts, "pair_scores": scores, "spearman_gamma_sink": rho,
             "best_pair": None if best_pair is None else [labels[best_pair[0]], labels[best_pair[1]]],
             "best_score": best, "best_score_without_has_sink": best_lenient,
             "best_pair_without_has_sink": None if pair_lenient is None else [labels[pair_lenient[0]],
                                                                               labels[pair_lenient[1]]],
             "uniform_sink": [uniform_sink_mass(a["T"]) for a in axes]}
    for k in ("gamma_ap", "gamma_ap_lo", "gamma_ap_hi", "gamma_lq", "gamma_lq_lo", "gamma_lq_hi", "sink", "sink_sem",
              "native_theta"):
        extra[k] = [a[k] for a in axes]
    return evaluate(claim, model_label, [chk], measured={"gamma_all_pairs": g_ap, "sink": s},
                    null="sink a monotone function of γ: every pair concordant, best score ≤ 0",
                    summary=summ, extra=extra, premises={"n_models": n},
                    provenance=collect(models=labels, claim_protocol="native-θ point of each BK-1 sweep"))


# ----------------------------------------------------------------------------- BK-5
@check("BK-5")
def check_bk5(claim: Claim, m: "BookMeasurement") -> ClaimResult:
    """Book ch. 18 §18.3 / ch. 40 §40.3 ('the sink emerges in pretraining', Gu et al. 2025): along
    training checkpoints (``trajectory``: ``{"tokens", "sink", "sink_sem"}``, in training order, the
    first at initialisation) the sink is absent at the first (mean A[t,0] not above uniform causal
    attention's by z·SEM) and present at the last (above it by z·SEM). Premise: a trajectory of at
    least ``min_checkpoints`` measured checkpoints. ``final``: the trained model's own measurement
    (``sink``, ``sink_sem``), reported with the training budget whatever the trajectory."""
    p = m.pretraining
    if p is None:
        raise ValueError(f"{m.label}: the record carries no training trajectory (BK-5 reads the zoo's)")
    label, trajectory, final, T, tokens_seen, provenance = m.label, p.trajectory, p.final, p.T, p.tokens_seen, p.provenance
    z = float(claim.param("z"))
    u = uniform_sink_mass(T)
    traj = list(trajectory)
    if traj:
        first, last = traj[0], traj[-1]
        # 'absent': no sink above uniform beyond z·SEM, nor beyond the relevance margin (a fraction of the
        # uniform level: an untrained model's near-uniform attention has a tiny SEM)
        rel = float(claim.param("relevance_fraction")) * u
        c_abs = Check("sink absent at the first checkpoint: sink − uniform", first["sink"] - u, "<=", 0.0,
                      margin=-(z * first["sink_sem"] + rel), note=f"tokens {first['tokens']:g}"
                      + (f"; relevance margin {rel:.3g}" if rel else ""))
        c_pre = Check("sink present at the last checkpoint: sink − uniform", last["sink"] - u, ">", 0.0,
                      margin=z * last["sink_sem"], note=f"tokens {last['tokens']:g}")
    else:
        c_abs = Check("sink absent at the first checkpoint: sink − uniform", float("nan"), "<=", 0.0,
                      note="no checkpoint trajectory measured")
        c_pre = Check("sink present at the last checkpoint: sink − uniform", float("nan"), ">", 0.0,
                      note="no checkpoint trajectory measured")
    fin_above = final["sink"] - u > z * final["sink_sem"]
    summ = (f"{len(traj)} training checkpoints measured. The trained model (after {tokens_seen if tokens_seen else '?'} "
            f"tokens): sink {final['sink']:.4f} ± {final['sink_sem']:.4f} vs uniform causal attention {u:.4f} at T={T}"
            f" — {'a sink' if fin_above else 'no sink above uniform'} at the end of its training budget.")
    return evaluate(claim, label, [c_abs, c_pre], measured={"final_sink": final["sink"]}, null={"uniform_sink": u},
                    summary=summ, premises={"n_checkpoints": len(traj)},
                    extra={"tokens_seen": tokens_seen, "final_sink": final["sink"], "final_sink_sem": final["sink_sem"],
                           "uniform_sink": u, "T": T, "final_sink_above_uniform": bool(fin_above),
                           "trajectory": traj},
                    provenance=collect(**(provenance or {})))


# ----------------------------------------------------------------------------- BK-6
@check("BK-6")
def check_bk6(claim: Claim, m: "BookMeasurement") -> ClaimResult:
    """Book ch. 18 §18.6 (open question): do secondary sinks appear or disappear under the θ
    rescale? Tested here is the one direction the seed cites ('large-θ models sometimes lack
    them'), read within the model: fewer secondary sinks per (layer, sequence, head) at the largest
    θ than at the smallest, beyond z·SEM of the paired (same sequences) difference. Premise: there
    are secondary sinks at the smallest θ to lose."""
    summary, model_label = _sweep_of(m), m.label
    z = float(claim.param("z"))
    pts = summary["points"]
    th = _col(pts, "theta")
    i_lo, i_hi = int(np.argmin(th)), int(np.argmax(th))
    sec = _col(pts, "secondary_mean")
    frac = _col(pts, "secondary_frac")
    seq_lo, seq_hi = np.asarray(pts[i_lo]["secondary_seq"], float), np.asarray(pts[i_hi]["secondary_seq"], float)
    drop = float(sec[i_lo] - sec[i_hi])
    se = float(sem(seq_lo - seq_hi))
    chk = Check("secondary sinks per (layer, seq, head): smallest θ − largest θ", drop, ">", 0.0, margin=z * se,
                note=f"θ×{pts[i_lo]['factor']:g}: {sec[i_lo]:.3f} → θ×{pts[i_hi]['factor']:g}: {sec[i_hi]:.3f} "
                     f"(paired SEM {se:.3g})")
    nat = native_point(summary)
    facs = ", ×".join(f"{f:g}" for f in _col(pts, "factor"))
    summ = (f"secondary sinks (column share > BK-1's secondary_sink_share) per (layer, seq, head) over θ×"
            f"{facs}: {np.round(sec, 3).tolist()}; fraction of (layer, seq, head) "
            f"with ≥ 1: {np.round(frac, 3).tolist()}; native {nat['secondary_mean']:.3f}. Change smallest → largest θ "
            f"{-drop:+.3f} ({-drop / se if se > 0 else float('nan'):+.1f} paired SEM); r(log θ, count) "
            f"{pearson(np.log(th), sec)[0]:.2f}. The seed leaves the question open; the verdict answers the cited hint only.")
    per_layer = {f"secondary_sinks θ×{p['factor']:g}": p["secondary_per_layer"] for p in pts}
    return evaluate(claim, model_label, [chk], measured={"secondary_mean": sec}, null={"no_change": 0.0},
                    summary=summ, per_layer=per_layer,
                    premises={"secondary_at_smallest_theta": float(sec[i_lo]),
                              "secondary_at_smallest_theta_se": float(sem(seq_lo)), **sweep_premises(summary)},
                    extra={"theta": th, "factor": _col(pts, "factor"), "secondary_mean": sec, "secondary_frac": frac,
                           "change_smallest_to_largest": -drop, "paired_sem": se,
                           "secondary_positions": [np.asarray(p["secondary_positions"]) for p in pts]},
                    provenance=collect(**summary.get("provenance", {})))


# ----------------------------------------------------------------------------- BK-8
@check("BK-8")
def check_bk8(claim: Claim, m: "BookMeasurement") -> ClaimResult:
    """Book ch. 40 §40.4.1 ('γ-rerise / CKA ↔ grokking', the seed's own speculation): the
    measurable half — that γ re-rises — read on γ by depth at the native θ: with ℓ* the interior
    layer of lowest γ, some earlier layer lies above it beyond both CIs (γ falls) and some later
    layer lies above it beyond both CIs (γ re-rises). The link to grokking is not tested."""
    summary, model_label = _sweep_of(m), m.label
    nat = native_point(summary)
    if "per_layer_ci" not in nat:
        raise KeyError(f"{summary.get('label')}: the native point carries no per-layer γ CI (summarise_sweep adds it)")
    prof = nat["per_layer_ci"][claim.param("gamma_protocol")]
    g, hw = np.asarray(prof["gamma"], float), np.asarray(prof["hw"], float)
    L = g.size
    premises = {"n_layers": L, **sweep_premises(summary)}
    if L >= 3:
        ls = int(np.argmin(g[1:-1])) + 1
        fall = g[:ls] - hw[:ls] - (g[ls] + hw[ls])
        rise = g[ls + 1:] - hw[ls + 1:] - (g[ls] + hw[ls])
        i_f, i_r = int(np.argmax(fall)), ls + 1 + int(np.argmax(rise))
        c_fall = Check("γ falls into the depth minimum: best earlier layer − minimum, beyond CIs", float(fall.max()), ">",
                       0.0, note=f"layer {i_f + 1}: {g[i_f]:.3f} ± {hw[i_f]:.3f} vs minimum layer {ls + 1}: "
                                 f"{g[ls]:.3f} ± {hw[ls]:.3f}")
        c_rise = Check("γ re-rises after it: best later layer − minimum, beyond CIs", float(rise.max()), ">", 0.0,
                       note=f"layer {i_r + 1}: {g[i_r]:.3f} ± {hw[i_r]:.3f}")
    else:
        ls = 0
        c_fall = Check("γ falls into the depth minimum: best earlier layer − minimum, beyond CIs", float("nan"), ">", 0.0)
        c_rise = Check("γ re-rises after it: best later layer − minimum, beyond CIs", float("nan"), ">", 0.0)
    other = "last_query" if claim.param("gamma_protocol") == "all_pairs" else "all_pairs"
    og = np.asarray(nat["per_layer_ci"][other]["gamma"], float)
    summ = (f"γ_{claim.param('gamma_protocol')} by depth at native θ (L={L}): {np.round(g, 3).tolist()}; interior "
            f"minimum at layer {ls + 1}. Not deciding, γ_{other} by depth: {np.round(og, 3).tolist()}. The grokking "
            f"link (a dynamic correlation over training) is not tested.")
    return evaluate(claim, model_label, [c_fall, c_rise], measured={"gamma_per_layer": g},
                    null="a γ that only falls (or only rises) with depth", summary=summ, premises=premises,
                    per_layer={f"gamma_{claim.param('gamma_protocol')}": g,
                               f"gamma_{claim.param('gamma_protocol')}_lo": np.asarray(prof["lo"], float),
                               f"gamma_{claim.param('gamma_protocol')}_hi": np.asarray(prof["hi"], float),
                               f"gamma_{other}": og},
                    extra={"min_layer": ls + 1, "gamma_protocol": claim.param("gamma_protocol")},
                    provenance=collect(**summary.get("provenance", {})))


# ----------------------------------------------------------------------------- BK-10
@check("BK-10")
def check_bk10(claim: Claim, m: "BookMeasurement") -> ClaimResult:
    """Book ch. 18 §18.3 ('it's not a quirk of the BOS token', Gu et al. 2025): with an ordinary
    text token at position 0 (no BOS), the first position still draws a sink — mean A[t,0] above
    uniform causal attention's by z·SEM over sequences. Premise: position 0 holds no BOS.
    ``colsum`` (optional, [L,N,H,T]): the fraction of (layer, head) whose largest column is key 0
    is reported ('park it on the first tokens'), not deciding."""
    f = m.first_position
    if f is None:
        raise ValueError(f"{m.label}: the record carries no first-position sink (BK-10)")
    model_label, sink_seq, T, provenance, colsum = m.label, f.sink_seq, f.T, f.provenance, f.colsum
    bos = bos_words(f.bos_id, T)
    z = float(claim.param("z"))
    x = np.asarray(sink_seq, float)
    s, se, u = float(x.mean()), float(sem(x)), uniform_sink_mass(T)
    chk = Check("first-position sink: mean A[t,0] − uniform", s - u, ">", 0.0, margin=z * se,
                note=f"sink {s:.4f} ± {se:.4f} vs uniform {u:.4f} (T={T}); position 0: {bos}")
    extra = {"sink": s, "sink_sem": se, "uniform_sink": u, "T": T, "bos": bos}
    top = ""
    if colsum is not None:
        cs = np.asarray(colsum, float).mean(1)  # [L,H,T]
        f0 = float((cs.argmax(-1) == 0).mean())
        extra["frac_heads_argmax_key0"] = f0
        top = f"; key 0 is the most-attended position in {f0:.0%} of (layer, head)"
    no_bos = f.bos_id is None
    return evaluate(claim, model_label, [chk], measured=s, null=u,
                    summary=f"position 0 holds {'an ordinary text token' if no_bos else bos}; sink {s:.4f} ± {se:.4f} "
                            f"vs uniform {u:.4f}{top}.",
                    premises={"bos_at_position_0": 0.0 if no_bos else 1.0}, extra=extra,
                    provenance=collect(**(provenance or {})))


# ----------------------------------------------------------------------------- BK-11
def free_energy(p, s, tau):
    """F(p) = −⟨p, s⟩ + τ Σ p log p (0 log 0 = 0), along the last axis."""
    p = np.asarray(p, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -(p * s).sum(-1) + tau * ent.sum(-1)


def softmax(s, tau):
    a = np.asarray(s, float) / tau
    a = a - a.max(-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(-1, keepdims=True)


@dataclass(frozen=True)
class FreeEnergyDraws:
    """BK-11's inputs, per τ of ``taus``: random scores ``s [n, dim]``, the weights of the map under test
    ``p = weights_fn(s, τ)`` and the comparison points ``q [n_draws + dim, n, dim]`` (Dirichlet(1) draws,
    then the simplex vertices)."""

    taus: tuple
    scores: tuple
    weights: tuple
    draws: tuple
    n_draws: int


def free_energy_inputs(claim: Claim, weights_fn=softmax) -> FreeEnergyDraws:
    rng = np.random.default_rng(int(claim.param("seed")))
    n, dim, m = int(claim.param("n_vectors")), int(claim.param("dim")), int(claim.param("n_draws"))
    scores, weights, draws = [], [], []
    for tau in claim.param("taus"):
        s = rng.normal(0, float(claim.param("score_sd")), (n, dim))
        weights.append(np.asarray(weights_fn(s, tau), float))
        draws.append(np.concatenate([rng.dirichlet(np.ones(dim), (m, n)),
                                     np.broadcast_to(np.eye(dim)[:, None], (dim, n, dim))]))
        scores.append(s)
    return FreeEnergyDraws(taus=tuple(claim.param("taus")), scores=tuple(scores), weights=tuple(weights),
                           draws=tuple(draws), n_draws=m)


@check("BK-11")
def check_bk11(claim: Claim, rec: "AlgebraMeasurement") -> ClaimResult:
    """Book ch. 40 §40.3 (Kim 2026; 'that the softmax minimizes the free energy is a derivation'):
    p* = softmax(s/τ) minimises F(p) = −⟨p, s⟩ + τ Σ p log p over the simplex. Oracle: the Gibbs
    identity F(q) − F(p*) = τ·KL(q ‖ p*) ≥ 0 for every q, checked on Dirichlet draws q (and the
    simplex vertices) at random scores; independent of how the weights under test were computed."""
    d = rec.free_energy
    if d is None:
        raise ValueError(f"{rec.label}: the record carries no BK-11 inputs (free_energy_inputs)")
    m = d.n_draws
    worst_gap, worst_id = np.inf, 0.0
    for tau, s, p, q in zip(d.taus, d.scores, d.weights, d.draws):
        fq, fp = free_energy(q, s, tau), free_energy(p, s, tau)
        gap = fq - fp  # ≥ 0 at the minimiser
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) - np.log(np.maximum(p, 1e-300))), 0.0).sum(-1)
        worst_gap = min(worst_gap, float(gap.min()))
        worst_id = max(worst_id, float(np.abs(gap - tau * kl).max()))
    tol = claim.tolerance.value
    c_min = Check("min over draws of F(q) − F(p*) (p* a minimum)", worst_gap, ">=", -tol)
    c_id = Check("max |F(q) − F(p*) − τ·KL(q‖p*)| (Gibbs identity)", worst_id, "<", tol)
    return evaluate(claim, rec.label, [c_min, c_id], measured={"min_gap": worst_gap, "identity_err": worst_id},
                    summary=f"softmax(s/τ) vs {m} Dirichlet draws + vertices, τ ∈ {claim.param('taus')}: min F gap "
                            f"{worst_gap:.3g}, Gibbs-identity error {worst_id:.2g}.",
                    extra={"taus": claim.param("taus")}, provenance=collect(oracle="Gibbs variational identity"))


# ----------------------------------------------------------------------------- measurement records
def bos_id_of(provenance: dict, label: str) -> int | None:
    """What position 0 holds, from a measurement's data provenance (``bos_id``; absent: no BOS, as
    :func:`suite.provenance.collect` keeps no None). A record without the data's provenance is an error, never
    read as "no BOS" (that would let BK-10's premise pass unseen)."""
    if "bos_mode" not in provenance:
        raise ValueError(f"{label}: the measurement records no data provenance (bos_mode), so what position 0 "
                         "holds is unknown")
    return provenance.get("bos_id")


@dataclass(frozen=True)
class FirstPositionSink:
    """BK-10's inputs: mean A[t,0] (t ≥ 1, over layers and heads) per sequence, what position 0 holds,
    and (from a model's real pass) its column sums for the argmax-key-0 fraction, reported."""

    sink_seq: Any  # [N]
    T: int
    bos_id: int | None  # the token at position 0 of every window (provenance), None: an ordinary text token
    provenance: dict = field(default_factory=dict)
    colsum: Any = None  # [L,N,H,T] or None


@dataclass(frozen=True)
class Pretraining:
    """BK-5's inputs: the sink along the entry's own training checkpoints (``{"tokens", "sink",
    "sink_sem"}`` in training order, the first at initialisation) and the trained model's own."""

    trajectory: tuple
    final: dict  # {"sink", "sink_sem"}: the trained model's BK-1 native-θ point
    T: int
    tokens_seen: int | None
    provenance: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BookMeasurement:
    """One model's record: its BK-1 θ-sweep summary (:func:`summarise_sweep`; BK-1/2/6/8), its
    first-position sink (BK-10) and, for a trained-here zoo entry, its training trajectory (BK-5)."""

    label: str
    seed: int = 0
    summary: dict | None = None
    first_position: FirstPositionSink | None = None
    pretraining: Pretraining | None = None


@dataclass(frozen=True)
class AxesMeasurement:
    """BK-4's inputs: each model's two axes at its native θ (:func:`model_axes`)."""

    label: str
    axes: tuple


@dataclass(frozen=True)
class AlgebraMeasurement:
    """The algebra's record: BK-3's quadrature oracle and Hypothesis search, BK-11's free-energy draws."""

    label: str
    fractional: FractionalOrder | None = None
    free_energy: FreeEnergyDraws | None = None


def _sweep_of(m: BookMeasurement) -> dict:
    if m.summary is None:
        raise ValueError(f"{m.label}: the record carries no θ-sweep summary (BK-1/2/6/8 read one)")
    return m.summary


# ----------------------------------------------------------------------------- targets and measurements
#: the trained-here zoo's RoPE entries (GPT-NeoX with rotary dims): the base and its seed twins
ZOO_ROPE = ("rope", "rope-seedw", "rope-seedd", "rope-seedwd")
#: their architecture classes (the registry's applies_to vocabulary), as fixtures.targets.architecture would read them
ZOO_ARCH = frozenset({"softmax-attention", "rope", "all-routers", "trained-zoo"})
AXES_LABEL, ALGEBRA_LABEL = "across-models", "algebra"


def _zoo_rope_entries() -> list[str]:
    """Names of the trained-here zoo's RoPE entries, read from fixtures.zoo_recipes."""

    entries = zoo_recipes.ZOO_ENTRIES
    return [n for n in zoo_recipes.TRANSFORMERS if entries[n].arch == "gpt_neox" and entries[n].rotary > 0]


def zoo_rope_targets(options) -> list[Target]:
    """Each RoPE zoo entry (mark ``zoo``), trained here on first use."""
    return [Target(label=f"zoo-{e}", ref=e, marks=("zoo",), arch=ZOO_ARCH, group=f"zoo-{e}") for e in ZOO_ROPE]


def rope_sweep_summary(spec, options, native=None) -> dict:
    """The BK-1 θ sweep of ``spec`` (:func:`fixtures.rope.theta_sweep`: one verified pass per θ,
    disk-cached), summarised once per session (the sweep targets and BK-4 share it); ``native``: see
    :func:`fixtures.rope.theta_sweep`. Raises WeightsUnavailable."""

    bk1 = registry()["BK-1"]
    return cache.memo(("sweep-summary", spec.label, spec.ref, options.key(), options.data_dir), lambda: summarise_sweep(
        bk1, theta_sweep(spec, options, bk1.param("theta_factors"), native=native), seed=options.seed))


def zoo_spec(entry: str, options):
    """The ModelSpec of a trained-here zoo entry (trained on first use, then cached)."""

    return ModelSpec(label=f"zoo-{entry}", source="local", ref=str(zoo_entry_dir(entry, options)))


def zoo_summary(entry: str, options) -> dict:
    """A RoPE zoo entry's BK-1 sweep summary; its native θ is the zoo measurement PR-1/SC-1 use (same
    model, same sequences), not a second pass."""

    assert entry in _zoo_rope_entries(), f"{entry} is no longer a RoPE entry of fixtures.zoo: update ZOO_ROPE"
    return rope_sweep_summary(zoo_spec(entry, options), options, native=lambda: transformer_measurement(entry, options))


@measurement("rope-zoo-entry", subjects=zoo_rope_targets)
def zoo_measurement(target: Target, options) -> BookMeasurement:
    """BK-1/6/8 (the sweep), BK-10 (its native point) and BK-5 (the entry's own training checkpoints,
    fixtures.zoo_trajectory: the sink mass at each on the 150 × 128 validation windows; the final model's
    BK-1 native-θ sink beside them) of a RoPE zoo entry."""

    entry, label = target.ref, target.label
    summ = zoo_summary(entry, options)
    nat = native_point(summ)
    prov = summ.get("provenance") or {}
    r = entry_recipe(entry, options)
    traj = tuple({"tokens": p["tokens"], "sink": p["first"], "sink_sem": p["first_sem"]}
                 for p in entry_info(zoo_entry_dir(entry, options)).get("trajectory") or [])
    T = int(summ["T"])
    return BookMeasurement(
        label=label, seed=options.seed, summary=summ,
        first_position=FirstPositionSink(sink_seq=nat["sink_seq"], T=T, bos_id=bos_id_of(prov, label), provenance=prov),
        pretraining=Pretraining(trajectory=traj, final={"sink": nat["sink"], "sink_sem": nat["sink_sem"]}, T=T,
                                tokens_seen=r.steps * r.batch * r.seq_len, provenance=prov))


@measurement("first-position", subjects=model_targets)
def first_position_measurement(target: Target, options) -> BookMeasurement:
    """BK-10 on a model's real pass (any softmax-attention model): mean A[t,0] per sequence."""

    m = measure_pass(target.ref, options, "real")
    return BookMeasurement(label=target.label, seed=options.seed, first_position=FirstPositionSink(
        sink_seq=sink_mass(m.colsum).mean((0, 2)), T=int(m.colsum.shape[-1]), bos_id=bos_id_of(m.provenance, target.label),
        provenance=m.provenance, colsum=m.colsum))


@measurement("rope-axes", subjects=lambda options: [
    Target(label=AXES_LABEL, marks=("zoo",), arch=frozenset({"rope", "trained-zoo"}))])
def axes_measurement(target: Target, options) -> AxesMeasurement:
    """BK-4: every RoPE model of the run and the trained-here RoPE zoo, at native θ (the BK-1 sweeps
    reused). A model that is not a RoPE transformer has no γ to read; one offline raises WeightsUnavailable."""

    axes = [model_axes(rope_sweep_summary(spec, options)) for spec in run_specs(tuple(options.models))
            if "rope" in architecture(spec)]
    axes += [model_axes(zoo_summary(entry, options)) for entry in ZOO_ROPE]
    return AxesMeasurement(label=target.label, axes=tuple(axes))


@measurement("book-algebra", subjects=lambda options: [Target(label=ALGEBRA_LABEL, arch=frozenset({"algebra"}))])
def algebra_measurement(target: Target, options) -> AlgebraMeasurement:
    """BK-3 (the claimed map α = (γ−1)/2 against quadrature, grid and Hypothesis search) and BK-11 (softmax
    against the free energy), model-free."""

    reg = registry()
    with isolated_examples():  # the draws depend on the property alone (suite.search)
        return AlgebraMeasurement(label=target.label, fractional=fractional_order_inputs(reg["BK-3"]),
                                  free_energy=free_energy_inputs(reg["BK-11"]))


@measurement("theta-sweep", subjects=model_targets)
def sweep_measurement(target: Target, options) -> BookMeasurement:
    """BK-1/2/6/8 on a model: its θ sweep summarised (:func:`rope_sweep_summary`)."""
    return BookMeasurement(label=target.label, seed=options.seed, summary=rope_sweep_summary(target.ref, options))
