"""The default audit's verdicts (SmolLM2-135M, algebra, WebKB, trained-here zoo) match the registry.

This runs the real audit (`pytest claims/ ...` in a subprocess, same options as `make audit`)
and compares every verdict with the expectation in `claims/registry/*.toml`: a claim with no
recorded disagreement must be *reproduced*; one with `[claim.expected."<model label>"]` must
have that verdict; skips are allowed only for hub weights offline. A change in the measurements (or a broken probe) therefore shows here,
while `make audit` itself keeps failing loudly on the paper's non-reproduced claims.

It also pins every value: each row (claim, model) of the run is compared with the same row of a
golden audit — the committed example report ``reports/smollm2-135m/latest.json`` for the full zoo,
``tests/golden/default-audit-smoke.json`` for the smoke zoo of CI. Rows measured by inference
(the pretrained model, the algebra) must match in verdict, summary and every number to
:data:`PIN_RTOL`; rows of models trained here (the zoo, the WebKB networks), whose numbers follow
the machine's floating-point reductions through training, must match in verdict. An intended
change regenerates the golden: ``python -m tests.test_default_verdicts <report.json>``.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.zoo import cached_scale
from suite.registry import registry

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = {"full": ROOT / "reports" / "smollm2-135m" / "latest.json",
          "smoke": ROOT / "tests" / "golden" / "default-audit-smoke.json"}
# two runs of the same commit on this machine agree exactly; 1e-6 leaves room for another BLAS build
PIN_RTOL = 1e-6
PINNED_FIELDS = ("verdict", "summary", "measured", "null", "checks", "preconditions")
DEFAULT = "smollm2-135m"
# the whole default audit (`make audit`): the default model, the algebra, the WebKB graphs and the
# trained-here zoo. Cheap once the caches are warm; on a fresh machine this trains the zoo once.
CLAIM_FILES = ["claims/"]
# legitimate skips on an offline machine: hub weights, or a family of >= 2 hub models
SKIP_REASONS = ("not available offline", "needs at least two")
MUST_RUN = {"ID-1", "ID-2", "ID-3", "TF-1", "TF-2", "TF-3", "TF-5", "TF-6", "TF-7", "TF-8", "GR-1", "MB-1", "MB-2",
            "MB-3", "RW-1", "RW-2", "RW-3", "RW-4", "AR-1", "AR-2", "SC-1", "PR-1", "BK-1", "BK-2", "BK-3",
            "BK-4", "BK-5", "BK-6", "BK-8", "BK-10", "BK-11",
            "MB-4", "MB-5", "RW-5", "RW-6", "AR-3"}


@pytest.mark.slow
def test_default_model_verdicts_match_the_registry(tmp_path):
    """Where the full zoo is cached (``make zoo``) its claims are held to the registry's recorded
    verdicts too; on a machine without it the audit runs on the smoke cut of the zoo (the same
    recipes, cut short: their verdicts are not the recorded ones) and its zoo claims need only a
    verdict (no error, no skip)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    scale = cached_scale()
    # -n 2: on a cold cache the zoo entries and the model passes train/run two at a time
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", *CLAIM_FILES,
                           "--report-dir", str(tmp_path), "--zoo", scale], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=3000)
    out = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode in (0, 1), out  # 1 = some claim not reproduced; anything else is breakage
    report = json.loads((tmp_path / DEFAULT / "latest.json").read_text())
    reg = registry()
    mismatches, seen = [], set()
    for row in report["results"]:
        cid, model, verdict = row["claim"], row["model"], row["verdict"]
        if verdict in ("not applicable", "recorded"):  # recorded: a prediction/speculation this suite does not test
            continue
        if verdict in ("skipped", "pending", "error"):
            if verdict != "skipped" or not any(r in (row.get("summary") or "") for r in SKIP_REASONS):
                mismatches.append(f"{cid} on {model}: unexpectedly {verdict}: {row.get('summary')}")
            continue
        seen.add(cid)
        if scale == "smoke" and str(model).startswith("zoo"):
            continue  # a verdict, measured on the smoke zoo: the recorded verdicts are the full zoo's
        expected = reg[cid].expected_verdict(model) or "reproduced"
        if verdict != expected:
            mismatches.append(f"{cid} on {model}: {verdict}, registry expects {expected} — {row.get('summary', '')}")
    assert not mismatches, "\n".join(mismatches) + "\n" + out
    assert MUST_RUN <= seen, f"claims with no verdict in the default audit: {sorted(MUST_RUN - seen)}"
    drift = pin_differences(golden_rows(json.loads(GOLDEN[scale].read_text())), golden_rows(report))
    assert not drift, (f"the default audit moved from {GOLDEN[scale].relative_to(ROOT)} (if intended, regenerate it: "
                       f"python -m tests.test_default_verdicts <report.json>):\n" + "\n".join(drift[:40]))


def trained_here(model: str) -> bool:
    return str(model).startswith(("zoo", "webkb")) or model == "across-models"


def golden_rows(report: dict) -> dict:
    """``{(claim, model): the pinned fields}`` of a report (checks reduced to name + numbers)."""
    out = {}
    for r in report["results"]:
        row = {k: r.get(k) for k in PINNED_FIELDS}
        row["checks"] = [{k: c.get(k) for k in ("name", "measured", "reference", "margin", "passed")}
                         for c in r.get("checks") or []]
        out[(r["claim"], r["model"])] = row
    return out


def _diff(a, b, path: str, out: list) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            _diff(a.get(k), b.get(k), f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out)
    elif (isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
          and not isinstance(b, bool)):
        if not math.isclose(a, b, rel_tol=PIN_RTOL, abs_tol=1e-12):
            out.append(f"{path}: {a!r} → {b!r}")
    elif a != b:
        out.append(f"{path}: {str(a)[:120]!r} → {str(b)[:120]!r}")


def pin_differences(golden: dict, new: dict) -> list[str]:
    out = []
    for k in sorted(set(golden) | set(new)):
        if k not in new or k not in golden:
            out.append(f"{k}: {'missing from the run' if k not in new else 'not in the golden audit'}")
            continue
        g, n = golden[k], new[k]
        if trained_here(k[1]):
            if g["verdict"] != n["verdict"]:
                out.append(f"{k}: verdict {g['verdict']} → {n['verdict']}")
            continue
        _diff(g, n, str(k), out)
    return out


if __name__ == "__main__":  # write the smoke golden from a report of `pytest claims/ --zoo smoke`
    src = json.loads(Path(sys.argv[1]).read_text())
    GOLDEN["smoke"].parent.mkdir(parents=True, exist_ok=True)
    rows = [{"claim": c, "model": m, **row} for (c, m), row in golden_rows(src).items()]
    options = {k: v for k, v in (src.get("options") or {}).items() if k != "data_dir"}  # no machine paths
    GOLDEN["smoke"].write_text(json.dumps({"options": options, "results": rows}, indent=1) + "\n")
    print(f"wrote {GOLDEN['smoke'].relative_to(ROOT)} ({len(src['results'])} rows)")
