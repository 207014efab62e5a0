"""The default audit's verdicts (SmolLM2-135M, algebra, WebKB, trained-here zoo) match the registry.

This runs the real audit (`pytest claims/ ...` in a subprocess, same options as `make audit`)
and compares every verdict with the expectation in `claims/registry/*.toml`: a claim with no
recorded disagreement must be *reproduced*; one with `[claim.expected."<model label>"]` must
have that verdict; skips are allowed only for hub weights offline. A change in the measurements (or a broken probe) therefore shows here,
while `make audit` itself keeps failing loudly on the paper's non-reproduced claims.

It also pins every value: each row (claim, model) of the run is compared with the same row of a
golden audit — ``tests/golden/default-audit-full.json`` for the full zoo (made from the committed
example report), ``tests/golden/default-audit-smoke.json`` for the smoke zoo of CI. Verdicts are
pinned exactly. Rows measured by inference (the pretrained model, the algebra) are also pinned in
every number, each to its tolerance measured from run-to-run variation (``tests/pins.py``,
``tests/golden/jitter.json``, ``benchmarks/bench_jitter.py``); rows of models trained here (the zoo,
the WebKB networks), whose numbers follow the machine's floating-point reductions through
training, in verdict only. An intended change regenerates the golden of the report's zoo scale:
``python -m tests.test_default_verdicts <report.json>``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.zoo import cached_scale
from suite.registry import registry
from tests import pins

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = {"full": ROOT / "tests" / "golden" / "default-audit-full.json",
          "smoke": ROOT / "tests" / "golden" / "default-audit-smoke.json"}
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
        if scale == "smoke" and (str(model).startswith("zoo") or model == "across-models"):
            continue  # a verdict on (or against: BK-4) the smoke zoo: the recorded verdicts are the full zoo's
        expected = reg[cid].expected_verdict(model) or "reproduced"
        if verdict != expected:
            mismatches.append(f"{cid} on {model}: {verdict}, registry expects {expected} — {row.get('summary', '')}")
    assert not mismatches, "\n".join(mismatches) + "\n" + out
    assert MUST_RUN <= seen, f"claims with no verdict in the default audit: {sorted(MUST_RUN - seen)}"
    drift = pins.differences(json.loads(GOLDEN[scale].read_text()), report)
    assert not drift, (f"the default audit moved from {GOLDEN[scale].relative_to(ROOT)} (if intended, regenerate it: "
                       f"python -m tests.test_default_verdicts <report.json>):\n" + "\n".join(drift[:40])
                       + (f"\n… and {len(drift) - 40} more" if len(drift) > 40 else ""))


def write_golden(src: dict) -> Path:
    """The golden of ``src``'s zoo scale: its pinned rows and options, no machine paths."""
    scale = (src.get("options") or {}).get("zoo") or "full"
    out = GOLDEN[scale]
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"claim": c, "model": m, **row} for (c, m), row in pins.golden_rows(src).items()]
    options = {k: v for k, v in (src.get("options") or {}).items() if k != "data_dir"}  # no machine paths
    env = src.get("environment") or {}
    out.write_text(json.dumps({"options": options, "made_from": {"created": src.get("created"),
                                                                "git_commit": env.get("git_commit")},
                               "results": rows}, indent=1) + "\n")
    return out


if __name__ == "__main__":  # write the golden of a report's zoo scale (smoke: `--zoo smoke`; full: `make audit`)
    for arg in sys.argv[1:]:
        doc = json.loads(Path(arg).read_text())
        print(f"wrote {write_golden(doc).relative_to(ROOT)} ({len(doc['results'])} rows)")
