"""The cross-model page (``python -m suite.compare``): read from report JSONs only, one column
per model, γ against sink at the native θ, one distinguishable line per model in Fig. 1."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from suite import compare

ROOT = Path(__file__).resolve().parents[1]
FACTORS = [0.25, 1.0, 4.0]


def _doc(model, onset_verdict, peak, sink_native):
    prof = list(np.linspace(0.05, peak, 6))
    rows = [
        {"claim": "TF-5", "model": model, "scope": "model", "verdict": onset_verdict,
         "measured": {"onset": 0.17, "peak": peak}, "per_layer": {"max_share": prof, "max_share_se": [0.01] * 6},
         "extra": {"onset_threshold": 0.2}},
        {"claim": "MB-1", "model": model, "scope": "model", "verdict": "not applicable"},
        {"claim": "BK-1", "model": model, "scope": "model", "verdict": "reproduced",
         "measured": {"gamma_all_pairs": [0.9, 0.8, 0.7], "gamma_last_query": [1.0, 0.85, 0.6], "sink": [0.4] * 3},
         "extra": {"factor": FACTORS, "sink": [0.41, sink_native, 0.39], "sink_sem": [0.001, 0.002, 0.003],
                   "sink_uniform_level": 0.0349, "nll": [4.0, 3.9, 4.1], "unigram_nll": 6.9}},
        {"claim": "BK-2", "model": model, "scope": "model", "verdict": "inconclusive", "measured": {"n_cond": [1, 2, 3]},
         "extra": {"gamma_lo": [0.88, 0.78, 0.68], "gamma_hi": [0.92, 0.82, 0.72], "gamma_protocol": "all_pairs"}},
        {"claim": "GR-1", "model": "webkb-texas", "scope": "paper", "verdict": "not reproduced"},
    ]
    return {"model": model, "created": "20260101T000000Z", "results": rows, "environment": {"git_commit": "abc"}}


def test_matrix_has_one_column_per_model_and_only_their_claims():
    docs = [_doc("a", "reproduced", 0.6, 0.42), _doc("b", "not reproduced", 0.3, 0.10)]
    header, body = compare.matrix(docs)
    assert header == ["Claim", "a", "b"]
    by = {row[0]: row[1:] for row in body}
    assert set(by) == {"TF-5", "BK-1", "BK-2"}  # GR-1 is paper-wide; MB-1 is n/a everywhere
    assert by["TF-5"][0].startswith("✓ reproduced (onset 0.17") and by["TF-5"][1].startswith("✗ not reproduced")
    assert compare.not_applicable_anywhere(docs) == ["MB-1"]


def test_gamma_and_sink_are_read_at_the_native_theta():
    _, body = compare.gamma_sink([_doc("a", "reproduced", 0.6, 0.42)])
    (row,) = body
    assert row[0] == "a" and row[1] == "0.800 [0.780, 0.820]" and row[2] == "0.850"
    assert row[3].startswith("0.420 ± 0.004") and row[5] == "3"  # 6.9 − 3.9 nats


def test_figure_one_draws_a_distinct_line_per_model(tmp_path, monkeypatch):
    docs = [_doc(m, "reproduced", p, 0.4) for m, p in (("a", 0.6), ("b", 0.5), ("c", 0.4))]
    colours = []
    plt = compare.pyplot()
    orig = plt.Axes.plot

    def spy(self, *a, **kw):
        colours.append(kw.get("color"))
        return orig(self, *a, **kw)

    monkeypatch.setattr(plt.Axes, "plot", spy)
    assert compare.fig_depth(docs, tmp_path / "c").is_file()
    assert len(colours) == 3 and len(set(colours)) == 3


def test_command_line_writes_markdown_and_html(tmp_path):
    paths = []
    for m in ("a", "b"):
        p = tmp_path / m / "latest.json"
        p.parent.mkdir()
        p.write_text(json.dumps(_doc(m, "reproduced", 0.6, 0.4)))
        paths.append(str(p))
    r = subprocess.run([sys.executable, "-m", "suite.compare", *paths], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "compare.md").read_text()
    assert "| Claim | a | b |" in md and "γ against sink mass" in md and "compare-fig1-depth.png" in md
    assert "<table>" in (tmp_path / "compare.html").read_text()
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    r = subprocess.run([sys.executable, "-m", "suite.compare", str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "not a collapse-claims report" in r.stderr
