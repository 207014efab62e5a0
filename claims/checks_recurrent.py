"""Claim logic of the recurrent routers: MB-1..3 (Mamba, §5.2), RW-1..4 (RWKV-4, §5.3, App. C.4),
TF-8 (all routers, §5, Table 2), and the two geometric legs of the signature outside attention (§3, §5,
App. B.3/B.4, Fig. 3): low-rank collapse against the Gaussian (Marchenko–Pastur) null — MB-4 (Mamba's input
matrix B), RW-5 (RWKV's keys) — and key-norm stratification against 1/√(2d) — MB-5 (Mamba's effective key
Δ·B), RW-6 (RWKV's keys). The statistics are the transformer claims' own: VE@r from
:mod:`probes.geometry`, the Gaussian null of TF-2 (:func:`probes.geometry.gaussian_ve_null`), the pooled
key-norm CV and its bootstrap of TF-1 (:func:`probes.stats.pooled_cv_bootstrap`).

The family follows :mod:`suite.family`: :func:`routers` lists the routers of the run (each ``--model``, the
trained-here zoo's ``mamba``/``rwkv``, the paper's hub checkpoints); the measurements ``mamba-pass`` (MB-*),
``rwkv-pass`` (RW-*) and ``router-vs-transformers`` (TF-8) make one record of each
(:class:`RouterMeasurement`, :class:`Tf8Measurement`) from the cached pass of :mod:`fixtures.recurrent`, and
every ``@check`` is ``check(claim, record) -> ClaimResult``, a
pure function. Every constant comes from the claim's registry record (``claims/registry/recurrent.toml``),
every statistic from :mod:`probes.stats`. Layer values are means over sequences; margins are z × SEM over
sequences (z = ``params.z``).

Every check supplies the quantities of its claim's registry preconditions (``premises=``):
``lm_gain_nats`` (functioning model: unigram NLL − model NLL of the measured pass) and, where the
claim acts on a concentration, ``peak_concentration`` / ``uniform_concentration`` (+ ``_se``) of the
real (Mamba) or learned-decay (RWKV) operator against its uniform reference — H_T/T for the
row-stochastic RWKV routing, each row's own mass spread uniformly for Mamba's unnormalised R.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from fixtures.adapters import ADAPTERS, ALL_ROUTERS
from fixtures.catalogue import DEFAULT_MODEL, PAPER_MAMBA, PAPER_RWKV
from fixtures.measure import measure as measure_transformer
from fixtures.models import ModelSpec, in_local_hub_cache, resolve
from fixtures.recurrent import LEARNED, NO_DECAY, mamba_measurement, rwkv_measurement
from fixtures.targets import architecture, model_targets, run_specs
from probes.geometry import gaussian_norm_cv_baseline, gaussian_ve_null_chunked, mp_ve_null, ve_from_eigvals
from probes.stats import (least_lm_gain, onset_fraction, pearson, pooled_cv_bootstrap, pooled_cv_bootstrap_sums,
                          relative_spread, sem, uniform_share)
from suite.errors import WeightsUnavailable
from suite.family import Target, check, measurement
from suite.provenance import collect
from suite.registry import registry
from suite.results import Check, evaluate


def profile(conc) -> tuple[np.ndarray, np.ndarray]:
    """``[L,N]`` per-sequence layer values → (mean [L], SEM [L])."""
    c = np.asarray(conc, float)
    return c.mean(1), np.atleast_1d(sem(c, axis=1))


#: onset depth of a profile that never crosses the threshold (TF-8, RW-2: 'never = +inf')
NEVER = math.inf


def _fmt_onset(pct) -> str:
    """'17 %' or 'never' for an onset given in percent of depth (None / inf = never)."""
    return "never" if pct is None or not np.isfinite(pct) else f"{pct:.0f} %"


def _pct(x):
    return None if not np.isfinite(x) else 100.0 * x


def _prov(m, **kw):
    return collect(**{**(getattr(m, "provenance", None) or {}), **kw})


def concentration_premise(conc, uniform, prefix: str = "") -> dict:
    """Premise quantities of "a concentration above uniform routing" from ``conc [L,N]`` and its uniform
    reference (``[L,N]`` per sequence, ``[L]`` or a scalar): at the layer where the mean excess over the
    reference is largest, the mean concentration, the mean reference and the SEM of the paired
    per-sequence excess (the margin of the premise)."""
    c = np.asarray(conc, float)
    u = np.asarray(uniform, float)
    u = np.broadcast_to(u[:, None] if u.ndim == 1 else u, c.shape)
    e = c - u
    k = int(np.argmax(e.mean(1)))
    return {f"{prefix}peak_concentration": float(c[k].mean()),
            f"{prefix}peak_concentration_se": float(np.atleast_1d(sem(e[k]))[0]),
            f"{prefix}uniform_concentration": float(u[k].mean())}


def _mamba_premises(m) -> dict:
    """Functioning model and concentration of Mamba's operator R against its own uniform reference (each row's
    mass spread uniformly over its sources: R is unnormalised, so H_T/T is not its uniform level)."""
    return {"lm_gain_nats": m.lm_gain(), **concentration_premise(m.conc, m.uniform_rows)}


def _rwkv_premises(m, intervened=()) -> dict:
    """Functioning model and concentration of the learned-decay operator (s = 1, the model as trained); with
    ``intervened`` (the decay scales of the re-run passes the decision reads) also the least LM gain among
    those changed models (the ``intervened-model-functions`` premise)."""
    i = m.index(LEARNED)
    out = {"lm_gain_nats": m.lm_gain(LEARNED),
           **concentration_premise(m.conc[i], uniform_share(m.colshare.shape[-1]))}
    if intervened:
        out["intervened_lm_gain_nats"] = least_lm_gain(m.unigram_nll, [float(m.nll[m.index(s)]) for s in intervened])
    return out


# ----------------------------------------------------------------------------- measurement records
@dataclass(frozen=True)
class RouterMeasurement:
    """What MB-1..5 (a Mamba) or RW-1..6 (an RWKV-4) read: the router's cached measured pass
    (:class:`fixtures.recurrent.MambaMeasurement` / ``RwkvMeasurement``), the report's model label, and
    the run's seed (MB-4/RW-5's simulated Gaussian null, MB-5/RW-6's bootstrap over sequences)."""

    label: str
    router: str  # "mamba" | "rwkv"
    measurement: Any
    seed: int = 0
    # the same recipe's untrained model (trained-here entries only): the nearest alternative of MB-4/5, RW-5/6
    # (the geometry made by the architecture alone); None where no recipe rebuilds it (hub checkpoints)
    untrained: Any = None


