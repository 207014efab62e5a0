"""Imports run one way: the harness (``suite/``) and the statistics (``probes/``) import no claim family
(``claims/``) and no measurement code (``fixtures/``), not even inside a function; the families reach the
harness through its registries (``suite.plots.plotter`` / ``section``, loaded by the plugin)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOWER = {"suite": ("claims", "fixtures"), "probes": ("claims", "fixtures")}


def imported(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("layer", sorted(LOWER))
def test_lower_layers_import_no_higher_one(layer):
    bad = {f"{p.relative_to(ROOT)}: {m}" for p in sorted((ROOT / layer).glob("*.py"))
           for m in imported(p) & set(LOWER[layer])}
    assert not bad, sorted(bad)


def test_the_checker_sees_a_function_local_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from claims.plots_zoo import x\n    import fixtures.zoo\n")
    assert imported(f) == {"claims", "fixtures"}
