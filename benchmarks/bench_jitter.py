"""Run-to-run variation of the default audit's numbers, and the pin tolerances derived from it.

Runs the default audit's inference claims (``pytest claims/ -m "not zoo and not graph"``: SmolLM2-135M,
the algebra; the rows ``tests/test_default_verdicts.py`` pins by number) under the floating-point
settings a user's machine brings, each with its own empty measurement cache (the converted model is
shared), and records for every pinned quantity the largest change against the base run:

* ``base``      ``-n 2``: two xdist workers, one torch thread each (what ``make test`` runs), batch 8, oneDNN on
* ``n1``        ``-n 1``: one worker with both cores (2 torch threads)
* ``t4``        no xdist, 4 torch threads (oversubscribed on 2 cores; another reduction split)
* ``b4``        ``--batch-size 4``
* ``nomkldnn``  ``torch.backends.mkldnn.enabled = False``
* ``golden``    the committed smoke golden (measured on another day, possibly another machine)

(1 thread is the base: ``-n 2`` gives each worker one thread, so ``-n 0`` with one thread runs the
same arithmetic.) Prints per variation the largest relative change and the quantity it is on, and
the verdicts that changed (there must be none); ``--write`` stores the per-quantity changes and the
derived floor in ``tests/golden/jitter.json``, which the pins read (``tests/pins.py``).

    .venv/bin/python benchmarks/bench_jitter.py --workdir /tmp/jitter [--only base,n1] [--write]

About 8 minutes a variation on 2 cores (10 forward passes of 150 × 128 tokens each).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT

from tests import pins

SELECT = ["claims/", "-m", "not zoo and not graph"]
VARIATIONS = {
    "base": (["-n", "2"], {}),
    "n1": (["-n", "1"], {}),
    "t4": (["-n", "0"], {"COLLAPSE_JITTER_THREADS": "4"}),
    "b4": (["-n", "2", "--batch-size", "4"], {}),
    "nomkldnn": (["-n", "2"], {"COLLAPSE_JITTER_MKLDNN": "0"}),
}
# the pins allow MARGIN times the largest change measured (a machine noisier than the ones measured)
MARGIN = 10.0
# quantities smaller than this are round-off of a zero (a norm change under a rotation): their
# relative change says nothing about the arithmetic's precision and is left out of the floor
TINY = 1e-6


def run_variation(name: str, workdir: Path, models_cache: Path) -> Path:
    args, env_extra = VARIATIONS[name]
    root = workdir / name
    cache = root / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for sub in ("models", "gguf"):  # the one-time GGUF conversion is shared; measurements are not
        link = cache / sub
        if not link.exists() and (models_cache / sub).exists():
            link.symlink_to(models_cache / sub)
    env = dict(os.environ, HF_HUB_OFFLINE="1", COLLAPSE_CLAIMS_CACHE=str(cache),
               COLLAPSE_JITTER_LOG=str(root / "settings"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]), **env_extra)
    report_dir = root / "reports"
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "jitter_plugin", "-q",
                           *SELECT, *args, "--report-dir", str(report_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"{name}: the audit broke (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    settings = sorted({json.dumps({k: v for k, v in json.loads(p.read_text()).items() if k != "worker"}, sort_keys=True)
                       for p in (root / "settings").glob("*.json")})
    print(f"{name}: {time.time() - t0:.0f} s; processes ran with {', '.join(settings)}", flush=True)
    return max((report_dir / "smollm2-135m").glob("2*.json"))


def round_up(v: float) -> float:
    """``v`` to 3 significant digits, never below it (a tolerance must cover what was measured)."""
    r = float(f"{v:.3g}")
    return r if r >= v else float(f"{v * (1 + 1e-3):.3g}")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", required=True, type=Path, help="scratch space (one cache per variation)")
    ap.add_argument("--only", default=",".join(VARIATIONS), help="comma-separated variations to run")
    ap.add_argument("--write", action="store_true", help=f"write {pins.JITTER.relative_to(ROOT)}")
    a = ap.parse_args()
    from suite.cache import cache_root

    models_cache = cache_root()
    names = [n for n in a.only.split(",") if n]
    if "base" not in names:
        names.insert(0, "base")
    reports = {}
    for n in names:
        found = sorted((a.workdir / n / "reports" / "smollm2-135m").glob("2*.json"))
        reports[n] = found[-1] if found else run_variation(n, a.workdir, models_cache)
    docs = {n: json.loads(p.read_text()) for n, p in reports.items()}
    golden = json.loads((ROOT / "tests" / "golden" / "default-audit-smoke.json").read_text())
    docs["golden"] = golden
    base = docs["base"]
    worst_abs: dict[str, float] = {}
    floor, floor_at = 0.0, None
    changed_structure = []
    print(f"\n{'variation':10s} {'quantities':>10s} {'moved':>6s} {'max rel. change':>16s}  on")
    for n, doc in docs.items():
        if n == "base":
            continue
        ch = pins.measured_changes(base, doc)
        structural = sorted(k for k, v in ch.items() if v is None)
        verdicts = [k for k in structural if k.endswith("|verdict")]
        if verdicts:
            print(f"{n}: VERDICTS CHANGED: {verdicts}")
        if structural:
            print(f"{n}: text or shape changed at {len(structural)} places, e.g. {structural[:3]}")
            changed_structure.append(n)
        moved = {k: v for k, v in ch.items() if v is not None and v[0] > 0}
        values = pins.quantities(base)
        rel = {k: v[1] for k, v in moved.items() if abs(values[k][0]) >= TINY}
        top = max(rel, key=rel.get) if rel else None
        print(f"{n:10s} {len(ch):10d} {len(moved):6d} {rel.get(top, 0.0):16.3g}  {top}")
        for k, v in moved.items():
            worst_abs[k] = max(worst_abs.get(k, 0.0), v[0])
        if top and rel[top] > floor:
            floor, floor_at = rel[top], f"{n}: {top}"
    print(f"\nfloor (largest relative change of a quantity ≥ {TINY:g}): {floor:.3g} at {floor_at}")
    print(f"tolerance = {MARGIN:g} × max(measured |Δ|, floor × |value|) (+ one printed unit for summary numbers)")
    tiny = {k: v for k, v in worst_abs.items() if abs(pins.quantities(base)[k][0]) < TINY}
    tiny_abs_floor = max(tiny.values(), default=0.0)
    print(f"round-off quantities (|value| < {TINY:g}) are held by the largest absolute change among them: "
          f"{tiny_abs_floor:.3g} (" + ", ".join(f"{k} {v:.2g}" for k, v in sorted(tiny.items())[:4]) + ")")
    if a.write and changed_structure:
        sys.exit(f"not writing {pins.JITTER.relative_to(ROOT)}: {', '.join(changed_structure)} differ from the base run "
                 "in text, shape or verdict — that is a change of the code or the golden, not run-to-run jitter; "
                 "regenerate the golden first (python -m tests.test_default_verdicts <report.json>)")
    if a.write:
        import torch

        doc = {"margin": MARGIN, "floor": floor, "floor_at": floor_at, "tiny": TINY, "tiny_abs_floor": tiny_abs_floor,
               "variations": {n: " ".join(VARIATIONS[n][0]) + " " + " ".join(f"{k}={v}" for k, v in VARIATIONS[n][1].items())
                              for n in names} | {"golden": "committed tests/golden/default-audit-smoke.json"},
               "measured_on": {"platform": platform.platform(), "processor": cpu_model(),
                               "cpus": os.cpu_count(), "torch": torch.__version__,
                               "date": time.strftime("%Y-%m-%d")},
               "abs": {k: round_up(v) for k, v in sorted(worst_abs.items()) if math.isfinite(v)}}
        pins.JITTER.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {pins.JITTER.relative_to(ROOT)} ({len(doc['abs'])} quantities that moved)")


if __name__ == "__main__":
    main()
