"""The benchmark scripts run against the suite's current API (a smoke run on a few short windows: the
figures they print are not asserted here, DEVELOPERS: speed targets live in ``benchmarks/``, never in timed tests)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script, expect", [("bench_audit.py", "overhead ratio audit/bare"),
                                            ("bench_book.py", "BK-1 on smollm2-135m")])
def test_benchmark_runs_on_a_few_windows(script, expect):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--n-seqs", "3", "--seq-len", "32",
                        "--threads", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert expect in r.stdout
