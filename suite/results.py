"""The typed results schema and the one comparator helper every claim test uses.

A claim test measures, builds one or more :class:`Check` (measured vs reference with an
explicit margin), wraps them in a :class:`ClaimResult`, records it through the
``record_claim`` fixture, and asserts ``result.reproduced``. The report (``suite.report``)
is written from these records alone.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from suite.registry import Claim

SCHEMA_VERSION = 1


def _num(x):
    """JSON-safe number / list (NaN -> None)."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [_num(v) for v in x]
    if isinstance(x, np.ndarray):
        return _num(x.tolist())
    if hasattr(x, "detach"):  # torch tensor
        return _num(x.detach().cpu().double().numpy())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if math.isnan(x) else x
    if isinstance(x, dict):
        return {str(k): _num(v) for k, v in x.items()}
    return x


@dataclass
class Check:
    """One comparison: ``measured <comparator> reference`` with a margin.

    ``>``: passes iff ``measured - margin > reference`` (the claim must hold beyond the
    measured uncertainty); ``<`` symmetrically; ``in``: ``low <= measured <= high``;
    ``all>`` / ``all<``: element-wise over a per-layer array (every layer must pass);
    ``true``: measured is a boolean computed by the test (e.g. a monotonicity check).
    """

    name: str
    measured: Any
    comparator: str
    reference: Any
    margin: float = 0.0
    passed: bool = False
    note: str = ""

    def evaluate(self) -> "Check":
        m, r, e = self.measured, self.reference, self.margin
        if self.comparator == ">":
            self.passed = bool(np.isfinite(m) and m - e > r)
        elif self.comparator == "<":
            self.passed = bool(np.isfinite(m) and m + e < r)
        elif self.comparator == ">=":
            self.passed = bool(np.isfinite(m) and m - e >= r)
        elif self.comparator == "<=":
            self.passed = bool(np.isfinite(m) and m + e <= r)
        elif self.comparator == "in":
            lo, hi = r
            self.passed = bool(np.isfinite(m) and lo - e <= m <= hi + e)
        elif self.comparator in ("all>", "all<"):
            ma = np.asarray(m, dtype=float)
            ra = np.broadcast_to(np.asarray(r, dtype=float), ma.shape)
            ea = np.broadcast_to(np.asarray(e, dtype=float), ma.shape)
            ok = (ma - ea > ra) if self.comparator == "all>" else (ma + ea < ra)
            ok &= np.isfinite(ma)
            self.passed = bool(ma.size > 0 and ok.all())
            if not self.passed:
                bad = np.flatnonzero(~ok)
                self.note = (self.note + " " if self.note else "") + (
                    f"fails at {(bad + 1).tolist()[:12]}{'…' if bad.size > 12 else ''} (1-based, e.g. layers)"
                )
        elif self.comparator == "true":
            self.passed = bool(m)
        else:
            raise ValueError(f"unknown comparator {self.comparator!r}")
        return self

    def describe(self) -> str:
        def fmt(v):
            if isinstance(v, (list, tuple, np.ndarray)):
                a = np.asarray(v, dtype=float)
                return f"[{a.size} values, min {np.nanmin(a):.4g}, max {np.nanmax(a):.4g}]" if a.size else "[]"
            if isinstance(v, float):
                return f"{v:.4g}"
            return str(v)

        marg = f" (margin {self.margin:.3g})" if np.ndim(self.margin) == 0 and self.margin else ""
        status = "ok" if self.passed else "FAILS"
        extra = f" — {self.note}" if self.note else ""
        return f"{self.name}: {fmt(self.measured)} {self.comparator} {fmt(self.reference)}{marg}: {status}{extra}"


@dataclass
class ClaimResult:
    claim: str
    model: str
    verdict: str
    measured: Any = None
    null: Any = None
    threshold: Any = None
    paper: Any = None
    summary: str = ""
    checks: list = field(default_factory=list)
    per_layer: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    claim_version: int = 0
    expected_verdict: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def reproduced(self) -> bool:
        return self.verdict == "reproduced"

    def message(self) -> str:
        lines = [f"{self.claim} on {self.model}: {self.verdict}. {self.summary}".rstrip()]
        lines += ["  " + (c.describe() if isinstance(c, Check) else str(c)) for c in self.checks]
        return "\n".join(lines)

    def to_json(self) -> dict:
        d = asdict(self)
        d["checks"] = [
            {k: _num(v) if k in ("measured", "reference", "margin") else v for k, v in asdict(c).items()}
            if isinstance(c, Check) else c
            for c in self.checks
        ]
        for k in ("measured", "null", "threshold", "paper", "per_layer", "extra"):
            d[k] = _num(d[k])
        return d


def evaluate(
    claim: Claim,
    model: str,
    checks: Sequence[Check],
    *,
    measured=None,
    null=None,
    threshold=None,
    summary: str = "",
    per_layer: dict | None = None,
    extra: dict | None = None,
    provenance: dict | None = None,
) -> ClaimResult:
    """Evaluate every check; the claim is reproduced iff all of them pass."""
    checks = [c.evaluate() for c in checks]
    if not checks:
        raise ValueError(f"{claim.id}: a claim needs at least one check")
    ok = all(c.passed for c in checks)
    return ClaimResult(
        claim=claim.id,
        model=model,
        verdict="reproduced" if ok else "not reproduced",
        measured=measured,
        null=null,
        threshold=claim.threshold if threshold is None else threshold,
        paper=claim.paper_values or None,
        summary=summary,
        checks=checks,
        per_layer=per_layer or {},
        extra=extra or {},
        provenance=provenance or {},
        claim_version=claim.version,
        expected_verdict=claim.expected_verdict(model),
    )


def sem(x, axis=0) -> np.ndarray:
    """Standard error of the mean along ``axis`` (ddof=1), the unit of our margins."""
    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    if n < 2:
        return np.zeros(np.delete(x.shape, axis)) if x.ndim > 1 else np.float64(0.0)
    return x.std(axis=axis, ddof=1) / math.sqrt(n)
