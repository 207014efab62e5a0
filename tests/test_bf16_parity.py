"""bfloat16 gives the float32 verdicts on SmolLM2 (issue 25), with every headline number within the stated
tolerance: the model-scoped audit run twice on a reduced configuration (24 windows × 64 tokens, so `make test`
stays short), once per dtype; statistics accumulate in float32 in both.

Tolerances, from the same comparison measured 2026-12-05 (this machine, 2 cores): of the 159 finite numbers of
the rows' ``measured`` fields, those of size ≥ 0.01 moved by at most 3.6 % (TF-6's p-value; γ, entropies and
shares ≤ 2.4 %), the smaller ones by at most 1.5e-3 absolute (TF-7's norm-CV change: bf16 rounding of the
rotated keys). The pins allow about three times that: another CPU's bf16 kernels round in another order."""
from __future__ import annotations

import json
import math

from tests import pins
from tests.test_bad_input import audit

RUN = ["claims/", "--model", "smollm2-135m", "--n-seqs", "24", "--seq-len", "64"]
REL_TOL = 0.1  # of |float32 value|, for |value| ≥ SMALL
ABS_TOL = 0.005  # for |value| < SMALL
SMALL = 0.01


def _within(a: float, b: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return pins.same(a, b)
    return abs(b - a) <= (REL_TOL * abs(a) if abs(a) >= SMALL else ABS_TOL)


def test_bfloat16_gives_the_float32_verdicts_and_numbers(tmp_path):
    docs = {}
    for dtype in ("float32", "bfloat16"):
        p = audit(*RUN, "--dtype", dtype, "--report-dir", str(tmp_path / dtype), timeout=1800)
        assert p.returncode in (0, 1), p.stdout[-3000:] + p.stderr[-2000:]
        docs[dtype] = json.loads((tmp_path / dtype / "smollm2-135m" / "latest.json").read_text())
    f32, b16 = ({(r["claim"], r["model"]): r for r in d["results"]} for d in (docs["float32"], docs["bfloat16"]))
    assert set(f32) == set(b16)
    assert {k: (r["verdict"], b16[k]["verdict"]) for k, r in f32.items() if r["verdict"] != b16[k]["verdict"]} == {}
    assert len([r for r in f32.values() if r["verdict"] in ("reproduced", "not reproduced")]) >= 8  # decided rows
    qa, qb = pins.quantities(docs["float32"]), pins.quantities(docs["bfloat16"])
    headline = [k for k in qa if "|measured" in k and isinstance(qa[k], tuple) and isinstance(qb.get(k), tuple)]
    assert len(headline) > 100
    moved = {k: (qa[k][0], qb[k][0]) for k in headline if not _within(qa[k][0], qb[k][0])}
    assert moved == {}
    assert all(r["provenance"]["dtype"] == "bfloat16" for r in b16.values() if r.get("provenance", {}).get("dtype"))
