"""Figures for the token-axis claims (TF-1, TF-2, TF-5, TF-7) and the family claims (TF-9, TF-10,
TF-12), drawn from recorded results."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.plots import by_claim, decorate, plotter, save_figure, subplots
from suite.registry import registry


def _depth(n):
    return (np.arange(1, n + 1)) / n


@plotter("tf_max_share")
def max_share_vs_depth(results, outdir: Path, stem: str):
    rows = [r for r in by_claim(results, "TF-5") if r.get("per_layer", {}).get("max_share")]
    if not rows:
        return []
    fig, ax = subplots(figsize=(6.4, 4))
    for r in rows:
        y = np.array(r["per_layer"]["max_share"], float)
        se = np.array(r["per_layer"].get("max_share_se") or np.zeros_like(y), float)
        x = _depth(len(y))
        ax.plot(x, y, marker="o", ms=3, label=r["model"])
        ax.fill_between(x, y - 2 * se, y + 2 * se, alpha=0.2)
    ex = rows[0].get("extra", {})
    claim = registry()["TF-5"]  # the lines are the registry's numbers, not the plot's
    thr, comp = claim.param("onset_threshold"), claim.param("completion_threshold")
    lo, hi = claim.paper_values["onset_range"]
    ax.axhline(thr, ls="--", c="k", lw=1, label=f"onset {thr:.2f}")
    ax.axhline(comp, ls=":", c="k", lw=1, label=f"L* {comp:.2f}")
    if ex.get("uniform_null") is not None:
        ax.axhline(ex["uniform_null"], ls="-.", c="grey", lw=1, label=f"uniform causal H_T/T {ex['uniform_null']:.4f}")
    ax.axvspan(lo, hi, color="green", alpha=0.08, label=f"paper onset band {lo:.0%}–{hi:.0%}")
    decorate(ax, "normalised depth (layer / L)", "mean max attention share", "TF-5: routing concentration vs depth", legend=7)
    return [(f"TF-5: mean max attention share per layer (±2 SE over sequences) with the {thr:.2f} onset and {comp:.2f} completion lines",
             save_figure(fig, outdir / f"{stem}-tf5-max-share.png"))]


@plotter("tf_ve8")
def ve8_vs_depth(results, outdir: Path, stem: str):
    rows = [r for r in by_claim(results, "TF-2") if r.get("per_layer", {}).get("ve8")]
    if not rows:
        return []
    fig, ax = subplots(figsize=(6.4, 4))
    post = {r["model"]: r for r in by_claim(results, "TF-7") if r.get("per_layer", {}).get("ve8_post")}
    for r in rows:
        y = np.array(r["per_layer"]["ve8"], float)
        x = _depth(len(y))
        line, = ax.plot(x, y, marker="o", ms=3, label=f"{r['model']} keys (pre-RoPE)")
        ax.plot(x, np.array(r["per_layer"]["ve8_shuffle"], float), ls="--", c=line.get_color(), label="shuffle null (token shuffle + re-run)")
        if r["model"] in post:
            ax.plot(x, np.array(post[r["model"]]["per_layer"]["ve8_post"], float), ls=":", c=line.get_color(), label="post-RoPE keys")
        ax.axhline(r["extra"]["gauss_null"], c="grey", ls="-.", label=f"Gaussian (MP) null, d_h={r['extra']['head_dim']}")
    ax.set_ylim(0, 1)
    decorate(ax, "normalised depth (layer / L)", "VE@8 of double-centred key distances", "TF-2: key low-rank collapse vs nulls", legend=7)
    return [("TF-2/TF-7: VE@8 per layer against the Gaussian (Marchenko–Pastur) and shuffle nulls",
             save_figure(fig, outdir / f"{stem}-tf2-ve8.png"))]


@plotter("tf_norm_cv")
def norm_cv_vs_depth(results, outdir: Path, stem: str):
    rows = [r for r in by_claim(results, "TF-1") if r.get("per_layer", {}).get("norm_cv")]
    if not rows:
        return []
    fig, ax = subplots(figsize=(6.4, 4))
    for r in rows:
        y = np.array(r["per_layer"]["norm_cv"], float)
        x = _depth(len(y))
        ax.plot(x, y, marker="o", ms=3, label=f"{r['model']} (position 0 included)")
        ax.plot(x, np.array(r["per_layer"]["norm_cv_no_pos0"], float), ls="--", lw=1, label="position 0 excluded")
        ax.axhline(r["extra"]["baseline"], c="grey", ls="-.", label=f"isotropic Gaussian 1/√(2·{r['extra']['head_dim']})")
    ax.set_ylim(bottom=0)
    decorate(ax, "normalised depth (layer / L)", "key-norm CV (mean over heads)", "TF-1: key norms are not uniform (A4 fails)", legend=7)
    return [("TF-1: key-norm CV per layer against the isotropic-Gaussian baseline",
             save_figure(fig, outdir / f"{stem}-tf1-norm-cv.png"))]


@plotter("tf_family_crossings")
def family_crossings(results, outdir: Path, stem: str):
    """TF-9 / TF-10 (§4.3): onset and L* depth of each model of a family, by size."""
    rows = [r for cid in ("TF-9", "TF-10") for r in by_claim(results, cid) if (r.get("extra") or {}).get("models")]
    if not rows:
        return []
    fig, ax = subplots(figsize=(6.4, 4))
    tf5 = registry()["TF-5"]  # TF-9/TF-10 read TF-5's crossings (§4.3's thresholds)
    names = {"onset": f"onset ({tf5.param('onset_threshold'):.2f})", "lstar": f"L* ({tf5.param('completion_threshold'):.2f})"}
    for r in rows:
        ex = r["extra"]
        x = np.arange(len(ex["models"]))
        for key, ls in (("onset", "-"), ("lstar", "--")):
            y = np.minimum(np.array(ex[key], float), 1.05)  # never crossing drawn just above the last layer
            se = np.array(ex[f"{key}_se"], float)
            ax.errorbar(x, y, yerr=2 * se, ls=ls, marker="o", ms=4, capsize=3,
                        label=f"{r['claim']} {r['model']}: {names[key]}")
        for xi, m in zip(x, ex["models"]):
            ax.annotate(m, (xi, 0.02), fontsize=6, rotation=30)
    ax.set_ylim(0, 1.1)
    decorate(ax, "model of the family, by size", "crossing depth (layer / L)", "TF-9/TF-10: completion dynamics with scale", legend=7)
    return [("TF-9/TF-10: onset and L* depth per model of each family (±2 bootstrap SE over sequences)",
             save_figure(fig, outdir / f"{stem}-tf9-tf10-crossings.png"))]


@plotter("tf_r_with_scale")
def r_with_scale(results, outdir: Path, stem: str):
    """TF-12 (§4.3): TF-6's r per model of a family, by size (open marker: p ≥ α)."""
    rows = [r for r in by_claim(results, "TF-12") if (r.get("extra") or {}).get("r")]
    if not rows:
        return []
    fig, ax = subplots(figsize=(6.4, 4))
    for r in rows:
        ex = r["extra"]
        x = np.arange(len(ex["models"]))
        y, se, p_ = (np.array(ex[k], float) for k in ("r", "r_se", "p"))
        line = ax.errorbar(x, y, yerr=2 * se, marker="o", ms=5, capsize=3, label=f"{r['model']} ({ex['direction']})")
        ns = p_ >= ex["alpha"]
        ax.plot(x[ns], y[ns], "o", ms=9, mfc="white", c=line[0].get_color())
        for xi, m in zip(x, ex["models"]):
            ax.annotate(m, (xi, y[xi]), fontsize=6, rotation=30)
    ax.axhline(0, c="grey", lw=1)
    decorate(ax, "model of the family, by size", "Pearson r (key-norm CV, max share)", "TF-12: norm–concentration correlation with scale", legend=7)
    return [("TF-12: TF-6's r per model of each family (±2 bootstrap SE; open marker p ≥ α)",
             save_figure(fig, outdir / f"{stem}-tf12-r.png"))]
