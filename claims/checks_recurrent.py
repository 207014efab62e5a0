"""Claim logic of the recurrent routers: MB-1..3 (Mamba), RW-1..4 (RWKV-4), TF-8 (all routers).

Pure functions: measurement in, :class:`suite.results.ClaimResult` out. Every constant comes from the
claim's registry record (``claims/registry/recurrent.toml``). Layer values are means over sequences;
margins are z × SEM over sequences (z = ``params.z``).
"""
from __future__ import annotations

import math

import numpy as np

from probes.attention import onset
from probes.mamba import uniform_share
from suite.provenance import collect
from suite.results import Check, evaluate, sem


def profile(conc) -> tuple[np.ndarray, np.ndarray]:
    """``[L,N]`` per-sequence layer values → (mean [L], SEM [L])."""
    c = np.asarray(conc, float)
    return c.mean(1), np.atleast_1d(sem(c, axis=1))


def onset_frac(values, threshold) -> float:
    """Onset depth k/L, or +inf when no layer exceeds the threshold (never onsets)."""
    o = onset(values, threshold)
    return math.inf if o is None else o[1]


def _fmt_onset(pct) -> str:
    """'17 %' or 'never' for an onset given in percent of depth (None / inf = never)."""
    return "never" if pct is None or not np.isfinite(pct) else f"{pct:.0f} %"


def _pct(x):
    return None if not np.isfinite(x) else 100.0 * x


def _prov(m, **kw):
    return collect(**{**(getattr(m, "provenance", None) or {}), **kw})


# ----------------------------------------------------------------------------- Mamba
def check_mb1(claim, m, model_label):
    thr = claim.param("onset_threshold")
    z = claim.param("z")
    mean, se = profile(m.conc)
    L = mean.size
    k = int(np.argmax(mean))
    peak, peak_se = float(mean[k]), float(se[k])
    on = onset_frac(mean, thr)
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
        null={"uniform_share": uniform_share(m.colshare.shape[1])},
        summary=f"Mamba hidden attention (mean over channels of |α|): onset {_fmt_onset(_pct(on))}, peak {peak:.3f}",
        per_layer={"concentration": mean, "sem": se, "concentration_rownorm": rn_mean},
        extra={"router": "mamba", "depth": ((np.arange(L) + 1) / L), "onset_threshold": thr,
               "in_paper_onset_range": bool(np.isfinite(on) and lo <= 100 * on <= hi),
               "in_paper_peak_range": bool(plo <= peak <= phi),
               "peak_rownorm": float(rn_mean.max()), "onset_rownorm_pct": _pct(onset_frac(rn_mean, thr))},
        provenance=_prov(m, n_seqs=int(m.conc.shape[1])),
    )


def check_mb2(claim, m, model_label):
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
    peak_all = float(fa.max())
    checks = [
        Check("peak gap: real peak − frozen-Δ peak > 0", gap, ">", 0.0, z * gap_se),
        Check("frozen-Δ operator never onsets (flattened at every layer)", float(fz.max()), "<", thr,
              z * float(fz_se[int(np.argmax(fz))])),
        Check("freezing B, C too: peak nearer the uniform baseline than the real peak",
              abs(peak_all - u), "<", abs(float(real.max()) - peak_all)),
    ]
    return evaluate(
        claim, model_label, checks, measured={"peak_gap": gap, "peak_real": float(real.max()),
                                              "peak_frozen_dt": float(fz.max()), "peak_frozen_all": peak_all},
        null={"uniform_share": u},
        summary=f"Δ frozen to its per-position mean: peak {real.max():.3f} → {fz.max():.3f} (gap {gap:+.3f}); "
                f"Δ, B, C frozen: {peak_all:.3f} (uniform {u:.3f})",
        per_layer={"real": real, "real_sem": real_se, "frozen_dt": fz, "frozen_dt_sem": fz_se, "frozen_all": fa,
                   "gap": diff.mean(1)},
        extra={"router": "mamba", "depth": (np.arange(real.size) + 1) / real.size, "onset_threshold": thr},
        provenance=_prov(m, n_seqs=int(m.conc.shape[1]), freezing="mean over sequences per (position, channel)"),
    )


def _pearson(x, y):
    from probes.rwkv import pearson
    return pearson(x, y)


def _spread(x):
    x = np.asarray(x, float)
    return float(x.std() / abs(x.mean())) if x.size > 1 and x.mean() != 0 else math.nan


