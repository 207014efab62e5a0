"""Figure of the MA family (massive activations; book ch. 18 §18.2–18.3, ch. 40 §40.3–40.4), drawn from the
recorded results only: by relative depth, the sink token's massive-activation ratio against the other tokens'
(MA-1), the sink mass with what remains of it under the massive clamp and the matched null clamp (MA-3),
and the matrix entropy (MA-4) — one colour per model."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.plots import by_claim, decorate, plotter, save_figure, subplots


def _arr(d, k):
    v = (d or {}).get(k)
    return None if v is None else np.array([np.nan if x is None else x for x in v], float)


@plotter("ma_massive_activations")
def ma_massive_activations(results, outdir: Path, stem: str):
    ma1, ma3, ma4 = by_claim(results, "MA-1"), by_claim(results, "MA-3"), by_claim(results, "MA-4")
    models = sorted({r["model"] for r in ma1 + ma3 + ma4})
    if not models:
        return []
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    fig, (ax1, ax2, ax3) = subplots(1, 3, figsize=(15, 4.8))
    crit = None
    for r in ma1:
        pl, col = r.get("per_layer") or {}, colours[r["model"]]
        s, rest = _arr(pl, "log10_ratio_sink"), _arr(pl, "log10_ratio_rest")
        if s is None:
            continue
        x = np.arange(s.size) / max(s.size - 1, 1)
        se = _arr(pl, "log10_ratio_sink_sem")
        ax1.plot(x, s, "-o", ms=3, color=col, label=f"{r['model']}: sink token ({r['verdict']})")
        if se is not None:
            ax1.fill_between(x, s - 1.96 * se, s + 1.96 * se, color=col, alpha=0.2)
        ax1.plot(x, rest, ":", color=col, label=f"{r['model']}: other tokens (mean over t ≥ 1)")
        crit = (r.get("extra") or {}).get("criterion_log10", crit)
    if crit is not None:
        ax1.axhline(crit, color="k", ls="--", lw=0.9, label="Sun et al.: 1000× the median")
    decorate(ax1, "stream depth (0 = embeddings, 1 = last layer output)", "log10(top-1 |h| / median |h|)",
             "MA-1 massive activations at the sink token", legend=6.5)
    for r in ma3:
        pl, col = r.get("per_layer") or {}, colours[r["model"]]
        b = _arr(pl, "sink_base")
        if b is None:
            continue
        x = np.arange(b.size) / max(b.size, 1)  # attention layer j reads stream j
        ax2.plot(x, b, "-o", ms=3, color=col, label=f"{r['model']}: sink mass")
        ax2.plot(x, _arr(pl, "sink_clamp_massive"), "--", color=col, lw=1.6,
                 label=f"massive coordinates clamped ({r['verdict']})")
        ax2.plot(x, _arr(pl, "sink_clamp_null"), ":", color=col, lw=1.4, label="matched null coordinates clamped")
        u = (r.get("extra") or {}).get("uniform_sink")
        if u is not None:
            ax2.axhline(u, color=col, lw=0.7, alpha=0.5)
    decorate(ax2, "attention layer depth (layer / L)", "sink mass  mean A[t,0], t ≥ 1",
             "MA-3 the clamp's effect on the sink (thin line: uniform attention)", legend=6.5, ylim=(0, 1))
    for r in ma4:
        pl, col = r.get("per_layer") or {}, colours[r["model"]]
        h = _arr(pl, "entropy")
        if h is None:
            continue
        x = np.arange(h.size) / max(h.size - 1, 1)
        ax3.plot(x, h, "-o", ms=3, color=col, label=f"{r['model']}: all tokens ({r['verdict']})")
        ax3.plot(x, _arr(pl, "entropy_nosink"), ":", color=col, label=f"{r['model']}: without the sink token")
        j = (r.get("extra") or {}).get("valley_stream")
        if j is not None:
            ax3.axvline(x[j], color=col, lw=0.8, alpha=0.6)
    decorate(ax3, "stream depth", "matrix entropy (nats)", "MA-4 compression valley", legend=6.5)
    for ax in (ax1, ax2, ax3):
        ax.title.set_fontsize(9)
    p = outdir / f"{stem}-ma-massive.png"
    save_figure(fig, p)
    return [("MA-1/3/4: the sink token's top-1 |activation| over the median of its hidden state against the other tokens' "
             "(dashed: Sun et al.'s 1000×), the sink mass by layer with the massive coordinates and with matched null "
             "coordinates clamped at the sink token, and the matrix entropy of the hidden states by depth "
             "(vertical line: the valley); one colour per model", p)]
