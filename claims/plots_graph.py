"""GR-1 figure: VE@4 of the node features vs depth, GAT against the GCN control, one panel per
WebKB graph (drawn from the recorded ClaimResult JSON only: ``per_layer`` and ``extra``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.plots import by_claim, plotter, save_figure, subplots


@plotter("GR-1")
def plot_gr1(results: list[dict], outdir: Path, stem: str):
    rows = [r for r in by_claim(results, "GR-1") if r.get("per_layer") and r.get("extra")]
    if not rows:
        return []
    rows.sort(key=lambda r: r["model"])
    fig, axes = subplots(1, len(rows), figsize=(4.2 * len(rows), 3.6), squeeze=False, sharey=True)
    for ax, r in zip(axes[0], rows):
        ex, pl = r["extra"], r["per_layer"]
        rank = ex.get("rank", 4)
        for arm, color, marker in zip(ex["arms"], ("tab:red", "tab:blue"), ("o", "s")):
            y = np.asarray(pl[f"{arm}_ve{rank}"], dtype=float)
            se = np.asarray(pl.get(f"{arm}_ve{rank}_se", np.zeros_like(y)), dtype=float)
            x = np.arange(1, len(y) + 1)
            ax.errorbar(x, y, yerr=se, color=color, marker=marker, capsize=3, label=f"{arm.upper()} (depth mean {y.mean():.3f})")
        m = r.get("measured") or {}
        paper = ex.get("paper_differential")
        title = f"{r['model']}: Δ = {m.get('differential', float('nan')):+.3f} ± {m.get('sem', float('nan')):.3f}"
        if paper is not None:
            title += f" (paper {paper:+.3f})"
        ax.set_title(title + f"\n{r['verdict']}", fontsize=9)
        ax.set_xlabel("layer (output of convolution l, after ELU)")
        ax.set_xticks(np.arange(1, len(y) + 1))
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"VE@{rows[0]['extra'].get('rank', 4)} of node features")
    fig.suptitle(f"GR-1: GAT vs depth/width-matched GCN ({rows[0]['extra'].get('seeds_per_split')} seeds × "
                 f"{len(rows[0]['extra'].get('splits', []))} splits; bars: SEM over runs)", fontsize=10)
    path = save_figure(fig, Path(outdir) / f"{stem}_gr1_ve4_depth.png", dpi=120)
    return [("GR-1: VE@4 of each layer's node features vs depth, GAT vs GCN control, per WebKB graph", path)]
