"""A model-scoped run: given ``--model``, only the claims that read the given models run and
decide the exit status; the paper-wide claims (algebra, graphs, trained-here zoo, hub
checkpoints) run in the full audit or with ``--all-claims``, and the report keeps the two apart."""
from __future__ import annotations

import json
import re

from suite.provenance import portable
from suite.report import split_rows
from tests.synthetic import tiny_model_dir
from tests.test_bad_input import audit, audit_node

# claims and subjects of the paper (AR-n reads a --model too, as MB-n/RW-n do: only its zoo and hub subjects are the paper's)
PAPER_WIDE = re.compile(r"\[(ID|GR|PR|SC)-\d+-|-(algebra|zoo-[^\]]*|webkb-[^\]]*|wdlctc/[^\]]*)\]")


def _collected(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if "::" in ln]


def test_model_scoped_collection_keeps_only_the_models_claims(tmp_path):
    d = tiny_model_dir("llama", tmp_path / "m")
    scoped = audit("claims/", "--model", str(d), "--collect-only")
    full = audit("claims/", "--model", str(d), "--all-claims", "--collect-only")
    s, f = _collected(scoped.stdout), _collected(full.stdout)
    assert scoped.returncode == 0 and full.returncode == 0, scoped.stdout + scoped.stderr
    assert any(ln.endswith("[TF-1-m]") for ln in s) and not any(PAPER_WIDE.search(ln) for ln in s), s
    assert set(s) < set(f) and any("-zoo-" in ln for ln in f) and any(PAPER_WIDE.search(ln) for ln in f)
    assert re.search(rf"{len(f) - len(s)} deselected", scoped.stdout), scoped.stdout


def test_the_scoped_report_names_what_it_did_not_run(tmp_path):
    d = tiny_model_dir("llama", tmp_path / "m")
    p = audit(audit_node("TF-1", "m"), *[audit_node(c, "algebra") for c in ("ID-1", "ID-2", "ID-3", "TF-3")],
              "--model", str(d), "--n-seqs", "4", "--report-dir", str(tmp_path / "r"),
              env={"COLLAPSE_CLAIMS_CACHE": str(tmp_path / "cache")})
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    doc = json.loads((tmp_path / "r" / "m" / "latest.json").read_text())
    assert doc["scope"] == "model"
    assert {r["claim"] for r in doc["results"]} == {"TF-1"} and doc["results"][0]["scope"] == "model"
    assert {"ID-1", "ID-2", "ID-3", "TF-3", "GR-1", "SC-1"} <= set(doc["not_run"])
    md = (tmp_path / "r" / "m" / "latest.md").read_text()
    assert "## Claims about m" in md and "Model-scoped run" in md and "--all-claims" in md
    assert "Model-scoped run" in out


def test_rows_split_into_this_model_and_the_paper():
    rows = [{"claim": "TF-1", "model": "a", "scope": "model"}, {"claim": "TF-1", "model": "b", "scope": "model"},
            {"claim": "TF-4", "model": "—", "scope": "model"}, {"claim": "GR-1", "model": "webkb-texas", "scope": "paper"}]
    mine, paper = split_rows(rows, "a", ["a", "b"])
    assert [(r["claim"], r["model"]) for r in mine] == [("TF-1", "a"), ("TF-4", "—")]
    assert [r["claim"] for r in paper] == ["GR-1"]


def test_report_paths_carry_no_machine_layout(tmp_path, monkeypatch):
    root, home = tmp_path / "work" / "main", tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    doc = {"data": str(root.parent / "shared" / "data" / "w.raw"), "here": str(root / "reports"),
           "cache": [str(home / ".cache" / "collapse-claims" / "zoo" / "e")], "sha": "ab12", "n": 3}
    out = portable(doc, root)
    assert out["data"] == "../shared/data/w.raw" and out["here"] == "reports"
    assert out["cache"] == ["~/.cache/collapse-claims/zoo/e"]
    assert out["sha"] == "ab12" and out["n"] == 3