def check_mb3(claim, m, model_label):
    conc, _ = profile(m.conc)
    r_delta = _pearson(m.cv_delta, conc)
    r_static = _pearson(m.xproj_b_weight_norm, conc)
    s_delta, s_static = _spread(m.cv_delta), _spread(m.xproj_b_weight_norm)
    checks = [
        Check("CV(Δ) tracks concentration across layers: Pearson r", r_delta, ">", claim.param("r_min")),
        Check("CV(Δ) tracks better than the static input-projection norm: r(Δ) − |r(static)|",
              r_delta - abs(r_static) if np.isfinite(r_static) else r_delta, ">", 0.0),
        Check("static norm flatter across layers than CV(Δ): relative spread", s_static, "<", s_delta),
    ]
    return evaluate(
        claim, model_label, checks,
        measured={"r_cv_delta": r_delta, "r_static_norm": r_static, "spread_cv_delta": s_delta,
                  "spread_static_norm": s_static},
        null={"r": 0.0},
        summary=f"r(CV Δ, concentration) = {r_delta:+.2f}; r(static x_proj-B norm, concentration) = {r_static:+.2f}",
        per_layer={"concentration": conc, "cv_delta": m.cv_delta, "static_norm": m.xproj_b_weight_norm,
                   "b_norm_cv": m.b_norm_cv, "delta_mean": m.delta_mean},
        extra={"router": "mamba"},
        provenance=_prov(m, n_layers=int(conc.size)),
    )


# ----------------------------------------------------------------------------- RWKV
def _variant_profile(m, scale):
    return profile(m.conc[m.index(scale)])


def check_rw1(claim, m, model_label):
    thr = claim.param("onset_threshold")
    z = claim.param("z")
    mean, se = _variant_profile(m, math.inf)
    T = m.colshare.shape[-1]
    bound = 2.0 / T
    k = int(np.argmax(mean))
    checks = [
        Check("killed carry never onsets", float(mean.max()), "<", thr, z * float(se[k])),
        Check("killed carry is flat at the two-source bound 2/T at every layer", mean, "all<",
              bound + claim.tolerance.value),
    ]
    return evaluate(claim, model_label, checks, measured={"max_share_killed": float(mean.max())},
                    null={"two_source_bound": bound},
                    summary=f"carry killed: max layer share {mean.max():.4f} (bound 2/T = {bound:.4f})",
                    per_layer={"killed": mean, "killed_sem": se},
                    extra={"router": "rwkv"}, provenance=_prov(m))


def check_rw2(claim, m, model_label):
    thr = claim.param("onset_threshold")
    full, _ = _variant_profile(m, 0.0)
    learned, _ = _variant_profile(m, 1.0)
    o_full, o_learned = onset_frac(full, thr), onset_frac(learned, thr)
    checks = [
        Check("no decay (full carry) onsets", o_full, "<", math.inf),
        Check("full carry onsets earlier than the learned decay", o_full, "<", o_learned),
    ]
    return evaluate(claim, model_label, checks,
                    measured={"onset_no_decay_pct": _pct(o_full), "onset_learned_pct": _pct(o_learned)},
                    null="onset of the learned decay",
                    summary=f"onset: no decay {_fmt_onset(_pct(o_full))}, learned {_fmt_onset(_pct(o_learned))}",
                    per_layer={"no_decay": full, "learned": learned},
                    extra={"router": "rwkv", "onset_threshold": thr}, provenance=_prov(m))


def check_rw3(claim, m, model_label):
    z = claim.param("z")
    idx = [i for i, s in enumerate(m.scales) if np.isfinite(s)]
    idx.sort(key=lambda i: m.scales[i])
    peaks, ses = [], []
    for i in idx:
        mean, se = profile(m.conc[i])
        k = int(np.argmax(mean))
        peaks.append(float(mean[k]))
        ses.append(float(se[k]))
    peaks, ses = np.array(peaks), np.array(ses)
    steps = peaks[:-1] - peaks[1:]  # more decay → lower peak: each step should be ≥ 0
    step_margin = z * np.sqrt(ses[:-1] ** 2 + ses[1:] ** 2)
    bad = np.flatnonzero(steps + step_margin < 0)
    total = float(peaks[0] - peaks[-1])
    checks = [
        Check("monotone: no step of the sweep raises the peak beyond z·SEM", int(bad.size), "<=", 0,
              note=f"violating steps {bad.tolist()}" if bad.size else ""),
        Check("full carry peak − heaviest decay peak > 0", total, ">", 0.0,
              z * float(np.hypot(ses[0], ses[-1]))),
    ]
    scales = [m.scales[i] for i in idx]
    return evaluate(claim, model_label, checks,
                    measured={"peak_full_carry": float(peaks[0]), "peak_heavy_decay": float(peaks[-1])},
                    null="a flat peak across the sweep",
                    summary=f"peak over {len(scales)} decay scales: {peaks[0]:.3f} (s={scales[0]:g}) → "
                            f"{peaks[-1]:.3f} (s={scales[-1]:g})",
                    per_layer={f"s={s:g}": profile(m.conc[i])[0] for s, i in zip(scales, idx)},
                    extra={"router": "rwkv", "scales": scales, "peaks": peaks, "peak_sem": ses,
                           "r_norm": [float(np.nanmean(m.r_norm[i])) for i in idx],
                           "r_pos": [float(np.nanmean(m.r_pos[i])) for i in idx]},
                    provenance=_prov(m))