@dataclass(frozen=True)
class Tf8Measurement:
    """What TF-8 reads: one recurrent router's layer concentration ``conc [L,N]`` (Mamba: mean over channels
    of |α|; RWKV: the learned-decay WKV) with its uniform reference and LM gain, against the run's pretrained
    transformers ``{label: {"conc": [L,N] head-averaged max share, "uniform": H_T/T, "lm_gain": nats}}``."""

    label: str
    router: str  # "mamba" | "rwkv"
    conc: Any
    uniform: Any  # [L,N], [L] or a scalar
    lm_gain: float
    transformers: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- Mamba
@check("MB-1")
def check_mb1(claim, rec):
    """§5.2 / Table 5: Mamba's concentration "onsets late (56-81%) ... and stays weak (peak 0.22-0.31)".
    Premise: a functioning model only (the onset is what the claim states)."""
    m, model_label = rec.measurement, rec.label
    thr = claim.param("onset_threshold")
    z = claim.param("z")
    mean, se = profile(m.conc)
    L = mean.size
    k = int(np.argmax(mean))
    peak, peak_se = float(mean[k]), float(se[k])
    on = onset_fraction(mean, thr, never=NEVER)
    late_min = claim.param("late_onset_min_pct") / 100.0
    checks = [
        Check("peak concentration exceeds the onset threshold (it onsets)", peak, ">", thr, z * peak_se),
        Check("onset depth is late (≥ paper's lowest Mamba onset, less one layer of quantisation)", on, ">=",
              late_min - 1.0 / L, note=f"onset {'never' if not np.isfinite(on) else f'{100 * on:.0f} %'}"),
        Check("peak stays weak (below one-shot attention's lowest peak)", peak, "<",
              claim.param("weak_peak_max"), z * peak_se),
    ]
    rn_mean, _ = profile(m.conc_rownorm)
    lo, hi = claim.paper_values["onset_pct"]
    plo, phi = claim.paper_values["peak"]
    return evaluate(
        claim, model_label, checks, measured={"onset_pct": _pct(on), "peak": peak},
        null={"uniform_share": uniform_share(m.colshare.shape[1]),
              "uniform_rows": float(np.asarray(m.uniform_rows, float).mean(1)[k])},
        premises=_mamba_premises(m),
        summary=f"Mamba hidden attention (mean over channels of |α|): onset {_fmt_onset(_pct(on))}, peak {peak:.3f}",
        per_layer={"concentration": mean, "sem": se, "concentration_rownorm": rn_mean},
        extra={"router": "mamba", "depth": ((np.arange(L) + 1) / L), "onset_threshold": thr,
               "in_paper_onset_range": bool(np.isfinite(on) and lo <= 100 * on <= hi),
               "in_paper_peak_range": bool(plo <= peak <= phi),
               "peak_rownorm": float(rn_mean.max()),
               "onset_rownorm_pct": _pct(onset_fraction(rn_mean, thr, never=NEVER)),
               "nll": m.nll, "unigram_nll": m.unigram_nll},
        provenance=_prov(m, n_seqs=int(m.conc.shape[1])),
    )


@check("MB-2")
def check_mb2(claim, rec):
    """§5.2 / Fig. 2 left: freezing Δ to its per-position mean flattens the concentration; freezing B, C too
    drives it near uniform. Premises: a functioning model and a concentration above R's uniform reference.
    Hard null: a gate that does not select (Δ independent of content) has a frozen-Δ gap of exactly 0."""
    m, model_label = rec.measurement, rec.label
    thr = claim.param("onset_threshold")
    z = claim.param("z")
    real, real_se = profile(m.conc)
    fz, fz_se = profile(m.conc_frozen_dt)
    fa = np.asarray(m.conc_frozen_all, float)
    diff = np.asarray(m.conc, float) - np.asarray(m.conc_frozen_dt, float)  # [L,N] paired
    k = int(np.argmax(real))
    gap = float(real[k] - fz.max())
    gap_se = float(np.atleast_1d(sem(diff[k]))[0])
    u = uniform_share(m.colshare.shape[1])
    j = int(np.argmax(fa))
    peak_all = float(fa[j])
    u_all = float(np.asarray(m.uniform_rows_frozen_all, float)[j])  # the all-frozen operator's own uniform level
    i = int(np.argmax(fz))
    u_fz = float(np.asarray(m.uniform_rows_frozen_dt, float).mean(1)[i])  # the frozen-Δ operator's own uniform level
    checks = [
        Check("peak gap: real peak − frozen-Δ peak > 0", gap, ">", 0.0, z * gap_se),
        Check("frozen-Δ operator never onsets (flattened at every layer)", float(fz.max()), "<", thr,
              z * float(fz_se[i])),
        Check("flattened entirely: frozen-Δ peak nearer its uniform reference than the real peak",
              abs(float(fz[i]) - u_fz), "<", abs(float(real.max()) - float(fz[i])),
              note=f"frozen-Δ peak {fz[i]:.4f}, its uniform reference {u_fz:.4f}, real peak {real.max():.4f}"),
        Check("freezing B, C too: peak nearer its uniform reference (row masses spread uniformly) than the real peak",
              abs(peak_all - u_all), "<", abs(float(real.max()) - peak_all)),
    ]
    return evaluate(
        claim, model_label, checks, measured={"peak_gap": gap, "peak_real": float(real.max()),
                                              "peak_frozen_dt": float(fz.max()), "peak_frozen_all": peak_all},
        null={"uniform_share": u, "uniform_rows_frozen_dt": u_fz, "uniform_rows_frozen_all": u_all},
        premises=_mamba_premises(m),
        summary=f"Δ frozen to its per-position mean: peak {real.max():.3f} → {fz.max():.3f} (gap {gap:+.3f}); "
                f"Δ, B, C frozen: {peak_all:.3f} (its uniform reference {u_all:.3f}; H_T/T {u:.3f})",
        per_layer={"real": real, "real_sem": real_se, "frozen_dt": fz, "frozen_dt_sem": fz_se, "frozen_all": fa,
                   "gap": diff.mean(1), "uniform_rows": np.asarray(m.uniform_rows, float).mean(1),
                   "uniform_rows_frozen_dt": np.asarray(m.uniform_rows_frozen_dt, float).mean(1),
                   "uniform_rows_frozen_all": m.uniform_rows_frozen_all},
        extra={"router": "mamba", "depth": (np.arange(real.size) + 1) / real.size, "onset_threshold": thr},
        provenance=_prov(m, n_seqs=int(m.conc.shape[1]), freezing="mean over sequences per (position, channel)"),
    )


