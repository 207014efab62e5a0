"""Measure once, decide anywhere (issue 25): ``python -m claims.measure`` fills the cache with every measurement
of a run, through submitit's local executor (a subprocess per job: the Slurm path's code without a cluster), and
``pytest claims/`` with the same options then decides without measuring anything again; the cache keys carry
no path and no device."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import submitit  # noqa: F401  (the cluster extra: the lock pins it, make test installs it)

from claims import measure
from fixtures.data import measurement_key
from fixtures.models import resolve
from suite import errors
from suite.options import RunOptions, resolve_data_dir
from tests.synthetic import tiny_model_dir

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--n-seqs", "4", "--seq-len", "32"]


def _files(cache: Path) -> dict:
    return {p.relative_to(cache): p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file() and p.suffix != ".lock"}


def test_measured_through_submitit_then_decided_from_the_cache_alone(tmp_path):
    d = tiny_model_dir("llama", tmp_path / "m")
    env = dict(os.environ, COLLAPSE_CLAIMS_CACHE=str(tmp_path / "cache"))
    m = subprocess.run([sys.executable, "-m", "claims.measure", "--model", str(d), *RUN, "--executor", "local",
                        "--folder", str(tmp_path / "logs")], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=900)
    assert m.returncode == 0, m.stdout + m.stderr
    done = [ln for ln in m.stdout.splitlines() if " on m: " in ln]
    assert {ln.split(" on ")[0] for ln in done} >= {"attention-pass", "shuffled-pass", "theta-sweep", "massive"}, m.stdout
    assert f"decide with: pytest claims/ --model {d} {' '.join(RUN)}" in m.stdout
    before = _files(tmp_path / "cache")
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "claims/", "--model", str(d), *RUN,
                        "--report-dir", str(tmp_path / "r")], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode in (0, 1), p.stdout[-3000:] + p.stderr[-2000:]
    assert (tmp_path / "r" / "m" / "latest.json").is_file()
    assert _files(tmp_path / "cache") == before  # nothing measured again, nothing rewritten


def test_a_job_names_its_plan_entry_or_fails_in_one_line(tmp_path):
    d = tiny_model_dir("gpt2", tmp_path / "m")
    opts = RunOptions(models=(str(d),), n_seqs=4, seq_len=32, data_dir=resolve_data_dir(None), scope="model")
    jobs = measure.job_names(opts)
    assert ("attention-pass", "m") in jobs and all(s == "m" for _, s in jobs)  # model-scoped: its own jobs only
    with pytest.raises(errors.UsageError, match="no job 'attention-pass' on 'elsewhere'"):
        measure.run_job(opts, "attention-pass", "elsewhere")


def test_cache_keys_name_content_not_paths_or_devices(tmp_path):
    """The same weights and text under another path, measured on another device, have the same key; other
    weights do not."""
    a, b = tiny_model_dir("llama", tmp_path / "a"), tiny_model_dir("llama", tmp_path / "elsewhere" / "a")
    other = tiny_model_dir("llama", tmp_path / "c", seed=1)
    data = resolve_data_dir(None)
    cpu = RunOptions(models=(str(a),), data_dir=data)
    gpu = RunOptions(models=(str(b),), data_dir=data, device="cuda:3")
    key = measurement_key(resolve(str(a)), cpu, v=1)
    assert measurement_key(resolve(str(b)), gpu, v=1) == key
    assert measurement_key(resolve(str(other)), cpu, v=1) != key
    assert measurement_key(resolve(str(a)), RunOptions(models=(str(a),), data_dir=data, dtype="bfloat16"), v=1) != key
    cfg = json.loads((b / "tokenizer_config.json").read_text())  # the same weights, another tokenizer
    (b / "tokenizer_config.json").write_text(json.dumps(dict(cfg, add_bos_token=not cfg.get("add_bos_token"))))
    assert measurement_key(resolve(str(b)), gpu, v=1) != key