def _r_summary(m, i):
    """Mean over layers, then over sequences (SEM over sequences) of r_norm, r_pos and their difference."""
    rn = np.nanmean(m.r_norm[i], axis=0)  # [N]
    rp = np.nanmean(m.r_pos[i], axis=0)
    return float(rn.mean()), float(rp.mean()), rn - rp


def check_rw4(claim, m, model_label):
    z = claim.param("z")
    finite = sorted(s for s in m.scales if np.isfinite(s))
    full, heavy = finite[0], finite[-1]
    rn_f, rp_f, d_f = _r_summary(m, m.index(full))
    rn_l, rp_l, _ = _r_summary(m, m.index(1.0))
    rn_h, rp_h, d_h = _r_summary(m, m.index(heavy))
    rp_h_seq = np.nanmean(m.r_pos[m.index(heavy)], 0)
    rp_f_seq = np.nanmean(m.r_pos[m.index(full)], 0)
    checks = [
        Check("full carry is content-picked: r(norm) − r(pos)", float(d_f.mean()), ">", 0.0,
              z * float(sem(d_f))),
        Check("heavy decay is position-picked: r(pos) − r(norm)", float(-d_h.mean()), ">", 0.0,
              z * float(sem(d_h))),
        Check("decay raises the recency correlation: r(pos) heavy − full", float((rp_h_seq - rp_f_seq).mean()),
              ">", 0.0, z * float(sem(rp_h_seq - rp_f_seq))),
    ]
    return evaluate(claim, model_label, checks,
                    measured={"full_r_norm": rn_f, "full_r_pos": rp_f, "learned_r_norm": rn_l,
                              "learned_r_pos": rp_l, "heavy_r_norm": rn_h, "heavy_r_pos": rp_h},
                    null={"r": 0.0},
                    summary=f"full carry r(norm) {rn_f:+.2f} / r(pos) {rp_f:+.2f}; learned {rn_l:+.2f}/{rp_l:+.2f}; "
                            f"heavy (s={heavy:g}) {rn_h:+.2f}/{rp_h:+.2f}",
                    extra={"router": "rwkv", "full_scale": full, "heavy_scale": heavy},
                    provenance=_prov(m, correlation="Pearson across sources s < T−n_late, per (layer, sequence), "
                                                    "mean over layers"))


# ----------------------------------------------------------------------------- TF-8
def check_tf8(claim, recurrent: dict, transformers: dict, model_label):
    """``recurrent = {"router": str, "conc": [L,N]}``; ``transformers = {label: [L,N] layer values}``."""
    thr = claim.param("onset_threshold")
    z = claim.param("z")
    if not transformers:
        raise ValueError("TF-8 needs at least one transformer measurement")
    rmean, rse = profile(recurrent["conc"])
    r_on = onset_frac(rmean, thr)
    k = int(np.argmax(rmean))
    r_peak, r_se = float(rmean[k]), float(rse[k])
    checks, tf_extra = [], {}
    for lab, conc in sorted(transformers.items()):
        tmean, tse = profile(conc)
        t_on = onset_frac(tmean, thr)
        j = int(np.argmax(tmean))
        checks.append(Check(f"{lab} onsets earlier than the {recurrent['router']} router", t_on, "<", r_on))
        checks.append(Check(f"{lab} peaks higher than the {recurrent['router']} router", float(tmean[j]), ">",
                            r_peak, z * float(np.hypot(tse[j], r_se))))
        tf_extra[lab] = {"profile": tmean, "onset_pct": _pct(t_on), "peak": float(tmean[j]),
                         "depth": (np.arange(tmean.size) + 1) / tmean.size}
    return evaluate(claim, model_label, checks,
                    measured={"recurrent_onset_pct": _pct(r_on), "recurrent_peak": r_peak},
                    null="the transformers of this run",
                    summary=f"{recurrent['router']}: onset {_fmt_onset(_pct(r_on))}, peak {r_peak:.3f}; transformers: "
                            + ", ".join(f"{k} onset {_fmt_onset(v['onset_pct'])} / peak {v['peak']:.3f}"
                                        for k, v in tf_extra.items()),
                    per_layer={"recurrent": rmean},
                    extra={"router": recurrent["router"], "depth": (np.arange(rmean.size) + 1) / rmean.size,
                           "transformers": tf_extra, "onset_threshold": thr},
                    provenance=collect(**(recurrent.get("provenance") or {}),
                                       transformers=sorted(transformers)))