@check("MB-3")
def check_mb3(claim, rec):
    """§5.2: CV(Δ) "tracks the concentration peak layer by layer while the static input-projection norm
    stays flat". The tracking must be significant over the L layers (Pearson p < alpha)."""
    m, model_label = rec.measurement, rec.label
    conc, _ = profile(m.conc)
    r_delta, p_delta = pearson(m.cv_delta, conc)
    r_static, _ = pearson(m.xproj_b_weight_norm, conc)
    s_delta, s_static = relative_spread(m.cv_delta), relative_spread(m.xproj_b_weight_norm)
    alpha = claim.param("alpha")
    checks = [
        Check("CV(Δ) tracks concentration across layers: Pearson r", r_delta, ">", claim.param("r_min")),
        Check(f"the tracking is significant over the {conc.size} layers: Pearson p (two-sided)", p_delta, "<", alpha,
              note=f"r = {r_delta:+.2f}, p = {p_delta:.3g}"),
        Check("CV(Δ) tracks better than the static input-projection norm: r(Δ) − |r(static)|",
              r_delta - abs(r_static) if np.isfinite(r_static) else r_delta, ">", 0.0),
        Check("static norm flatter across layers than CV(Δ): relative spread", s_static, "<", s_delta),
    ]
    return evaluate(
        claim, model_label, checks,
        measured={"r_cv_delta": r_delta, "p_cv_delta": p_delta, "r_static_norm": r_static,
                  "spread_cv_delta": s_delta, "spread_static_norm": s_static},
        null={"r": 0.0, "alpha": alpha},
        premises=_mamba_premises(m),
        summary=f"r(CV Δ, concentration) = {r_delta:+.2f} (p = {p_delta:.2g}, {conc.size} layers); "
                f"r(static x_proj-B norm, concentration) = {r_static:+.2f}",
        per_layer={"concentration": conc, "cv_delta": m.cv_delta, "static_norm": m.xproj_b_weight_norm,
                   "b_norm_cv": m.b_norm_cv, "delta_mean": m.delta_mean},
        extra={"router": "mamba"},
        provenance=_prov(m, n_layers=int(conc.size)),
    )


# ----------------------------------------------------------------------------- RWKV
def _variant_profile(m, scale):
    return profile(m.conc[m.index(scale)])


@check("RW-1")
def check_rw1(claim, rec):
    """§5.3 / Fig. 2 right: killing the carry "removes the concentration completely: it sits flat at 0.015".
    Given the premise (a learned-decay concentration above H_T/T) the checks follow from the operator
    (two sources per row, max share ≤ 2/T); the premise is what the measurement decides."""
    m, model_label = rec.measurement, rec.label
    thr = claim.param("onset_threshold")
    z = claim.param("z")
    mean, se = _variant_profile(m, math.inf)
    learned, learned_se = _variant_profile(m, LEARNED)
    T = m.colshare.shape[-1]
    bound = 2.0 / T
    k = int(np.argmax(mean))
    j = int(np.argmax(learned))
    checks = [
        Check("killed carry never onsets", float(mean.max()), "<", thr, z * float(se[k])),
        Check("killed carry is flat at the two-source bound 2/T at every layer", mean, "all<",
              bound + claim.tolerance.value),
        Check("killing the carry removes the learned-decay concentration: learned peak − killed peak",
              float(learned[j] - mean.max()), ">", 0.0, z * float(np.hypot(learned_se[j], se[k]))),
    ]
    return evaluate(claim, model_label, checks,
                    measured={"max_share_killed": float(mean.max()), "peak_learned": float(learned[j])},
                    null={"two_source_bound": bound, "uniform_share": uniform_share(T)},
                    premises=_rwkv_premises(m, intervened=(math.inf,)),
                    summary=f"carry killed: max layer share {mean.max():.4f} (bound 2/T = {bound:.4f}); learned decay "
                            f"peak {learned[j]:.3f} (uniform H_T/T {uniform_share(T):.3f})",
                    per_layer={"killed": mean, "killed_sem": se, "learned": learned},
                    extra={"router": "rwkv",
                           "by_construction": "given the premise (learned peak > H_T/T) every check follows from the "
                                              "operator: a killed carry leaves two sources per row, max share <= 2/T "
                                              "< H_T/T"},
                    provenance=_prov(m))


