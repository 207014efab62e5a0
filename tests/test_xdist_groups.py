"""``pytest claims/ --model A --model B -n 2 --dist loadgroup`` runs every test of one model on one worker (so with
``--device cuda`` each model stays on its worker's GPU): conftest.ModelGroupScheduling (issue 25)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.synthetic import tiny_model_dir

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\[(gw\d+)\].*test_claim\[[A-Z]+-\d+-(?P<model>[ab])\]")


def test_each_models_tests_land_on_one_worker(tmp_path):
    a, b = tiny_model_dir("llama", tmp_path / "a"), tiny_model_dir("gpt2", tmp_path / "b")
    env = dict(os.environ, COLLAPSE_CLAIMS_CACHE=str(tmp_path / "cache"))
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "claims/", "--model", str(a),
                        "--model", str(b), "--n-seqs", "4", "--seq-len", "32", "-n", "2", "--dist", "loadgroup",
                        "--report-dir", str(tmp_path / "r")], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode in (0, 1), p.stdout[-3000:] + p.stderr[-2000:]
    workers = defaultdict(set)
    for ln in p.stdout.splitlines():
        m = LINE.match(ln)
        if m:
            workers[m["model"]].add(m[1])
    assert set(workers) == {"a", "b"}, p.stdout[-3000:]
    assert all(len(w) == 1 for w in workers.values()), dict(workers)
    assert workers["a"] != workers["b"]  # two models, two workers
