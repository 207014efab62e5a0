"""The typed results schema and the one comparator helper every claim test uses.

A claim test measures, builds one or more :class:`Check` (measured vs reference with an
explicit margin), wraps them in a :class:`ClaimResult`, records it through the
``record_claim`` fixture, and turns its verdict into the test's outcome (``suite.outcome``). The
report (``suite.report``) is written from these records alone.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from suite.registry import Claim, registry

SCHEMA_VERSION = 3  # 2: verdict "inconclusive" and the ``preconditions`` list; 3: ``stands_on`` and ``robustness``


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
                f = a[np.isfinite(a)]  # a -inf reference marks an entry that is not compared
                return f"[{a.size} values, min {f.min():.4g}, max {f.max():.4g}]" if f.size else f"[{a.size} values]"
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
    preconditions: list = field(default_factory=list)  # Checks of the claim's premises, evaluated first
    stands_on: dict = field(default_factory=dict)  # what the verdict stands on (suite.standing)
    robustness: dict = field(default_factory=dict)  # the robustness panel (suite.robustness), beside the verdict
    schema_version: int = SCHEMA_VERSION

    @property
    def inconclusive(self) -> bool:
        return self.verdict == "inconclusive"

    def premise_text(self) -> str:
        """The failed premises with their numbers (the reason of an inconclusive verdict)."""
        bad = [c for c in self.preconditions if isinstance(c, Check) and not c.passed]
        return "; ".join(c.describe() for c in bad)

    def message(self) -> str:
        lines = [f"{self.claim} on {self.model}: {self.verdict}. {self.summary}".rstrip()]
        if self.preconditions:
            lines.append("  premises:")
            # a premise that holds is one line; one that fails also cites its source
            lines += ["    " + (c.describe() if not c.passed else c.describe().split(" — ")[0]) for c in self.preconditions]
            if self.inconclusive:
                lines.append("  checks (not deciding: a premise does not hold):")
        lines += ["  " + (c.describe() if isinstance(c, Check) else str(c)) for c in self.checks]
        return "\n".join(lines)

    def to_json(self) -> dict:
        d = asdict(self)
        for key in ("checks", "preconditions"):
            d[key] = [
                {k: _num(v) if k in ("measured", "reference", "margin") else v for k, v in asdict(c).items()}
                if isinstance(c, Check) else c
                for c in getattr(self, key)
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
    premises: dict | None = None,
) -> ClaimResult:
    """Evaluate the claim's premises (registry ``preconditions``), then every check.

    ``premises`` maps the quantity names the registry's preconditions use to measured values
    (and optionally ``<name>_se``). A premise that fails makes the verdict *inconclusive*,
    whatever the checks say; otherwise the claim is reproduced iff every check passes."""
    pre = premise_checks(claim, premises)
    checks = [c.evaluate() for c in checks]
    if not checks:
        raise ValueError(f"{claim.id}: a claim needs at least one check")
    if not all(c.passed for c in pre):
        verdict = "inconclusive"
    else:
        verdict = "reproduced" if all(c.passed for c in checks) else "not reproduced"
    return ClaimResult(
        claim=claim.id,
        model=model,
        verdict=verdict,
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
        preconditions=pre,
    )


def premise_checks(claim: Claim, premises: dict | None) -> list[Check]:
    """The one place a claim's premises are evaluated: a :class:`Check` per registry
    precondition, read from the ``premises`` quantities the check function supplies.

    A quantity the registry names but the check does not supply is a programming error
    (the premise would silently go untested), so it raises."""
    if not claim.preconditions:
        return []
    premises = premises or {}
    out = []
    for p in claim.preconditions:
        missing = [q for q in (p.quantity, p.reference) if q is not None and q not in premises]
        if missing:
            raise KeyError(f"{claim.id}: precondition {p.id!r} needs quantities {missing}; the check supplied "
                           f"{sorted(premises)}")
        ref = premises[p.reference] if p.reference is not None else p.threshold
        se = premises.get(f"{p.quantity}_se", 0.0) or 0.0
        measured = premises[p.quantity]
        measured = float("nan") if measured is None else float(measured)
        out.append(Check(f"premise {p.id}: {p.statement}", measured, p.comparator, float(ref), p.z * float(se),
                         note=p.source).evaluate())
    return out


# ----------------------------------------------------------------------------- rendering (report, compare)
def claim_order(cid: str):
    """Report order: the registry's family order (``[[family]]``), then the claim's number."""
    fam, _, num = cid.partition("-")
    order = registry().families
    return (order.index(fam) if fam in order else len(order), int(num) if num.isdigit() else 0)


def fmt_value(v, digits=3) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int,)):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e4 else f"{v:.3e}"
    if isinstance(v, dict):
        return "; ".join(f"{k} {fmt_value(x, digits)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        if len(v) <= 4:
            return "[" + ", ".join(fmt_value(x, digits) for x in v) + "]"
        return f"[{len(v)} values]"
    return str(v).replace("|", "\\|").replace("\n", " ")