@check("RW-2")
def check_rw2(claim, rec):
    """§5.3: "more carry brings the onset earlier": no decay onsets before the learned decay does.
    Premises: a functioning model and a learned-decay concentration above H_T/T to move."""
    m, model_label = rec.measurement, rec.label
    thr = claim.param("onset_threshold")
    full, _ = _variant_profile(m, NO_DECAY)
    learned, _ = _variant_profile(m, LEARNED)
    o_full, o_learned = onset_fraction(full, thr, never=NEVER), onset_fraction(learned, thr, never=NEVER)
    checks = [
        Check("no decay (full carry) onsets", o_full, "<", math.inf),
        Check("full carry onsets earlier than the learned decay", o_full, "<", o_learned),
    ]
    return evaluate(claim, model_label, checks,
                    measured={"onset_no_decay_pct": _pct(o_full), "onset_learned_pct": _pct(o_learned),
                              "peak_no_decay": float(full.max()), "peak_learned": float(learned.max())},
                    null="onset of the learned decay",
                    premises=_rwkv_premises(m, intervened=(NO_DECAY,)),
                    summary=f"onset: no decay {_fmt_onset(_pct(o_full))}, learned {_fmt_onset(_pct(o_learned))}",
                    per_layer={"no_decay": full, "learned": learned},
                    extra={"router": "rwkv", "onset_threshold": thr}, provenance=_prov(m))


def _nanmean(x) -> float:
    """Mean over the finite values (NaN when there are none, e.g. the content-blind router's r(norm))."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def _sweep_peaks(m):
    """Finite decay scales in increasing order (more decay) with the peak over layers of the mean max share,
    its SEM at the peak layer, and the content-blind router's peak at the same scale."""
    idx = sorted((i for i, s in enumerate(m.scales) if np.isfinite(s)), key=lambda i: m.scales[i])
    peaks, ses = [], []
    for i in idx:
        mean, se = profile(m.conc[i])
        k = int(np.argmax(mean))
        peaks.append(float(mean[k]))
        ses.append(float(se[k]))
    blind = np.array([float(np.max(m.conc_blind[i])) for i in idx])
    return idx, np.array(peaks), np.array(ses), blind


@check("RW-3")
def check_rw3(claim, rec):
    """§5.3 / Fig. 6 left: "peak concentration rises from 0.083 under heavy decay to 0.288 at full carry".

    Hard null: the content-blind router (k = 0, u = 0) with the same decays also falls monotonically with
    decay (from H_T/T at w = 0 towards 1.5/T), so a monotone fall alone is decay geometry. The claim's rise
    must exceed the content-blind router's rise over the same sweep."""
    m, model_label = rec.measurement, rec.label
    z = claim.param("z")
    idx, peaks, ses, blind = _sweep_peaks(m)
    steps = peaks[:-1] - peaks[1:]  # more decay → lower peak: each step should be ≥ 0
    step_margin = z * np.sqrt(ses[:-1] ** 2 + ses[1:] ** 2)
    bad = np.flatnonzero(steps + step_margin < 0)
    total = float(peaks[0] - peaks[-1])
    total_se = float(np.hypot(ses[0], ses[-1]))
    blind_total = float(blind[0] - blind[-1])
    checks = [
        Check("monotone: no step of the sweep raises the peak beyond z·SEM", int(bad.size), "<=", 0,
              note=f"violating steps {bad.tolist()}" if bad.size else ""),
        Check("full carry peak − heaviest decay peak > 0", total, ">", 0.0, z * total_se),
        Check("the rise beats the content-blind router (k = 0, u = 0) under the same sweep: "
              "(full − heaviest) − (blind full − blind heaviest)", total - blind_total, ">", 0.0,
              z * total_se + claim.param("float_tolerance"),
              note=f"measured rise {total:+.4f}, content-blind rise {blind_total:+.4f}"),
    ]
    scales = [m.scales[i] for i in idx]
    return evaluate(claim, model_label, checks,
                    measured={"peak_full_carry": float(peaks[0]), "peak_heavy_decay": float(peaks[-1]),
                              "rise": total, "blind_rise": blind_total},
                    null={"content_blind_peaks": blind, "content_blind_rise": blind_total},
                    premises=_rwkv_premises(m, intervened=[s for s in scales if s != LEARNED]),
                    summary=f"peak over {len(scales)} decay scales: {peaks[0]:.3f} (s={scales[0]:g}) → "
                            f"{peaks[-1]:.3f} (s={scales[-1]:g}); content-blind router "
                            f"{blind[0]:.3f} → {blind[-1]:.3f}",
                    per_layer={f"s={s:g}": profile(m.conc[i])[0] for s, i in zip(scales, idx)},
                    extra={"router": "rwkv", "scales": scales, "peaks": peaks, "peak_sem": ses, "blind_peaks": blind,
                           "excess_over_blind": peaks - blind,
                           "r_norm": [_nanmean(m.r_norm[i]) for i in idx],
                           "r_pos": [_nanmean(m.r_pos[i]) for i in idx]},
                    provenance=_prov(m, content_blind="k = 0, u = 0, the model's time_decay at each scale"))


def _r_seq(m, i):
    """Per-sequence (layer-averaged) r_norm and r_pos at variant ``i``: two ``[N]`` arrays."""
    return np.nanmean(m.r_norm[i], axis=0), np.nanmean(m.r_pos[i], axis=0)


