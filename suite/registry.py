"""The claim registry: one declarative record per claim, stored as TOML under
``claims/registry/``. Tests read thresholds, nulls, paper values and tolerances from
here; nothing numeric about a claim lives in a test body.

Schema (checked by :func:`load_registry`, no model needed)::

    [[claim]]
    id          = "TF-1"                      # family prefix + number
    version     = 1                           # bump when the test's meaning changes
    kind        = "measurement"               # measurement | algebra | prediction | speculation
    status      = "implemented"               # implemented | pending | recorded (not tested here:
                                              #   the record's ``not_tested`` says what a test would need)
    source      = "§4.1, Table 1/4"           # where in the seed
    statement   = "..."
    quantity    = "..."                       # what is measured, exactly
    comparator  = ">"                         # see COMPARATORS
    threshold   = 0.20 | [a, b] | "text"      # the number the quantity is compared with
    null        = "..."                       # what the quantity is compared against
    applies_to  = ["softmax-attention"]       # classes (suite.family.CLASSES: the adapters' and families')
    measure     = "attention-pass"            # the named measurement it reads (suite.family.measurement),
                                              #   or a list: one per kind of subject it is decided on
    paper_values = { key = value, ... }
    [claim.tolerance]  value / unit / provenance
    [claim.params]     named constants the test reads (onset threshold, ranks, ...)
    [claim.expected."<model label>"]  verdict / reason  (recorded disagreements)
    [[claim.preconditions]]  the claim's premise (see :class:`Precondition`): either inline
                       (id, quantity, comparator, threshold | reference, source, statement)
                       or ``use = "<premise id>"`` naming a shared ``[[premise]]`` record
                       (``claims/registry/premises.toml``)
    [[claim.changelog]]  pre-registration: one entry per decision-rule change (see :class:`Change`):
                       version, date, change, why, verdict_seen (the verdict seen under the rule
                       before it, or "none"); every version above 1 has its entry
    [[claim.alternatives]]  the robustness panel (see :class:`Alternative`): a reasonable other
                       choice the seeds' wording or the protocol leaves free (name, why, and the
                       params / threshold it sets); the verdict is recomputed under each, and the
                       report marks the verdict *fragile* if one flips it — beside it, never in it
    regime_check = "…"  optional: the name (prefix) of the check that says the measured model is in
                       the regime the claim is about, where that regime is the claim's own
                       prediction (so it cannot be a premise); the stand-in label reports it
    [claim.intervention]  optional (see :class:`Intervention`): the claim reads a model changed by an
                       intervention — kind "re-run" (the changed model runs on the text: it carries
                       the ``intervened-model-functions`` premise, by the policy of every family) or
                       "offline" (the change is applied to captured quantities, no changed model runs:
                       ``what`` says why no intervened-model premise applies); ``what`` names the passes

Families (``[[family]]`` in ``families.toml``): the claim-id prefixes, in report order. Premise policies
(``[[policy]]`` in ``premises.toml``): one premise policy per family, the shared premises
every claim of the family carries on every model (``suite.registry.policy_violations``).

A claim whose premise does not hold on a model reads *inconclusive* with the numbers of the
failed premise: neither reproduced nor refuted (DEVELOPERS: "conclusive only when the claim's
premise holds"). Premises come from the seeds' own wording, never from a claim's outcome.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from suite import errors

REGISTRY_DIR = Path(__file__).resolve().parent.parent / "claims" / "registry"

KINDS = {"measurement", "algebra", "prediction", "speculation"}
STATUSES = {"implemented", "pending", "recorded"}
COMPARATORS = {">", "<", ">=", "<=", "in", "sign", "monotone", "all", "report"}
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not applicable", "skipped", "error", "pending", "recorded")
PRECONDITION_COMPARATORS = {">", "<", ">=", "<="}
REQUIRED = (
    "id", "version", "kind", "status", "source", "statement", "quantity", "comparator",
    "threshold", "null", "applies_to", "tolerance",
)
ID_RE = re.compile(r"^(?P<prefix>[A-Z]+)-\d+$")


@dataclass(frozen=True)
class Tolerance:
    value: float
    unit: str
    provenance: str


@dataclass(frozen=True)
class Precondition:
    """One premise of a claim: ``quantity <comparator> threshold`` (a number) or
    ``quantity <comparator> reference`` (another quantity the check supplies, e.g. the
    uniform-attention level at this T), beyond ``z`` standard errors when the check supplies
    ``<quantity>_se``. ``source`` is the line of the seed that makes it the claim's premise."""

    id: str
    quantity: str
    comparator: str
    source: str
    statement: str
    threshold: float | None = None
    reference: str | None = None
    z: float = 0.0


