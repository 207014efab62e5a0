"""Figure and report-section registry for the report.

A plotter is ``fn(results: list[dict], outdir: Path, stem: str) -> list[tuple[str, Path]]``
that draws from recorded ClaimResult JSON only (so it runs on the xdist controller) and
returns ``(caption, png_path)`` pairs; it returns ``[]`` when its claims are absent.
Register with ``@plotter("name")``. A family that adds a part of its own to every report (the
zoo's trajectories) registers a :class:`Section` with :func:`section`. The harness imports no
family: the plugin calls :func:`load` with the families' package, which imports its
``plots_*.py`` modules, so each claim family keeps its figures beside its checks
(``claims/plots_tf.py`` beside ``claims/checks_tf.py``).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PLOTTERS: dict = {}


def plotter(name: str):
    def deco(fn):
        PLOTTERS[name] = fn
        return fn

    return deco


@dataclass(frozen=True)
class Section:
    """A family's own part of every model's report: ``data(rows, options)`` what it reads (``{}``: no
    section in this run), ``record(data)`` its entry in the report's JSON (under the section's name),
    ``figures(data, outdir, stem)`` → ``[(caption, path)]`` and ``markdown(data, options)`` → lines."""

    data: Callable
    record: Callable
    figures: Callable
    markdown: Callable


SECTIONS: dict[str, Section] = {}


def row_plotter(name: str, claim_id: str, tag: str):
    """``@row_plotter("zoo-SC-1", "SC-1", tag="SC-1")`` over ``fn(row) -> (caption, fig) | None``: one figure per
    recorded ``claim_id`` row (``None``: nothing to draw for it), written as ``<stem>-<tag>-<model>.png``."""
    def deco(fn):
        def draw(results: list[dict], outdir: Path, stem: str):
            drawn = [(r, fn(r)) for r in by_claim(results, claim_id)]
            return [(d[0], save_figure(d[1], Path(outdir) / f"{stem}-{tag}-{safe_name(r['model'])}.png"))
                    for r, d in drawn if d is not None]
        PLOTTERS[name] = draw
        return fn

    return deco


def section(name: str, **parts) -> Section:
    SECTIONS[name] = Section(**parts)
    return SECTIONS[name]


def load(package) -> dict:
    """Import every ``plots_*`` module of ``package`` (the claim families), which registers its plotters and
    sections; returns the plotters."""
    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name.startswith("plots_"):
            importlib.import_module(f"{package.__name__}.{mod.name}")
    return PLOTTERS


def pyplot():
    """matplotlib with a non-interactive backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def subplots(*args, **kw):
    """``fig, ax = subplots(figsize=(6.4, 4))``: matplotlib's ``subplots`` on the non-interactive backend."""
    return pyplot().subplots(*args, **kw)


def safe_name(s: str) -> str:
    """``s`` as a file-name fragment: every character outside [A-Za-z0-9-_.] becomes ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s)


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Lay out, write and close ``fig``; returns ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return Path(path)


def decorate(ax, xlabel: str, ylabel: str, title: str, legend: float | None = 7, **axes_set):
    """Axis labels, title (and any other ``ax.set`` keyword) and a legend of ``legend`` point type
    when the axes have labelled artists (``legend=None``: no legend)."""
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, **axes_set)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=legend)


def by_claim(results: list[dict], claim_id: str) -> list[dict]:
    return [r for r in results if r.get("claim") == claim_id]


def draw_all(results: list[dict], outdir: Path, stem: str) -> list[tuple[str, Path]]:
    """Every registered plotter's figures (:func:`load` first)."""
    figs = []
    for name, fn in sorted(PLOTTERS.items()):
        figs += fn(results, outdir, stem) or []
    return figs