@check("RW-4")
def check_rw4(claim, rec):
    """§5.3 / Fig. 6 right, each statement of the text a check:
    full carry content-picked (r(norm) > r(pos)); the learned decay balanced (|r(norm) − r(pos)| smaller
    than at either end of the sweep: "the trained model sits near the hinge"); heavy decay position-picked
    (r(pos) > r(norm)); "adding decay tips the balance to position, whose correlation climbs": r(pos) rises
    from the learned decay to the heaviest, and from full carry to the heaviest ("the decay trades the two")."""
    m, model_label = rec.measurement, rec.label
    z = claim.param("z")
    finite = sorted(s for s in m.scales if np.isfinite(s))
    full, heavy = finite[0], finite[-1]
    rn_f, rp_f = _r_seq(m, m.index(full))
    rn_l, rp_l = _r_seq(m, m.index(LEARNED))
    rn_h, rp_h = _r_seq(m, m.index(heavy))
    d_f, d_l, d_h = rn_f - rp_f, rn_l - rp_l, rn_h - rp_h  # content minus recency, per sequence
    ends = min(abs(float(d_f.mean())), abs(float(d_h.mean())))
    checks = [
        Check("full carry is content-picked: r(norm) − r(pos)", float(d_f.mean()), ">", 0.0, z * float(sem(d_f))),
        Check("learned decay is balanced: |r(norm) − r(pos)| below both ends of the sweep (near the hinge)",
              abs(float(d_l.mean())), "<", ends, z * float(sem(d_l)),
              note=f"|d| full {abs(d_f.mean()):.2f}, learned {abs(d_l.mean()):.2f}, heavy {abs(d_h.mean()):.2f}"),
        Check("heavy decay is position-picked: r(pos) − r(norm)", float(-d_h.mean()), ">", 0.0, z * float(sem(d_h))),
        Check("adding decay raises the recency correlation: r(pos) heavy − learned", float((rp_h - rp_l).mean()),
              ">", 0.0, z * float(sem(rp_h - rp_l))),
        Check("the decay trades the two: r(pos) heavy − full", float((rp_h - rp_f).mean()),
              ">", 0.0, z * float(sem(rp_h - rp_f))),
    ]
    mean = lambda x: float(np.mean(x))  # noqa: E731
    return evaluate(claim, model_label, checks,
                    measured={"full_r_norm": mean(rn_f), "full_r_pos": mean(rp_f), "learned_r_norm": mean(rn_l),
                              "learned_r_pos": mean(rp_l), "heavy_r_norm": mean(rn_h), "heavy_r_pos": mean(rp_h)},
                    null={"r": 0.0},
                    premises=_rwkv_premises(m, intervened=(full, heavy)),
                    summary=f"full carry r(norm) {mean(rn_f):+.2f} / r(pos) {mean(rp_f):+.2f}; learned "
                            f"{mean(rn_l):+.2f}/{mean(rp_l):+.2f}; heavy (s={heavy:g}) "
                            f"{mean(rn_h):+.2f}/{mean(rp_h):+.2f}",
                    extra={"router": "rwkv", "full_scale": full, "heavy_scale": heavy,
                           "full_r_pos_negative": bool(mean(rp_f) < 0)},
                    provenance=_prov(m, correlation="Pearson across sources s < T−n_late, per (layer, sequence), "
                                                    "mean over layers"))


# ----------------------------------------------------------------------------- TF-8
@check("TF-8")
def check_tf8(claim, rec):
    """§5 / Table 2: transformers onset earlier and peak higher than the recurrent router.

    ``rec`` (:class:`Tf8Measurement`): the recurrent router's layer concentration ``conc [L,N]``, its uniform
    reference (``[L,N]``, ``[L]`` or a scalar), LM gain and provenance, and ``transformers = {label: {"conc":
    [L,N], "uniform": H_T/T, "lm_gain": nats}}`` — the run's pretrained transformers (Table 2 compares
    pretrained checkpoints). Premises: every compared model works on the text (the smallest LM gain), and the
    recurrent router concentrates above its uniform reference (the ordering "later and weaker" is vacuous
    for a router that does not concentrate at all)."""
    thr = claim.param("onset_threshold")
    z = claim.param("z")
    transformers, router = rec.transformers, rec.router
    if not transformers:
        raise ValueError("TF-8 needs at least one pretrained transformer measurement")
    rmean, rse = profile(rec.conc)
    r_on = onset_fraction(rmean, thr, never=NEVER)
    k = int(np.argmax(rmean))
    r_peak, r_se = float(rmean[k]), float(rse[k])
    checks, tf_extra = [], {}
    for lab, t in sorted(transformers.items()):
        tmean, tse = profile(t["conc"])
        t_on = onset_fraction(tmean, thr, never=NEVER)
        j = int(np.argmax(tmean))
        checks.append(Check(f"{lab} onsets earlier than the {router} router", t_on, "<", r_on))
        checks.append(Check(f"{lab} peaks higher than the {router} router", float(tmean[j]), ">",
                            r_peak, z * float(np.hypot(tse[j], r_se))))
        tf_extra[lab] = {"profile": tmean, "onset_pct": _pct(t_on), "peak": float(tmean[j]),
                         "uniform": float(t["uniform"]), "lm_gain_nats": t.get("lm_gain"),
                         "depth": (np.arange(tmean.size) + 1) / tmean.size}
    gains = [rec.lm_gain] + [t.get("lm_gain") for t in transformers.values()]
    gains = [math.nan if g is None else float(g) for g in gains]
    # censoring, pair by pair: the side predicted to onset *later* (the recurrent router) must be observed —
    # a censored later side makes 'later' vacuous; a censored *earlier* side (a transformer that never onsets)
    # against an observed recurrent onset refutes the order, and its check reads it (+inf < finite fails)
    premises = {"lm_gain_nats": math.nan if any(math.isnan(g) for g in gains) else min(gains),
                **concentration_premise(rec.conc, rec.uniform, prefix="recurrent_"),
                "onsets_observed": float(np.isfinite(r_on))}
    return evaluate(claim, rec.label, checks,
                    measured={"recurrent_onset_pct": _pct(r_on), "recurrent_peak": r_peak},
                    null="the pretrained transformers of this run",
                    premises=premises,
                    summary=f"{router}: onset {_fmt_onset(_pct(r_on))}, peak {r_peak:.3f}; transformers: "
                            + ", ".join(f"{k} onset {_fmt_onset(v['onset_pct'])} / peak {v['peak']:.3f}"
                                        for k, v in tf_extra.items()),
                    per_layer={"recurrent": rmean},
                    extra={"router": router, "depth": (np.arange(rmean.size) + 1) / rmean.size,
                           "transformers": tf_extra, "onset_threshold": thr,
                           "lm_gain_nats": {"recurrent": gains[0],
                                            **{lab: t.get("lm_gain") for lab, t in transformers.items()}}},
                    provenance=collect(**(rec.provenance or {}), transformers=sorted(transformers)))


# ----------------------------------------------------------------------------- key geometry (Fig. 3)
def ve_layers(eigvals, r: int) -> np.ndarray:
    """VE@r of every (layer, sequence) cloud from its centred-Gram eigenvalues ``[L,N,m]`` → ``[L,N]``."""
    return ve_from_eigvals(torch.as_tensor(np.asarray(eigvals, float)), r).numpy()