@dataclass(frozen=True)
class Change:
    """One pre-registration entry: the decision rule changed at ``version`` (or, ``bumped = False``,
    within it before this record existed), what changed, why, and the verdict seen before."""

    version: int
    date: str
    change: str
    why: str
    verdict_seen: str
    bumped: bool = True
    commit: str = ""


@dataclass(frozen=True)
class Alternative:
    """One declared alternative choice of the robustness panel: the claim's ``params`` updated by
    ``params`` (and ``threshold`` replaced when given), the same measurement, the same check."""

    name: str
    why: str
    params: dict = field(default_factory=dict)
    threshold: Any = None
    needs: str = ""  # "" = recomputable from the measurement; else what it needs (a new pass, training)


@dataclass(frozen=True)
class Policy:
    """One family's premise policy: the shared premises every claim of the family carries."""

    family: str
    prefixes: tuple[str, ...]
    claims: tuple[str, ...]
    premises: tuple[str, ...]
    source: str
    exceptions: dict = field(default_factory=dict)  # claim id -> why it does not carry one of them
    aliases: dict = field(default_factory=dict)  # premise id -> the policy premise it stands for (TF-8's recurrent side)

    intervention: str = ""  # applies to the claims whose [claim.intervention] kind is this (any family)

    def regime_premises(self) -> tuple[str, ...]:
        return tuple(self.premises) + tuple(self.aliases)


INTERVENTION_KINDS = ("re-run", "offline")


@dataclass(frozen=True)
class Intervention:
    """A claim that reads a changed model (DEVELOPERS: "an intervention that breaks the model … leaves
    nothing to read"). ``re-run``: the changed model runs on the text, so its loss is measured and the
    ``intervened-model-functions`` premise reads it (every intervened pass the decision reads);
    ``offline``: the change is applied to captured quantities (no changed model predicts anything) and
    ``what`` says so."""

    kind: str
    what: str


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
    not_tested: str = ""  # status "recorded": why this suite does not test it, and what a test would need
    file: str = ""
    preconditions: tuple = ()
    changelog: tuple = ()  # Change entries, oldest first
    alternatives: tuple = ()  # Alternative entries (the robustness panel)
    regime_check: str = ""
    intervention: Intervention | None = None
    measure: tuple[str, ...] = ()  # the named measurements (suite.family.measurement) it is decided on

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


PRECONDITION_FIELDS = {"id", "quantity", "comparator", "threshold", "reference", "source", "statement", "z"}


def _parse_precondition(rec: dict, where: str, path) -> Precondition:
    extra = set(rec) - PRECONDITION_FIELDS
    if extra:
        raise _problem(path, f"{where}: unknown precondition fields {sorted(extra)}")
    missing = [k for k in ("id", "quantity", "comparator", "source", "statement") if not str(rec.get(k, "")).strip()]
    if missing:
        raise _problem(path, f"{where}: precondition lacks {', '.join(missing)}")
    if rec["comparator"] not in PRECONDITION_COMPARATORS:
        raise _problem(path, f"{where}: precondition comparator {rec['comparator']!r} not in {sorted(PRECONDITION_COMPARATORS)}")
    if ("threshold" in rec) == ("reference" in rec):
        raise _problem(path, f"{where}: precondition {rec['id']!r} needs exactly one of threshold (a number) or reference (a quantity)")
    if "threshold" in rec and not isinstance(rec["threshold"], (int, float)):
        raise _problem(path, f"{where}: precondition {rec['id']!r} threshold must be a number")
    return Precondition(id=rec["id"], quantity=rec["quantity"], comparator=rec["comparator"], source=rec["source"],
                        statement=rec["statement"], threshold=None if "threshold" not in rec else float(rec["threshold"]),
                        reference=rec.get("reference"), z=float(rec.get("z", 0.0)))


