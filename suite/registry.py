"""The claim registry: one declarative record per claim, stored as TOML under
``claims/registry/``. Tests read thresholds, nulls, paper values and tolerances from
here; nothing numeric about a claim lives in a test body.

Schema (checked by :func:`load_registry`, no model needed)::

    [[claim]]
    id          = "TF-1"                      # family prefix + number
    version     = 1                           # bump when the test's meaning changes
    kind        = "measurement"               # measurement | algebra | prediction | speculation
    status      = "implemented"               # implemented | pending
    source      = "§4.1, Table 1/4"           # where in the seed
    statement   = "..."
    quantity    = "..."                       # what is measured, exactly
    comparator  = ">"                         # see COMPARATORS
    threshold   = 0.20 | [a, b] | "text"      # the number the quantity is compared with
    null        = "..."                       # what the quantity is compared against
    applies_to  = ["softmax-attention"]       # architectures (see ARCH_CLASSES)
    paper_values = { key = value, ... }
    [claim.tolerance]  value / unit / provenance
    [claim.params]     named constants the test reads (onset threshold, ranks, ...)
    [claim.expected."<model label>"]  verdict / reason  (recorded disagreements)
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite import errors

REGISTRY_DIR = Path(__file__).resolve().parent.parent / "claims" / "registry"

KINDS = {"measurement", "algebra", "prediction", "speculation"}
STATUSES = {"implemented", "pending"}
COMPARATORS = {">", "<", ">=", "<=", "in", "sign", "monotone", "all", "report"}
ARCH_CLASSES = {
    "algebra",
    "softmax-attention",
    "rope",
    "family",
    "graph-attention",
    "selective-ssm",
    "rwkv4",
    "attention-residuals",
    "all-routers",
    "trained-zoo",
}
VERDICTS = ("reproduced", "not reproduced", "not applicable", "skipped", "error", "pending")
REQUIRED = (
    "id", "version", "kind", "status", "source", "statement", "quantity", "comparator",
    "threshold", "null", "applies_to", "tolerance",
)
ID_RE = re.compile(r"^(TF|ID|GR|MB|RW|AR|SC|PR|BK)-\d+$")


@dataclass(frozen=True)
class Tolerance:
    value: float
    unit: str
    provenance: str


@dataclass(frozen=True)
class Claim:
    id: str
    version: int
    kind: str
    status: str
    source: str
    statement: str
    quantity: str
    comparator: str
    threshold: Any
    null: Any
    applies_to: tuple[str, ...]
    tolerance: Tolerance
    paper_values: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)
    notes: str = ""
    file: str = ""

    def param(self, name: str):
        """A named constant of this claim; a missing one is a registry error, not a KeyError."""
        try:
            return self.params[name]
        except KeyError:
            raise errors.UsageError(
                errors.REGISTRY_INVALID.format(
                    path=self.file, problem=f"{self.id} has no param {name!r}"
                    + errors.did_you_mean(name, self.params)
                )
            ) from None

    def expected_verdict(self, model_label: str) -> str | None:
        rec = self.expected.get(model_label)
        return None if rec is None else rec.get("verdict")


def _problem(path, msg):
    return errors.UsageError(errors.REGISTRY_INVALID.format(path=path, problem=msg))


def _parse(rec: dict, path: Path) -> Claim:
    missing = [k for k in REQUIRED if k not in rec]
    cid = rec.get("id", "?")
    if missing:
        raise _problem(path, f"claim {cid} lacks {', '.join(missing)}")
    if not ID_RE.match(cid):
        raise _problem(path, f"claim id {cid!r} does not match {ID_RE.pattern}")
    if rec["kind"] not in KINDS:
        raise _problem(path, f"{cid}: kind {rec['kind']!r} not in {sorted(KINDS)}")
    if rec["status"] not in STATUSES:
        raise _problem(path, f"{cid}: status {rec['status']!r} not in {sorted(STATUSES)}")
    if rec["comparator"] not in COMPARATORS:
        raise _problem(path, f"{cid}: comparator {rec['comparator']!r} not in {sorted(COMPARATORS)}")
    archs = rec["applies_to"]
    if not isinstance(archs, list) or not archs or set(archs) - ARCH_CLASSES:
        raise _problem(path, f"{cid}: applies_to must be a non-empty subset of {sorted(ARCH_CLASSES)}")
    if not isinstance(rec["version"], int) or rec["version"] < 1:
        raise _problem(path, f"{cid}: version must be a positive integer")
    tol = rec["tolerance"]
    if not isinstance(tol, dict) or {"value", "unit", "provenance"} - set(tol):
        raise _problem(path, f"{cid}: tolerance needs value, unit and provenance")
    if not str(tol["provenance"]).strip():
        raise _problem(path, f"{cid}: tolerance provenance is empty")
    if rec["comparator"] == "in":
        thr = rec["threshold"]
        if not (isinstance(thr, list) and len(thr) == 2 and thr[0] <= thr[1]):
            raise _problem(path, f"{cid}: comparator 'in' needs threshold [low, high]")
    for label, exp in rec.get("expected", {}).items():
        if exp.get("verdict") not in VERDICTS or not exp.get("reason"):
            raise _problem(path, f"{cid}: expected[{label!r}] needs a verdict in {VERDICTS} and a reason")
    known = set(REQUIRED) | {"paper_values", "params", "expected", "notes"}
    extra = set(rec) - known
    if extra:
        raise _problem(path, f"{cid}: unknown fields {sorted(extra)}")
    return Claim(
        id=cid, version=rec["version"], kind=rec["kind"], status=rec["status"],
        source=rec["source"], statement=rec["statement"], quantity=rec["quantity"],
        comparator=rec["comparator"], threshold=rec["threshold"], null=rec["null"],
        applies_to=tuple(archs),
        tolerance=Tolerance(float(tol["value"]), str(tol["unit"]), str(tol["provenance"])),
        paper_values=dict(rec.get("paper_values", {})), params=dict(rec.get("params", {})),
        expected=dict(rec.get("expected", {})), notes=rec.get("notes", ""), file=str(path),
    )


class Registry(dict):
    """``id -> Claim``; ``registry["TF-9"]`` raises a usage error with a suggestion."""

    def __missing__(self, key):
        raise errors.UsageError(
            errors.UNKNOWN_CLAIM.format(claim=key, hint=errors.did_you_mean(key, self.keys()))
        )


def load_registry(directory: Path | str = REGISTRY_DIR) -> Registry:
    directory = Path(directory)
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise _problem(directory, "no *.toml claim files")
    reg = Registry()
    for path in files:
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise _problem(path, f"invalid TOML: {exc}") from None
        for rec in data.get("claim", []):
            claim = _parse(rec, path)
            if claim.id in reg:
                raise _problem(path, f"duplicate claim id {claim.id} (also in {reg[claim.id].file})")
            reg[claim.id] = claim
    return reg


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The project's registry, loaded once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY
