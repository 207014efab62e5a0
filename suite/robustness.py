"""The robustness panel (multiverse) of a verdict: the claim's check re-run on the same measurement
under each alternative choice its registry record declares (``[[claim.alternatives]]``: threshold
bands the seeds' wording leaves loose — "around 1000×", "roughly half" —, position 0 in or out,
KV-head or query-head units, the number of standard errors a margin takes).

The mark sits **beside** the verdict and never changes it: *robust* when no declared alternative
flips it, *fragile (flips under: …)* as soon as one does. Alternatives that need a new pass or
training (``needs``) are listed as not run. DEVELOPERS: "where a free choice could flip a verdict
…, the report shows it: robust or fragile"."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from suite.registry import Alternative, Claim

DECIDED = ("reproduced", "not reproduced", "inconclusive")
ROBUST, FRAGILE, UNASSESSED = "robust", "fragile", "not assessed"


def alternative_claim(claim: Claim, alt: Alternative) -> Claim:
    """The claim as it reads under one alternative: params updated, threshold replaced when given."""
    return replace(claim, params={**claim.params, **alt.params},
                   threshold=claim.threshold if alt.threshold is None else alt.threshold)


def panel(claim: Claim, check: Callable, measurement, verdict: str) -> dict:
    """``{"mark", "flips", "alternatives": [{name, why, verdict | not_run}]}`` for one verdict."""
    if verdict not in DECIDED:
        return {}
    rows = []
    for alt in claim.alternatives:
        row = {"name": alt.name, "why": alt.why, "params": dict(alt.params)}
        if alt.threshold is not None:
            row["threshold"] = alt.threshold
        if alt.needs:
            row["not_run"] = f"needs {alt.needs}"
        else:
            row["verdict"] = check(alternative_claim(claim, alt), measurement).verdict
        rows.append(row)
    run = [r for r in rows if "verdict" in r]
    flips = [r["name"] for r in run if r["verdict"] != verdict]
    # an inconclusive verdict that no alternative moves says nothing about the checks' choices (the premise
    # decided it, and a premise's own z / reference is not an alternative): not assessed, not robust
    premise_bound = verdict == "inconclusive" and not flips
    mark = FRAGILE if flips else (UNASSESSED if premise_bound or not run else ROBUST)
    out = {"mark": mark, "flips": flips, "alternatives": rows}
    if premise_bound and run:
        out["why"] = "premise not met"
    return out


def mark_text(robustness: dict | None) -> str:
    """The report's words: 'robust', 'fragile (flips under: a; b)', 'not assessed (…)' or ''."""
    if not robustness:
        return ""
    mark = robustness.get("mark", "")
    if mark == FRAGILE:
        return f"fragile (flips under: {'; '.join(robustness.get('flips') or [])})"
    if mark == UNASSESSED:
        if robustness.get("why"):
            return f"not assessed ({robustness['why']}: no declared alternative decides it)"
        pending = [a["name"] for a in robustness.get("alternatives") or [] if "not_run" in a]
        return "not assessed" + (f" (not run: {'; '.join(pending)})" if pending else " (no alternative declared)")
    return mark