def _claim_preconditions(rec: dict, path, premises: dict) -> tuple:
    out = []
    for i, pre in enumerate(rec.get("preconditions", [])):
        where = f"{rec['id']} precondition {i + 1}"
        if not isinstance(pre, dict):
            raise _problem(path, f"{where}: must be a table")
        if "use" in pre:
            if set(pre) != {"use"}:
                raise _problem(path, f"{where}: `use` stands alone (the shared premise carries its own fields)")
            if pre["use"] not in premises:
                raise _problem(path, f"{where}: unknown premise {pre['use']!r}" + errors.did_you_mean(pre["use"], premises))
            out.append(premises[pre["use"]])
        else:
            out.append(_parse_precondition(pre, where, path))
    ids = [p.id for p in out]
    if len(set(ids)) != len(ids):
        raise _problem(path, f"{rec['id']}: duplicate precondition ids {ids}")
    return tuple(out)


def _parse(rec: dict, path: Path, premises: dict | None = None, families: tuple = ()) -> Claim:
    missing = [k for k in REQUIRED if k not in rec]
    cid = rec.get("id", "?")
    if missing:
        raise _problem(path, f"claim {cid} lacks {', '.join(missing)}")
    m = ID_RE.match(cid)
    if not m or m["prefix"] not in families:
        raise _problem(path, f"claim id {cid!r} is not <family prefix>-<number> with a prefix of [[family]] "
                             f"({', '.join(families)})")
    if rec["kind"] not in KINDS:
        raise _problem(path, f"{cid}: kind {rec['kind']!r} not in {sorted(KINDS)}")
    if rec["status"] not in STATUSES:
        raise _problem(path, f"{cid}: status {rec['status']!r} not in {sorted(STATUSES)}")
    if rec["status"] == "recorded" and not str(rec.get("not_tested", "")).strip():
        raise _problem(path, f"{cid}: a recorded (untested) claim needs not_tested: why, and what a test would need")
    if rec["comparator"] not in COMPARATORS:
        raise _problem(path, f"{cid}: comparator {rec['comparator']!r} not in {sorted(COMPARATORS)}")
    archs = rec["applies_to"]
    if not isinstance(archs, list) or not archs or not all(isinstance(a, str) for a in archs):
        raise _problem(path, f"{cid}: applies_to must be a non-empty list of classes (suite.family.CLASSES)")
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
    changelog = _parse_changelog(rec, path)
    alternatives = _parse_alternatives(rec, path)
    known = set(REQUIRED) | {"paper_values", "params", "expected", "notes", "preconditions", "not_tested",
                             "changelog", "alternatives", "regime_check", "intervention", "measure"}
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
        expected=dict(rec.get("expected", {})), notes=rec.get("notes", ""), not_tested=rec.get("not_tested", ""), file=str(path),
        preconditions=_claim_preconditions(rec, path, premises or {}),
        changelog=changelog, alternatives=alternatives, regime_check=str(rec.get("regime_check", "")),
        intervention=_parse_intervention(rec, path), measure=_parse_measure(rec, path),
    )


def _parse_measure(rec: dict, path) -> tuple[str, ...]:
    m = rec.get("measure", ())
    names = (m,) if isinstance(m, str) else tuple(m)
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise _problem(path, f"{rec['id']}: measure must name a measurement (a string, or a list of them)")
    if names and rec["status"] == "recorded":
        raise _problem(path, f"{rec['id']}: a recorded (untested) claim reads no measurement")
    return names


