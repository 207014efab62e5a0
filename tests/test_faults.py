"""Runs survive faults: a SIGKILL in the middle of writing a cached measurement, two audits on one
cache at once, a full disk — and a run never replaces a complete report with a worse one.

Each test runs the real command line (``pytest claims/`` in a subprocess) on the embedded model in a
small configuration (:data:`SMALL`: 4 sequences of 32 tokens, one process), with its own empty
measurement cache (the one-time conversion of the model is shared). Faults are injected by
``tests/fault_plugin.py``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.catalogue import DEFAULT_MODEL
from fixtures.models import local_dir_for, resolve
from suite.cache import cache_root
from tests import pins

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["claims/", "--model", DEFAULT_MODEL, "--n-seqs", "4", "--seq-len", "32", "-n", "0"]
HEALED = "half-written copy"  # suite.cache.sweep_orphans
UNREADABLE = "is unreadable"  # suite.cache.unreadable


@pytest.fixture(scope="module")
def model_cache():
    """The main cache's converted default model (made once, under its lock, if missing)."""
    local_dir_for(resolve(DEFAULT_MODEL))
    return cache_root()


def fresh_cache(root: Path, model_cache: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("models", "gguf"):
        if (model_cache / sub).exists() and not (root / sub).exists():
            (root / sub).symlink_to(model_cache / sub)
    return root


def command(cache: Path, report_dir: Path, *extra, fault: str = "", at: str = "", log: Path | None = None):
    env = dict(os.environ, HF_HUB_OFFLINE="1", COLLAPSE_CLAIMS_CACHE=str(cache), PYTHONPATH=str(ROOT),
               COLLAPSE_FAULT=fault, COLLAPSE_FAULT_AT=at, COLLAPSE_FAULT_LOG=str(log or ""))
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-W", "always::UserWarning",
            *(["-p", "tests.fault_plugin"] if fault else []), *SMALL, "--report-dir", str(report_dir), *extra]
    return args, env


def audit(cache, report_dir, *extra, **fault):
    args, env = command(cache, report_dir, *extra, **fault)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def report(report_dir: Path) -> dict:
    return json.loads(max((report_dir / DEFAULT_MODEL).glob("2*.json")).read_text())


def verdicts(doc: dict) -> dict:
    return {(r["claim"], r["model"]): r["verdict"] for r in doc["results"]}


def half_written(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*.tmp*") if "models" not in p.relative_to(cache).parts[:1]]


@pytest.mark.slow
def test_a_run_killed_mid_write_heals_on_rerun(tmp_path, model_cache):
    ref = audit(fresh_cache(tmp_path / "ref-cache", model_cache), tmp_path / "ref")
    assert ref.returncode in (0, 1), ref.stdout[-3000:] + ref.stderr[-2000:]
    cache = fresh_cache(tmp_path / "cache", model_cache)
    killed = audit(cache, tmp_path / "killed", fault="kill", at="residual")
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:] + killed.stderr[-2000:]
    left = half_written(cache)
    assert len(left) == 1 and "residual" in str(left[0]), left
    assert not [e for e in (cache / "residual").glob("*.npz") if ".tmp" not in e.name]  # never renamed into place

    rerun = audit(cache, tmp_path / "rerun")
    out = rerun.stdout + rerun.stderr
    assert rerun.returncode in (0, 1), out[-5000:]
    assert out.count(HEALED) == 1, out[-5000:]
    assert not half_written(cache)
    assert verdicts(report(tmp_path / "rerun")) == verdicts(report(tmp_path / "ref"))
    assert not pins.differences(report(tmp_path / "ref"), report(tmp_path / "rerun"))

    # a cached measurement cut short after it was written (a copy interrupted, a disk fault)
    entry = max((cache / "residual").glob("*-clamp-*.npz"))  # the streams live in the real pass since issue 26
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    again = audit(cache, tmp_path / "again")
    out = again.stdout + again.stderr
    assert again.returncode in (0, 1), out[-5000:]
    assert out.count(UNREADABLE) == 1 and entry.name in out, out[-5000:]
    assert verdicts(report(tmp_path / "again")) == verdicts(report(tmp_path / "ref"))


@pytest.mark.slow
def test_two_audits_on_one_cache_compute_each_entry_once(tmp_path, model_cache):
    cache = fresh_cache(tmp_path / "cache", model_cache)
    procs = []
    for name in ("a", "b"):
        args, env = command(cache, tmp_path / name, fault="log", log=tmp_path / "log")
        procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode in (0, 1), out[-5000:]
    computed = [line for f in sorted((tmp_path / "log").glob("*.txt")) for line in f.read_text().split()]
    assert computed, "no cache entry was computed"
    assert len(computed) == len(set(computed)), sorted(computed)
    assert verdicts(report(tmp_path / "a")) == verdicts(report(tmp_path / "b"))
    assert not pins.differences(report(tmp_path / "a"), report(tmp_path / "b"))


def test_a_full_disk_ends_in_one_line_and_leaves_no_half_entry(tmp_path, model_cache):
    cache = fresh_cache(tmp_path / "cache", model_cache)
    p = audit(cache, tmp_path / "r", "-k", "TF-1", fault="enospc", at="measurements")
    out = p.stdout + p.stderr
    assert p.returncode not in (0, 5), out[-5000:]
    assert "Traceback" not in out, out[-5000:]
    lines = [ln for ln in out.splitlines() if "no space left on the device" in ln]
    assert lines and "COLLAPSE_CLAIMS_CACHE" in lines[0], out[-5000:]
    assert not half_written(cache)
    assert not list((cache / "measurements").glob("*.npz")), list((cache / "measurements").iterdir())


def test_a_partial_run_keeps_the_complete_latest_report(tmp_path, model_cache):
    """The committed full audit stays ``latest``; a narrowed, smaller run only adds its timestamped report."""
    out_dir = tmp_path / "r" / DEFAULT_MODEL
    out_dir.mkdir(parents=True)
    for name in ("latest.json", "latest.md"):
        shutil.copyfile(ROOT / "reports" / DEFAULT_MODEL / name, out_dir / name)
    before = (out_dir / "latest.json").read_bytes()
    p = audit(fresh_cache(tmp_path / "cache", model_cache), tmp_path / "r", "-k", "TF-1")
    out = p.stdout + p.stderr
    assert p.returncode in (0, 1), out[-5000:]
    assert (out_dir / "latest.json").read_bytes() == before
    assert "latest.json kept" in out and "incomplete" in out, out[-3000:]
    new = report(tmp_path / "r")
    assert new["partial"] and "-k" in new["partial"]
