"""The robustness panel (multiverse) of a verdict: the claim's check re-run on the same measurement
under each alternative choice its registry record declares (``[[claim.alternatives]]``: threshold
bands the seeds' wording leaves loose — "around 1000×", "roughly half" —, position 0 in or out,
KV-head or query-head units, the number of standard errors a margin takes).

The mark sits **beside** the verdict and never changes it: *robust* when no declared alternative
flips it, *fragile (flips under: …)* as soon as one does. Alternatives that need a new pass or
training (``needs``) are listed as not run. DEVELOPERS: "where a free choice could flip a verdict
…, the report shows it: robust or fragile"."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Callable

from suite import errors
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
    return _marked(rows, verdict)


def _marked(rows: list, verdict: str) -> dict:
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


# ----------------------------------------------------------------------------- on-request alternatives
#: the panel rows every verdict of a kind of model carries, run on request (they need new passes or training)
PERTURBED = "weights perturbed at their quantisation step"
PERTURBED_WHY = ("the weights are dequantised from a quantised file: every weight within ± half its quantisation step "
                 "rounds to the same stored value, so the file cannot tell those models apart (fixtures.quant_noise)")
SEED = "another training seed"
SEED_WHY = ("a model trained here is one draw of its recipe: another weight or data-order seed is as much the recipe's "
            "model (the RoPE entry's three seed twins are audited as rows of their own)")
QNOISE_LABEL = re.compile(r"@qnoise\d+$")


@functools.lru_cache(maxsize=4)
def load_panel_from(path: str | None) -> dict:
    """``{(claim, base model label): (verdict, perturbed label)}`` from the report of a ``--perturb-weights``
    run (its labels end in ``@qnoise<SEED>``); ``{}`` without one. A one-line error for a bad file."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
        rows = data["results"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise errors.UsageError(errors.PANEL_FROM_BAD.format(path=path, problem=f"{type(exc).__name__}: {exc}"
                                                             .splitlines()[0])) from None
    out = {}
    for r in rows:
        if QNOISE_LABEL.search(str(r.get("model", ""))) and r.get("verdict") in DECIDED:
            out[(r["claim"], QNOISE_LABEL.sub("", r["model"]))] = (r["verdict"], r["model"])
    if not out:
        raise errors.UsageError(errors.PANEL_FROM_BAD.format(path=path, problem="no row of a perturbed model "
                                                                             "(labels ending in @qnoise<SEED>)"))
    return out


def with_on_request(robustness: dict, verdict: str, *, claim_id: str, model: str, quantised: str | None,
                    trained_here: bool, perturbed: dict) -> dict:
    """The panel plus the on-request rows that apply to the row's model: a quantised model's perturbed weights
    (its verdict read from ``perturbed`` — :func:`load_panel_from` — when that run was made, else listed as not
    run with the command that runs it), a trained-here model's other seed (not run: it needs training). A
    perturbed verdict that differs flips the mark to fragile, as a declared alternative does."""
    if verdict not in DECIDED or QNOISE_LABEL.search(model):
        return robustness
    rows = []
    if quantised and quantised not in ("F32", "F16", "BF16"):
        row = {"name": PERTURBED, "why": PERTURBED_WHY + f" ({quantised})", "params": {}, "on_request": True}
        got = perturbed.get((claim_id, model))
        if got:
            row["verdict"], row["from"] = got
        else:
            row["not_run"] = (f"on request: pytest claims/ --model {model} --perturb-weights 0 --report-dir R, then "
                              f"this run with --panel-from R/{model}@qnoise0/latest.json")
        rows.append(row)
    if trained_here:
        rows.append({"name": SEED, "why": SEED_WHY, "params": {}, "on_request": True,
                     "not_run": "needs training (python -m fixtures.zoo with another seed); not run by the audit"})
    if not rows:
        return robustness
    return _marked(list((robustness or {}).get("alternatives", [])) + rows, verdict)
