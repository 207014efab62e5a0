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
    bad = {f"{p.relative_to(ROOT)}: {m}" for p in sorted((ROOT / layer).rglob("*.py"))
           for m in imported(p) & set(LOWER[layer])}
    assert not bad, sorted(bad)


def test_the_checker_sees_a_function_local_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from claims.plots_zoo import x\n    import fixtures.zoo\n")
    assert imported(f) == {"claims", "fixtures"}


PACKAGES = ("claims", "fixtures", "probes", "suite")


def module_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``{module: project modules it imports}``, function-local imports included (``from a import b`` counts
    ``a`` and, where it is a module, ``a.b``)."""
    mods = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
            for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}
    mods["conftest"] = root / "conftest.py"
    graph = {}
    for m, p in mods.items():
        out = set()
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[m] = {x for x in out if x in mods and x != m}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of more than one module."""
    index, low, stack, out = {}, {}, [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_among_the_projects_modules():
    """No module reaches itself through imports, not even through one inside a function (issue 24)."""
    assert cycles(module_graph()) == []


def test_the_cycle_finder_sees_a_cycle_through_a_function_local_import(tmp_path):
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
    (tmp_path / "conftest.py").write_text("")
    (tmp_path / "fixtures" / "a.py").write_text("from fixtures.b import f\n")
    (tmp_path / "fixtures" / "b.py").write_text("def f():\n    from fixtures import a\n")
    assert cycles(module_graph(tmp_path)) == [["fixtures.a", "fixtures.b"]]
