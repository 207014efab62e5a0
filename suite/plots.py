"""Figure registry for the report.

A plotter is ``fn(results: list[dict], outdir: Path, stem: str) -> list[tuple[str, Path]]``
that draws from recorded ClaimResult JSON only (so it runs on the xdist controller) and
returns ``(caption, png_path)`` pairs; it returns ``[]`` when its claims are absent.
Register with ``@plotter("name")``. Modules named ``claims/plots_*.py`` are imported
automatically, so each claim family keeps its figures beside its checks (``claims/plots_tf.py``
beside ``claims/checks_tf.py``).
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

PLOTTERS: dict = {}


def plotter(name: str):
    def deco(fn):
        PLOTTERS[name] = fn
        return fn

    return deco


def load_all():
    import claims

    for mod in pkgutil.iter_modules(claims.__path__):
        if mod.name.startswith("plots_"):
            importlib.import_module(f"claims.{mod.name}")
    return PLOTTERS


def pyplot():
    """matplotlib with a non-interactive backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def by_claim(results: list[dict], claim_id: str) -> list[dict]:
    return [r for r in results if r.get("claim") == claim_id]


def draw_all(results: list[dict], outdir: Path, stem: str) -> list[tuple[str, Path]]:
    figs = []
    for name, fn in sorted(load_all().items()):
        figs += fn(results, outdir, stem) or []
    return figs