def _check_ve(claim, eig, n: int, d: int, model_label: str, router: str, what: str, premises: dict, prov: dict,
              seed: int, untrained_eig=None):
    """Fig. 3 / App. B.3: the depth-averaged VE@r of the routed object clears its Gaussian null."""
    if eig is None:
        raise ValueError(f"{claim.id}: the measurement of {model_label} has no key geometry (made before "
                         "RECURRENT_VERSION 4?)")
    z, r = claim.param("z"), claim.param("rank")
    ve = ve_layers(eig, r)  # [L,N]
    mean, se = profile(ve)
    per_seq = ve.mean(0)  # [N] depth mean per sequence
    depth_mean, depth_se = float(per_seq.mean()), float(sem(per_seq))
    gauss, gauss_se = gaussian_ve_null_chunked(n, d, r, claim.param("null_reps"), seed)
    layer_margin = z * np.sqrt(se ** 2 + gauss_se ** 2)
    clears = mean - layer_margin > gauss
    checks = [Check(f"depth-mean VE@{r} of {what} > Gaussian (Marchenko–Pastur) null (Fig. 3, App. B.3)",
                    depth_mean, ">", gauss, z * float(np.hypot(depth_se, gauss_se)))]
    untrained_txt, untrained = "", None
    if untrained_eig is not None:  # the hard null: the same recipe's initial weights (the architecture alone)
        u_seq = ve_layers(untrained_eig, r).mean(0)
        untrained = float(u_seq.mean())
        checks.append(Check(f"depth-mean VE@{r} above the untrained model's (the same recipe's initial weights: "
                            "the architecture alone)", depth_mean, ">", untrained,
                            z * float(np.hypot(depth_se, sem(u_seq)))))
        untrained_txt = f"; untrained model {untrained:.3f}"
    L = mean.size
    return evaluate(
        claim, model_label, checks,
        measured={f"ve{r}": depth_mean, f"ve{r}_se": depth_se, "layers_clearing_null": int(clears.sum())},
        null={"gauss": gauss, "gauss_se": gauss_se, "mp_limit": mp_ve_null(n, d, r), "untrained": untrained},
        premises=premises,
        summary=(f"{router} {what}: depth-mean VE@{r} {depth_mean:.3f} ± {depth_se:.3f} vs Gaussian null {gauss:.3f} "
                 f"(n = {n}, d = {d}; excess {depth_mean - gauss:+.3f}){untrained_txt}; per layer (reported, not deciding) "
                 f"{int(clears.sum())} of {L} layers clear it beyond z·SE, VE@{r} {mean.min():.3f}–{mean.max():.3f}"),
        per_layer={f"ve{r}": mean, f"ve{r}_se": se, "gauss": np.full(L, gauss), "clears_null": clears},
        extra={"router": router, "object": what, "rank": r, "depth": (np.arange(L) + 1) / L, "gauss_null": gauss,
               "gauss_null_se": gauss_se, "n": n, "dim": d, "mp_limit": mp_ve_null(n, d, r)},
        provenance=prov)


@check("MB-4")
def check_mb4(claim, rec):
    """Fig. 3 / Table 5: Mamba's rank-8 VE of the input matrix B clears its matched Gaussian null.
    The cloud is each sequence's T positions of B_t ∈ ℝ^{Nst} (the routed key before Δ), per layer;
    depth mean as App. B.3. Premise: a functioning model."""
    m, model_label, seed = rec.measurement, rec.label, rec.seed
    T = m.colshare.shape[1]
    d = int(m.state_size if m.state_size is not None else np.asarray(m.b_eigvals).shape[-1])
    u = rec.untrained
    return _check_ve(claim, m.b_eigvals, T, d, model_label, "Mamba", "input matrix B",
                     _mamba_premises(m), _prov(m, n_seqs=int(m.conc.shape[1])), seed,
                     untrained_eig=None if u is None else u.b_eigvals)


@check("RW-5")
def check_rw5(claim, rec):
    """Fig. 3: RWKV's rank-8 VE of the key geometry (keys k_t ∈ ℝ^C of each sequence at the learned decay)
    clears its Gaussian null. Premise: a functioning model."""
    m, model_label, seed = rec.measurement, rec.label, rec.seed
    T = m.colshare.shape[-1]
    u = rec.untrained
    return _check_ve(claim, m.key_eigvals, T, int(m.key_dim), model_label, "RWKV", "keys",
                     _rwkv_premises(m), _prov(m, keys="attention.key output at the learned decay"),
                     seed, untrained_eig=None if u is None else u.key_eigvals)


def chi_norm_cv(d: int) -> float:
    """Exact norm CV of an isotropic Gaussian vector in ℝ^d (a χ_d variable): √(d − μ²)/μ with
    μ = √2 Γ((d+1)/2)/Γ(d/2); its large-d limit is the paper's baseline 1/√(2d). Reported beside it."""
    mu = math.sqrt(2.0) * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2))
    return math.sqrt(max(d - mu * mu, 0.0)) / mu


