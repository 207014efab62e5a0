"""The audit: one test per (claim, target), generated from the registry × each family's targets
(``suite.family``; parametrised in the root ``conftest.py``). A test measures its target (once per
session for all the claims on it), runs the claim's check, labels what the verdict stands on
(``suite.standing``), recomputes it under the claim's declared alternatives and lists the on-request
ones that apply to its model, read from a ``--panel-from`` report when given (``suite.robustness``:
a mark beside the verdict, never in it), records the result for the report and turns its verdict
into the test's outcome (``suite.outcome.conclude``)."""
from __future__ import annotations

import pytest

from fixtures.standing import stand_in
from suite.errors import WeightsUnavailable
from suite.family import CHECKS, skip_reason
from suite.outcome import conclude
from suite.robustness import load_panel_from, panel, with_on_request


def test_claim(audit_case, claims, measurements, options, record_claim):
    claim, target = claims[audit_case.cid], audit_case.target
    reason = skip_reason(claim, target)
    if reason:
        pytest.skip(reason)
    try:
        m = measurements.get(audit_case.measurement, target, options)
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))
    check = CHECKS[audit_case.cid]
    result = check(claim, m)
    result.stands_on = stand_in(result, claim, target, options)
    result.robustness = with_on_request(
        panel(claim, check, m, result.verdict), result.verdict, claim_id=claim.id, model=result.model,
        quantised=(result.provenance or {}).get("quantisation"),
        trained_here="zoo" in target.marks and not options.zoo_seed,  # a --zoo-seed run is itself that row
        requested=load_panel_from(options.panel_from))
    conclude(record_claim(result))
