"""How a recorded verdict becomes a pytest outcome (the one place that decides it).

* reproduced: the test passes;
* not reproduced: the test fails with the claim's one-paragraph message (no traceback, no
  dump of locals: the numbers are in the message);
* inconclusive: the test is skipped with a reason that starts ``inconclusive:`` and carries
  the numbers of the premise that failed.
"""
from __future__ import annotations

import pytest

INCONCLUSIVE_PREFIX = "inconclusive:"


def conclude(*results) -> None:
    """Turn one or more :class:`~suite.results.ClaimResult` into the test's outcome."""
    if not results:
        raise ValueError("conclude() needs at least one result")
    failed = [r for r in results if r.verdict == "not reproduced"]
    if failed:
        pytest.fail("\n".join(r.message() for r in failed), pytrace=False)
    odd = [r for r in results if r.verdict not in ("reproduced", "inconclusive")]
    if odd:
        raise ValueError(f"unexpected verdicts from a check: {[(r.claim, r.verdict) for r in odd]}")
    unsure = [r for r in results if r.verdict == "inconclusive"]
    if unsure:
        pytest.skip(INCONCLUSIVE_PREFIX + " " + " | ".join(
            f"{r.claim} on {r.model}: premise not met — {r.premise_text()}" for r in unsure))
