"""The audit: one test per (claim, target), generated from the registry × each family's targets
(``suite.family``; parametrised in the root ``conftest.py``). A test measures its target (once per
session for all the claims on it), runs the claim's check, records the result for the report and
turns its verdict into the test's outcome (``suite.outcome.conclude``)."""
from __future__ import annotations

import pytest

from fixtures.models import WeightsUnavailable
from suite.family import skip_reason
from suite.outcome import conclude


def test_claim(audit_case, claims, measurements, options, record_claim):
    claim, target = claims[audit_case.cid], audit_case.target
    reason = skip_reason(claim, target)
    if reason:
        pytest.skip(reason)
    try:
        m = measurements.get(audit_case.family, target, options)
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))
    conclude(record_claim(audit_case.family.CHECKS[audit_case.cid](claim, m)))