def _check_norm(claim, layer_cv, layer_se, d: int, model_label: str, router: str, what: str, premises: dict,
                prov: dict, per_layer_extra: dict, summary_extra: str = "", untrained=None):
    """§3 / §4.1 for the non-attention routers: every layer's key-norm CV exceeds 1/√(2d) beyond z·SE; where the
    same recipe's untrained model is measured (``untrained = (layer_cv, layer_se)``), the depth-mean CV also
    exceeds the untrained model's (the stratification is not the architecture's alone)."""
    z = claim.param("z")
    base = gaussian_norm_cv_baseline(d)
    layer_cv, layer_se = np.asarray(layer_cv, float), np.asarray(layer_se, float)
    checks = [Check(f"per-layer {what} norm CV > 1/sqrt(2 d) (every layer)", layer_cv, "all>", base, z * layer_se)]
    if untrained is not None:
        ucv, use = (np.asarray(x, float) for x in untrained)
        checks.append(Check(f"depth-mean {what} norm CV above the untrained model's (the same recipe's initial weights: "
                            "the architecture alone)", float(layer_cv.mean()), ">", float(ucv.mean()),
                            z * float(np.hypot(np.sqrt((layer_se ** 2).sum()) / layer_se.size,
                                               np.sqrt((use ** 2).sum()) / use.size))))
        summary_extra += f"; untrained model depth-mean CV {ucv.mean():.3f}"
    L = layer_cv.size
    return evaluate(
        claim, model_label, checks,
        measured={"min_layer_cv": float(layer_cv.min()), "mean_cv": float(layer_cv.mean())},
        null={"baseline": base, "chi_exact": chi_norm_cv(d)},
        premises=premises,
        summary=(f"{router} {what}: min per-layer norm CV {layer_cv.min():.3f} (layer {int(layer_cv.argmin()) + 1}) vs "
                 f"baseline 1/sqrt(2·{d}) = {base:.4f} (exact χ_{d}: {chi_norm_cv(d):.4f}); depth mean "
                 f"{layer_cv.mean():.3f}" + summary_extra),
        per_layer={"norm_cv": layer_cv, "norm_cv_se": layer_se, **per_layer_extra},
        extra={"router": router, "object": what, "baseline": base, "chi_exact": chi_norm_cv(d), "dim": d,
               "depth": (np.arange(L) + 1) / L},
        provenance=prov)


@check("MB-5")
def check_mb5(claim, rec):
    """§3 ('the key-norm assumption ... fails in every layer of every model'), §5.2 / App. B.2: Mamba's effective
    key of source s is Δ_s·B_s, norm Δ_s[d]·‖B_s‖ per channel d; its pooled CV over (sequence, position),
    mean over channels, exceeds 1/√(2·Nst) at every layer. The CV of ‖B_s‖ alone is reported beside it.
    Premise: a functioning model."""
    m, model_label, seed = rec.measurement, rec.label, rec.seed
    if m.key_norm_s1 is None:
        raise ValueError(f"MB-5: the measurement of {model_label} has no key norms (made before RECURRENT_VERSION 4?)")
    reps = claim.param("bootstrap_reps")
    T = m.colshare.shape[1]
    d = int(m.state_size)
    cv, _, mean_se = pooled_cv_bootstrap_sums(m.key_norm_s1, m.key_norm_s2, T, reps, seed)
    layer_cv = cv.mean(1)
    u = rec.untrained
    unt = None
    if u is not None:
        ucv, _, use = pooled_cv_bootstrap_sums(u.key_norm_s1, u.key_norm_s2, T, reps, seed)
        unt = (ucv.mean(1), use)
    b_cv, b_se = pooled_cv_bootstrap(np.asarray(m.b_norms)[..., None], reps, seed)
    b_cv, b_se = b_cv[:, 0], b_se[:, 0]
    base = gaussian_norm_cv_baseline(d)
    return _check_norm(claim, layer_cv, mean_se, d, model_label, "Mamba", "effective key Δ·B",
                       _mamba_premises(m), _prov(m, n_seqs=int(m.conc.shape[1]), bootstrap_reps=reps),
                       {"b_norm_cv": b_cv, "b_norm_cv_se": b_se, "cv_delta": m.cv_delta},
                       f"; B alone (reported, not deciding): per-layer CV {b_cv.min():.3f}–{b_cv.max():.3f}, "
                       f"{int((b_cv - claim.param('z') * b_se > base).sum())} of {b_cv.size} layers above the baseline",
                       untrained=unt)


@check("RW-6")
def check_rw6(claim, rec):
    """§3 ('fails in every layer of every model') for RWKV: the pooled CV of the key norms ‖k_t‖ (attention.key
    output, learned decay) over (sequence, position) exceeds 1/√(2C) at every layer. Premise: a functioning model."""
    m, model_label, seed = rec.measurement, rec.label, rec.seed
    if m.key_norms is None:
        raise ValueError(f"RW-6: the measurement of {model_label} has no key norms (made before RECURRENT_VERSION 4?)")
    reps = claim.param("bootstrap_reps")
    cv, se = pooled_cv_bootstrap(np.asarray(m.key_norms)[..., None], reps, seed)
    u = rec.untrained
    unt = None
    if u is not None:
        ucv, use = pooled_cv_bootstrap(np.asarray(u.key_norms)[..., None], reps, seed)
        unt = (ucv[:, 0], use[:, 0])
    return _check_norm(claim, cv[:, 0], se[:, 0], int(m.key_dim), model_label, "RWKV", "key",
                       _rwkv_premises(m), _prov(m, bootstrap_reps=reps), {}, untrained=unt)


# ----------------------------------------------------------------------------- the family (suite.family)
# cold-cache seconds of each zoo entry on 2 cores (training + trajectory checkpoints, 2026-12-05 zoo.json): the plan's order
ZOO_COST = {"mamba": 320.0, "rwkv": 220.0}
ZOO_ROUTERS = ("mamba", "rwkv")  # the trained-here zoo's recurrent entries (and their adapters' names)
#: registry classes of each router, for targets known by name (its adapter's: fixtures.adapters)
ROUTER_ARCH = {k: ADAPTERS[k].vocabulary | {ALL_ROUTERS} for k in ZOO_ROUTERS}
HUB_REFS = {"mamba": PAPER_MAMBA, "rwkv": PAPER_RWKV}  # the paper's recurrent checkpoints (fixtures.catalogue)
HUB_ENV = "COLLAPSE_CLAIMS_HUB_RECURRENT"


def hub_unavailable(ref: str, label: str) -> str | None:
    """Why the paper's hub checkpoint ``ref`` cannot be measured here (and the command that runs it), or
    None: it is in the local Hugging Face cache, or ``COLLAPSE_CLAIMS_HUB_RECURRENT=1`` allows the download."""

    if in_local_hub_cache(ref) or os.environ.get(HUB_ENV) == "1":
        return None
    return (f"weights for {ref!r} are not available offline (not in the local Hugging Face cache): run "
            f"`{HUB_ENV}=1 pytest claims/test_audit.py -m hub -k {label}` on a machine that reaches huggingface.co, "
            f"or `pytest claims/test_audit.py --model {ref}`")