def _parse_intervention(rec: dict, path) -> Intervention | None:
    iv = rec.get("intervention")
    if iv is None:
        return None
    cid = rec["id"]
    if not isinstance(iv, dict) or set(iv) != {"kind", "what"} or not str(iv["what"]).strip():
        raise _problem(path, f"{cid}: [claim.intervention] needs exactly kind and what")
    if iv["kind"] not in INTERVENTION_KINDS:
        raise _problem(path, f"{cid}: intervention kind {iv['kind']!r} is not one of {INTERVENTION_KINDS}")
    return Intervention(kind=str(iv["kind"]), what=str(iv["what"]))


CHANGE_FIELDS = {"version", "date", "change", "why", "verdict_seen", "bumped", "commit"}
ALTERNATIVE_FIELDS = {"name", "why", "params", "threshold", "needs"}


def _parse_changelog(rec: dict, path) -> tuple:
    cid, out = rec["id"], []
    for i, e in enumerate(rec.get("changelog", [])):
        where = f"{cid} changelog entry {i + 1}"
        if not isinstance(e, dict):
            raise _problem(path, f"{where}: must be a table")
        extra = set(e) - CHANGE_FIELDS
        missing = [k for k in ("version", "date", "change", "why", "verdict_seen") if not str(e.get(k, "")).strip()]
        if extra or missing:
            raise _problem(path, f"{where}: " + (f"unknown fields {sorted(extra)}" if extra else f"lacks {', '.join(missing)}"))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(e["date"])):
            raise _problem(path, f"{where}: date must be YYYY-MM-DD")
        out.append(Change(version=int(e["version"]), date=str(e["date"]), change=e["change"], why=e["why"],
                          verdict_seen=e["verdict_seen"], bumped=bool(e.get("bumped", True)), commit=str(e.get("commit", ""))))
    bumps = sorted({c.version for c in out if c.bumped})
    if bumps != list(range(2, rec["version"] + 1)):
        raise _problem(path, f"{cid}: version {rec['version']} needs one changelog entry per version 2..{rec['version']} "
                             f"(what changed, why, the verdict seen before); it has entries for {bumps}")
    return tuple(out)


def _parse_alternatives(rec: dict, path) -> tuple:
    cid, out = rec["id"], []
    for i, a in enumerate(rec.get("alternatives", [])):
        where = f"{cid} alternative {i + 1}"
        extra = set(a) - ALTERNATIVE_FIELDS if isinstance(a, dict) else {"(not a table)"}
        if extra or not str(a.get("name", "")).strip() or not str(a.get("why", "")).strip():
            raise _problem(path, f"{where}: needs name and why" + (f"; unknown fields {sorted(extra)}" if extra else ""))
        params = dict(a.get("params", {}))
        unknown = set(params) - set(rec.get("params", {}))
        if unknown:
            raise _problem(path, f"{where}: sets params the claim does not have {sorted(unknown)}")
        if not params and "threshold" not in a and not a.get("needs"):
            raise _problem(path, f"{where}: an alternative sets params or threshold, or says what it needs")
        out.append(Alternative(name=a["name"], why=a["why"], params=params, threshold=a.get("threshold"),
                               needs=str(a.get("needs", ""))))
    names = [a.name for a in out]
    if len(set(names)) != len(names):
        raise _problem(path, f"{cid}: duplicate alternative names {names}")
    return tuple(out)


#: the fields whose change changes a verdict's meaning: a change to one needs a version bump
DECISION_FIELDS = ("quantity", "comparator", "threshold", "null", "params", "tolerance", "preconditions", "applies_to",
                   "regime_check")


