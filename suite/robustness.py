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


def load_panel_from(paths) -> dict:
    """``{(row name, claim, base model label): (verdict, source)}`` from the reports of on-request runs
    (``--panel-from``, repeatable): a ``--perturb-weights`` run (its labels end in ``@qnoise<SEED>``: the
    row :data:`PERTURBED` of the quantised model) and a ``--zoo-seed`` run (its options say which draw: the
    row :data:`SEED` of each trained-here model). ``{}`` without one; a one-line error for a bad file."""
    if isinstance(paths, str):
        paths = (paths,)
    out = {}
    for path in paths or ():
        out.update(_read_panel_from(str(path)))
    return out


@functools.lru_cache(maxsize=8)
def _read_panel_from(path: str) -> dict:
    out = {}
    try:
        data = json.loads(Path(path).read_text())
        rows, opts = data["results"], data.get("options") or {}
        zoo_seed = int(opts.get("zoo_seed") or 0)
        for r in rows:
            model, verdict = str(r.get("model", "")), r.get("verdict")
            if verdict not in DECIDED:
                continue
            if QNOISE_LABEL.search(model):
                out[(PERTURBED, r["claim"], QNOISE_LABEL.sub("", model))] = (verdict, model)
            elif zoo_seed and (r.get("stands_on") or {}).get("kind") == "trained here" and model.startswith("zoo"):
                out[(SEED, r["claim"], model)] = (verdict, f"{model} (--zoo-seed {zoo_seed})")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise errors.UsageError(errors.PANEL_FROM_BAD.format(path=path, problem=f"{type(exc).__name__}: {exc}"
                                                             .splitlines()[0])) from None
    if not out:
        raise errors.UsageError(errors.PANEL_FROM_BAD.format(
            path=path, problem="no row of a perturbed model (labels ending in @qnoise<SEED>) nor of a --zoo-seed zoo"))
    return out


def with_on_request(robustness: dict, verdict: str, *, claim_id: str, model: str, quantised: str | None,
                    trained_here: bool, requested: dict) -> dict:
    """The panel plus the on-request rows that apply to the row's model: a quantised model's perturbed weights,
    a trained-here model's other training seed — each read from ``requested`` (:func:`load_panel_from`) when
    that run was made, else listed as not run with the command that runs it. An on-request verdict that
    differs flips the mark to fragile, as a declared alternative does."""
    if verdict not in DECIDED or QNOISE_LABEL.search(model):
        return robustness
    rows = []
    if quantised and quantised not in ("F32", "F16", "BF16"):
        row = {"name": PERTURBED, "why": PERTURBED_WHY + f" ({quantised})", "params": {}, "on_request": True}
        got = requested.get((PERTURBED, claim_id, model))
        if got:
            row["verdict"], row["from"] = got
        else:
            row["not_run"] = (f"on request: pytest claims/ --model {model} --perturb-weights 0 --report-dir R, then "
                              f"this run with --panel-from R/{model}@qnoise0/latest.json")
        rows.append(row)
    if trained_here:
        row = {"name": SEED, "why": SEED_WHY, "params": {}, "on_request": True}
        got = requested.get((SEED, claim_id, model))
        if got:
            row["verdict"], row["from"] = got
        else:
            row["not_run"] = ("on request (it trains the zoo again): pytest claims/ --zoo-seed 1 --report-dir R, then "
                              "this run with --panel-from R/<model>/latest.json")
        rows.append(row)
    if not rows:
        return robustness
    return _marked(list((robustness or {}).get("alternatives", [])) + rows, verdict)