@dataclass(frozen=True)
class ZooRouter:
    """A subject trained here: the zoo's ``mamba`` or ``rwkv`` entry (trained on first use), whose recipe also
    rebuilds its untrained weights."""

    kind: str

    def spec(self, options, untrained: bool = False) -> ModelSpec:
        from fixtures.zoo import untrained_entry_dir, zoo_entry_dir

        where = (untrained_entry_dir if untrained else zoo_entry_dir)(self.kind, options)
        return ModelSpec(label=f"zoo-{self.kind}" + ("-untrained" if untrained else ""), source="local", ref=str(where))


def routers(kinds):
    """The subjects of a recurrent measurement over the routers ``kinds``:

    * every ``--model`` (its architecture decides, through the registry's ``applies_to``, which claims apply —
      a transformer is not applicable to any of them);
    * the trained-here zoo's entries (mark ``zoo``);
    * the paper's hub checkpoints (mark ``hub``): measured when in the local HF cache or with
      ``COLLAPSE_CLAIMS_HUB_RECURRENT=1`` (online), otherwise unavailable with the command that runs them;
      one that is also a ``--model`` of the run is measured as that model.
    """

    def subjects(options) -> list[Target]:
        out = model_targets(options)
        out += [Target(label=f"zoo-{k}", ref=ZooRouter(k), marks=("zoo",), arch=ROUTER_ARCH[k], cost=ZOO_COST[k])
                for k in kinds]
        run_labels = {s.label for s in run_specs(tuple(options.models))}
        for kind in kinds:
            for ref in HUB_REFS[kind]:
                spec = resolve(ref)
                if spec.label not in run_labels:
                    out.append(Target(label=spec.label, ref=spec, marks=("hub",), arch=ROUTER_ARCH[kind],
                                      unavailable=hub_unavailable(ref, spec.label)))
        return out

    return subjects


def _router_of(target: Target) -> str:
    for kind in ZOO_ROUTERS:
        if target.arch is not None and ADAPTERS[kind].vocabulary <= target.arch:
            return kind
    raise ValueError(f"{target.label} is not a recurrent router (architecture {sorted(target.arch or ())}): the "
                     "registry's applies_to should have made its recurrent claims not applicable")


def _spec_of(target: Target, options) -> ModelSpec:
    return target.ref.spec(options) if isinstance(target.ref, ZooRouter) else target.ref


def router_pass(spec, kind: str, options):
    """The router's cached measured pass (fixtures.recurrent), with the protocol of the registry: Mamba on
    MB-1's ``n_seqs``; RWKV on RW-3's sweep (its decay scales, then the killed carry). Raises
    WeightsUnavailable."""

    reg = registry()
    if kind == "mamba":
        return mamba_measurement(spec, options, reg["MB-1"].param("n_seqs"))
    p = reg["RW-3"]
    scales = list(p.param("decay_scales")) + [math.inf]  # the sweep, then the killed carry
    return rwkv_measurement(spec, options, p.param("n_seqs"), scales, p.param("n_late_queries"),
                            p.param("no_decay_time_decay"), p.param("kill_time_decay"))


def transformer_profiles(options) -> dict:
    """``{label: {"conc": [L,N] head-averaged max share, "uniform": H_T/T, "lm_gain": nats}}`` of the run's
    pretrained transformers (the default model and every ``--model`` transformer); one that is offline is
    not part of the comparison."""

    specs = [resolve(DEFAULT_MODEL)]
    for ref in options.models:
        s = resolve(ref)
        if s in specs:
            continue
        try:
            if "softmax-attention" not in architecture(s):  # not a transformer: not part of the comparison
                continue
        except WeightsUnavailable:  # offline: not part of the comparison
            continue
        specs.append(s)
    out = {}
    for s in specs:
        try:
            m = measure_transformer(s, options)
        except WeightsUnavailable:
            continue
        out[s.label] = {"conc": np.asarray(m.max_share(), float).mean(-1),  # [L,N,H] → [L,N]
                        "uniform": uniform_share(m.colsum.shape[-1]), "lm_gain": m.lm_gain()}
    return out


def _router_record(target: Target, options, kind: str) -> RouterMeasurement:
    m = router_pass(_spec_of(target, options), kind, options)
    # a recipe rebuilds its initial weights: the untrained nearest alternative (hub checkpoints have none)
    untrained = (router_pass(target.ref.spec(options, untrained=True), kind, options)
                 if isinstance(target.ref, ZooRouter) else None)
    return RouterMeasurement(label=target.label, router=kind, measurement=m, seed=options.seed, untrained=untrained)


@measurement("mamba-pass", subjects=routers(("mamba",)))
def mamba_record(target: Target, options) -> RouterMeasurement:
    """A Mamba's :class:`RouterMeasurement` for MB-1..5 (the cached pass of :mod:`fixtures.recurrent`)."""
    return _router_record(target, options, "mamba")


@measurement("rwkv-pass", subjects=routers(("rwkv",)))
def rwkv_record(target: Target, options) -> RouterMeasurement:
    """An RWKV-4's :class:`RouterMeasurement` for RW-1..6 (the cached pass of :mod:`fixtures.recurrent`)."""
    return _router_record(target, options, "rwkv")


@measurement("router-vs-transformers", subjects=routers(ZOO_ROUTERS))
def tf8_record(target: Target, options) -> Tf8Measurement:
    """TF-8's :class:`Tf8Measurement`: a router's cached pass (the router its architecture classes name) beside
    the run's pretrained transformers."""
    kind = _router_of(target)
    m = router_pass(_spec_of(target, options), kind, options)
    conc, uniform, gain = m.as_trained()
    return Tf8Measurement(label=target.label, router=kind, conc=conc, uniform=uniform, lm_gain=gain,
                          transformers=transformer_profiles(options), provenance=m.provenance)