def decision_fingerprint(claim: Claim) -> str:
    """sha256 of the claim's decision-relevant fields (:data:`DECISION_FIELDS`); bookkeeping (notes,
    source, statement, expected verdicts, changelog, alternatives, a premise's wording) does not enter it.
    The check functions' code is not fingerprinted: a change there bumps the version by review."""
    def norm(v):
        if is_dataclass(v):
            return norm(asdict(v))
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in sorted(v.items())}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v

    doc = {k: norm(getattr(claim, k)) for k in DECISION_FIELDS}
    # a premise decides by its quantity, comparator, threshold / reference and z; its statement and source are
    # its wording (a reworded shared premise does not change any claim's rule)
    doc["preconditions"] = [{k: v for k, v in p.items() if k not in ("statement", "source")} for p in doc["preconditions"]]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def policy_violations(reg: "Registry", policies: tuple) -> list[str]:
    """Every implemented claim of a family carries the family's premises (or its record says why not)."""
    out = []
    for pol in policies:
        for cid, c in reg.items():
            if pol.intervention:
                member = c.intervention is not None and c.intervention.kind == pol.intervention
            else:
                member = cid.split("-")[0] in pol.prefixes or cid in pol.claims
            if c.status != "implemented" or not member:
                continue
            have = {p.id for p in c.preconditions}
            have |= {pol.aliases[i] for i in have if i in pol.aliases}
            for need in pol.premises:
                if need not in have and cid not in pol.exceptions:
                    out.append(f"{cid} lacks the {pol.family} family's premise {need!r} ({pol.source})")
    return out


class Registry(dict):
    """``id -> Claim``; ``registry["TF-9"]`` raises a usage error with a suggestion. ``policies``: the
    families' premise policies; ``families``: the claim-id prefixes in report order (``[[family]]``)."""

    policies: tuple = ()
    families: tuple = ()

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
    docs = []
    for path in files:
        try:
            docs.append((path, tomllib.loads(path.read_text())))
        except tomllib.TOMLDecodeError as exc:
            raise _problem(path, f"invalid TOML: {exc}") from None
    families = tuple(rec.get("prefix") for _, data in docs for rec in data.get("family", []))
    if not all(isinstance(f, str) and f.isalpha() and f.isupper() for f in families):
        raise _problem(directory, f"every [[family]] needs prefix = \"<capital letters>\" (got {families})")
    if not families:  # a fragment of a registry (a self-test's): the project's families
        families = tuple(rec["prefix"] for rec in tomllib.loads((REGISTRY_DIR / "families.toml").read_text())["family"])
    if len(set(families)) != len(families):
        raise _problem(directory, f"a [[family]] prefix is declared twice: {families}")
    premises: dict[str, Precondition] = {}
    policies = []
    for path, data in docs:
        for rec in data.get("policy", []):
            try:
                policies.append(Policy(family=rec["family"], prefixes=tuple(rec.get("prefixes", [])),
                                       claims=tuple(rec.get("claims", [])), premises=tuple(rec["premises"]),
                                       source=rec["source"], exceptions=dict(rec.get("exceptions", {})),
                                       aliases=dict(rec.get("aliases", {})),
                                       intervention=str(rec.get("intervention", ""))))
            except KeyError as exc:
                raise _problem(path, f"policy {rec.get('family', '?')} lacks {exc.args[0]}") from None
    for path, data in docs:
        for rec in data.get("premise", []):
            pre = _parse_precondition(rec, f"premise {rec.get('id', '?')}", path)
            if pre.id in premises:
                raise _problem(path, f"duplicate premise id {pre.id}")
            premises[pre.id] = pre
    for path, data in docs:
        for rec in data.get("claim", []):
            claim = _parse(rec, path, premises, families)
            if claim.id in reg:
                raise _problem(path, f"duplicate claim id {claim.id} (also in {reg[claim.id].file})")
            reg[claim.id] = claim
    for pol in policies:
        unknown = [p for p in pol.premises if p not in premises]
        if unknown:
            raise _problem(directory, f"policy {pol.family}: unknown premises {unknown}")
    reg.policies, reg.families = tuple(policies), families
    bad = policy_violations(reg, reg.policies)
    if bad:
        raise _problem(directory, "; ".join(bad))
    return reg


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The project's registry, loaded once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY
