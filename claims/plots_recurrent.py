"""Figures of the recurrent routers, drawn from recorded ClaimResult JSON only.

* ``recurrent-depth`` (paper Fig. 1): concentration against normalised depth for every router of the
  run — transformers (from TF-8's extra), Mamba (MB-1), RWKV (TF-8 / RW-2 learned decay) — with the 0.20
  onset threshold.
* ``recurrent-ablations`` (paper Fig. 2): Mamba real / Δ frozen / Δ,B,C frozen (MB-2) beside RWKV
  learned / no decay / killed carry (RW-2, RW-1).
* ``rwkv-sweep`` (paper Fig. 6 + 7): peak concentration against decay scale, the late-query content /
  recency correlations (RW-3), and the depth profile at every scale.
* ``recurrent-geometry`` (paper Fig. 3 by depth, §3): VE@8 of Mamba's B (MB-4) and RWKV's keys (RW-5) against
  their Gaussian null, and the key-norm CV (MB-5, RW-6) against 1/√(2d), one colour per model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.plots import by_claim, decorate, plotter, pyplot, save_figure, subplots
from suite.registry import registry

#: the onset line drawn on the depth figures: TF-8's threshold (Table 2 / Fig. 1), read from the registry
THRESHOLD = registry()["TF-8"].param("onset_threshold")


def _recorded(results, cid, key=None):
    """Results of ``cid`` that carry measured data (skipped/pending rows of the report have none)."""
    out = []
    for r in by_claim(results, cid):
        pl = r.get("per_layer") or {}
        if (key is None and (pl or r.get("extra"))) or (key is not None and key in pl):
            out.append(r)
    return out


def _depth(n):
    return (np.arange(n) + 1) / n


def _save(fig, outdir: Path, stem: str, name: str) -> Path:
    return save_figure(fig, Path(outdir) / f"{stem}-{name}.png")


@plotter("recurrent-depth")
def plot_depth(results, outdir: Path, stem: str):
    tf8 = [r for r in _recorded(results, "TF-8") if (r.get("extra") or {}).get("transformers")]
    mb1, rw2 = _recorded(results, "MB-1", "concentration"), _recorded(results, "RW-2", "learned")
    if not (tf8 or mb1 or rw2):
        return []
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    # one distinguishable line per model: its own colour; the line style says the router kind
    lines = []
    seen = set()
    for r in tf8:
        for lab, t in (r.get("extra", {}).get("transformers") or {}).items():
            if lab not in seen:
                seen.add(lab)
                lines.append((f"{lab} (attention)", np.asarray(t["profile"], float), "-", "o"))
    lines += [(f"{r['model']} (Mamba |α|)", np.asarray(r["per_layer"]["concentration"], float), "--", "s") for r in mb1]
    lines += [(f"{r['model']} (RWKV WKV)", np.asarray(r["per_layer"]["learned"], float), "-.", "^") for r in rw2]
    cmap = plt.get_cmap("tab20" if len(lines) > 10 else "tab10")
    for i, (lab, prof, ls, mk) in enumerate(lines):
        ax.plot(_depth(prof.size), prof, color=cmap(i % cmap.N), ls=ls, marker=mk, ms=3, label=lab)
    ax.axhline(THRESHOLD, ls="--", color="grey", lw=1)
    decorate(ax, "normalised depth k/L", "max share (concentration)", "Routing concentration against depth (paper Fig. 1)", legend=7)
    return [("Concentration against normalised depth: transformers vs recurrent routers", _save(fig, outdir, stem, "recurrent-depth"))]


@plotter("recurrent-ablations")
def plot_ablations(results, outdir: Path, stem: str):
    mb2, rw1, rw2 = _recorded(results, "MB-2", "real"), _recorded(results, "RW-1", "killed"), _recorded(results, "RW-2", "learned")
    if not (mb2 or rw2):
        return []
    fig, (a1, a2) = subplots(1, 2, figsize=(10, 4))
    for r in mb2:
        pl = r["per_layer"]
        for key, ls in (("real", "-"), ("frozen_dt", "--"), ("frozen_all", ":")):
            v = np.asarray(pl[key], float)
            a1.plot(_depth(v.size), v, ls=ls, marker="o", label=f"{r['model']} {key}")
    for r in rw2:
        for key, color in (("learned", "black"), ("no_decay", "tab:green")):
            v = np.asarray(r["per_layer"][key], float)
            a2.plot(_depth(v.size), v, color=color, marker="s", label=f"{r['model']} {key}")
    for r in rw1:
        v = np.asarray(r["per_layer"]["killed"], float)
        a2.plot(_depth(v.size), v, ls="--", color="tab:red", label=f"{r['model']} carry killed")
    for a, title in ((a1, "Mamba: freezing the selective gate Δ"), (a2, "RWKV: carry")):
        a.axhline(THRESHOLD, ls="--", color="grey", lw=1)
        decorate(a, "normalised depth k/L", "max share", title)
    return [("Within-model causal ablations (paper Fig. 2)", _save(fig, outdir, stem, "recurrent-ablations"))]


@plotter("rwkv-sweep")
def plot_sweep(results, outdir: Path, stem: str):
    rw3 = [r for r in _recorded(results, "RW-3") if "scales" in (r.get("extra") or {})]
    if not rw3:
        return []
    plt = pyplot()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 4))
    for r in rw3:
        ex = r["extra"]
        s = np.asarray(ex["scales"], float)
        x = np.where(s > 0, s, np.nan)
        xs = np.where(np.isnan(x), np.nanmin(x) / 3, x)  # s=0 (no decay) drawn left of the smallest scale
        a1.errorbar(xs, ex["peaks"], yerr=2 * np.asarray(ex["peak_sem"], float), marker="o", label=r["model"])
        a2.plot(xs, ex["r_norm"], marker="o", label=f"{r['model']} r(key norm)")
        a2.plot(xs, ex["r_pos"], marker="s", ls="--", label=f"{r['model']} r(position)")
        keys = list(r["per_layer"])
        cmap = plt.get_cmap("viridis")
        for i, k in enumerate(keys):
            v = np.asarray(r["per_layer"][k], float)
            a3.plot(_depth(v.size), v, color=cmap(i / max(len(keys) - 1, 1)), label=k)
    a2.axhline(0, color="grey", lw=1)
    a3.axhline(THRESHOLD, ls="--", color="grey", lw=1)
    decorate(a1, "decay scale s (leftmost: no decay)", "peak concentration", "Peak vs carry (Fig. 6 left)", legend=6, xscale="log")
    decorate(a2, "decay scale s (leftmost: no decay)", "Pearson r, late queries", "Content vs recency (Fig. 6 right)",
             legend=6, xscale="log")
    decorate(a3, "normalised depth k/L", "", "Depth profile per scale (Fig. 7)", legend=6)
    return [("RWKV decay sweep (paper Fig. 6/7)", _save(fig, outdir, stem, "rwkv-sweep"))]


@plotter("recurrent-geometry")
def plot_geometry(results, outdir: Path, stem: str):
    """Fig. 3 resolved by depth for the non-attention routers: VE@8 of Mamba's B (MB-4) and RWKV's keys (RW-5)
    against their Gaussian null, and the key-norm CV (MB-5, RW-6) against 1/√(2d); one colour per model."""
    panels = [("MB-4", "ve8", "Mamba: VE@8 of the input matrix B"), ("RW-5", "ve8", "RWKV: VE@8 of the keys"),
              ("MB-5", "norm_cv", "Mamba: norm CV of the effective key Δ·B"), ("RW-6", "norm_cv", "RWKV: key-norm CV")]
    rows = {cid: _recorded(results, cid, key) for cid, key, _ in panels}
    if not any(rows.values()):
        return []
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    models = sorted({r["model"] for rs in rows.values() for r in rs})
    cmap = plt.get_cmap("tab10" if len(models) <= 10 else "tab20")
    colour = {m: cmap(i % cmap.N) for i, m in enumerate(models)}
    for ax, (cid, key, title) in zip(axes.T.ravel(), panels):
        for r in rows[cid]:
            pl, ex = r["per_layer"], r.get("extra") or {}
            v = np.asarray(pl[key], float)
            se = np.asarray(pl.get(f"{key}_se", np.zeros_like(v)), float)
            x = _depth(v.size)
            c = colour[r["model"]]
            ax.errorbar(x, v, yerr=2 * se, color=c, marker="o", ms=3, label=f"{r['model']} ({r['verdict']})")
            ref = ex.get("gauss_null") if key == "ve8" else ex.get("baseline")
            if ref is not None:
                ax.axhline(float(ref), color=c, ls="--", lw=1)
            if key == "norm_cv" and "b_norm_cv" in pl:
                ax.plot(x, np.asarray(pl["b_norm_cv"], float), color=c, ls=":", marker="x", ms=3,
                        label=f"{r['model']} ‖B‖ alone")
        decorate(ax, "normalised depth k/L", "VE@8" if key == "ve8" else "norm CV",
                 title + (" (dashed: Gaussian null)" if key == "ve8" else " (dashed: 1/√(2d))"))
        ax.title.set_fontsize(9)
    return [("Low-rank collapse and norm stratification outside attention (paper Fig. 3 by depth; §3)",
             _save(fig, outdir, stem, "recurrent-geometry"))]
