"""pytest plugin of ``benchmarks/bench_jitter.py``: the floating-point settings a user's machine brings.

Loaded with ``-p jitter_plugin`` (``benchmarks/`` on ``PYTHONPATH``), in the controller and in every
pytest-xdist worker. After the suite's own ``pytest_configure`` (which gives each xdist worker its
share of the cores) it applies ``COLLAPSE_JITTER_THREADS`` (torch threads) and ``COLLAPSE_JITTER_MKLDNN``
(``0``: oneDNN off), and writes what each process actually ran with to
``$COLLAPSE_JITTER_LOG/<pid>.json``, so the benchmark reports the settings it measured, not the ones it asked for.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    import torch

    threads = os.environ.get("COLLAPSE_JITTER_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    if os.environ.get("COLLAPSE_JITTER_MKLDNN") == "0":
        torch.backends.mkldnn.enabled = False
    log = os.environ.get("COLLAPSE_JITTER_LOG")
    if log:
        Path(log).mkdir(parents=True, exist_ok=True)
        worker = getattr(config, "workerinput", {}).get("workerid", "controller")
        (Path(log) / f"{os.getpid()}.json").write_text(json.dumps({
            "worker": worker, "torch_threads": torch.get_num_threads(),
            "mkldnn": bool(torch.backends.mkldnn.enabled), "batch_size": config.getoption("--batch-size")}))
