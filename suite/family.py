"""The one lifecycle every claim follows: its named measurement on each subject → its check → result.

A claim family is a module ``claims/checks_*.py`` (found by name, :func:`load_families`) that registers

* its **measurements**, each by name with the subjects it runs on in this run::

      @measurement("attention-pass", subjects=lambda options: model_targets(options))
      def attention_pass(target, options) -> ModelRecord: ...

  ``subjects(options) -> list[Target]`` (a ``--model`` model, a trained-here zoo entry, a WebKB graph, a
  group of models, the algebra); the function makes one typed record of one subject (cached below it,
  on disk where it costs a forward pass; once per session here, :class:`Measurements`);
* its **checks**, each by claim id: ``@check("TF-1")`` on ``check(claim, record) -> ClaimResult``.

Each claim of the registry names the measurement it reads (``measure = "attention-pass"``, or a list
where it is decided on several kinds of subject), so the audit (``claims/test_audit.py``, one test per
(claim, subject)) pairs claims with measurements by name, :func:`audit_cases`: adding a claim on an
existing measurement is its TOML record and its check. Whether a claim can be decided on a subject is
settled in one place, :func:`skip_reason`: the registry's ``applies_to`` against the target's
architecture classes, then the target's own ``unavailable`` reason (hub weights offline, with the
command that un-skips). A measurement that finds its weights missing skips the same way; every other
error is an error.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable

from suite import cache, errors
from suite.progress import note
from suite.registry import Claim, registry
from suite.results import claim_order

MODEL, PAPER = "model", "paper"


@dataclass(frozen=True)
class Target:
    """One thing a family measures in this run."""

    label: str  # the report's model column: "smollm2-135m", "zoo-mamba", "webkb-cornell", "algebra", ...
    ref: Hashable = None  # what its measurement needs (a ModelSpec, a zoo entry name, a tuple of specs, ...)
    claims: tuple[str, ...] = ()  # a subject of one claim only (TF-11's named models): those ids; () = every claim
    #                               that reads the measurement
    scope: str = PAPER  # MODEL: about a model named with --model (kept in a model-scoped run); PAPER: paper-wide
    marks: tuple[str, ...] = ()  # pytest markers ("zoo", "hub", "graph", "slow", "models")
    arch: frozenset[str] | None = None  # its CLASSES (the registry's applies_to vocabulary); None: not checked
    unavailable: str | None = None  # why it cannot be measured here (a skip reason that says how to run it)
    group: str | None = None  # xdist group: every test of one model on one worker
    cost: float = 0.0  # rough seconds to measure it on a cold cache (training included): orders the plan



@dataclass(frozen=True)
class Measurement:
    """A named measurement: ``fn(target, options)`` makes the record of one of ``subjects(options)``."""

    name: str
    fn: Callable[[Target, Any], Any]
    subjects: Callable[[Any], list[Target]]
    module: str

    def measure(self, target: Target, options) -> Any:
        return self.fn(target, options)


MEASUREMENTS: dict[str, Measurement] = {}  # by name, in registration order
CHECKS: dict[str, Callable] = {}  # by claim id
CLASSES: set[str] = set()  # the registry's applies_to vocabulary


def declare_classes(*names: str) -> None:
    """Add to the ``applies_to`` vocabulary: an architecture adapter's classes (``fixtures.adapters``), a family's
    kinds of subject (``algebra``, ``trained-zoo``, ...)."""
    CLASSES.update(names)


def measurement(name: str, subjects: Callable[[Any], list[Target]]):
    """Register ``fn(target, options) -> record`` as the measurement ``name`` on ``subjects(options)``."""

    def register(fn):
        if name in MEASUREMENTS and MEASUREMENTS[name].fn is not fn:
            raise ValueError(f"measurement {name!r} is registered twice ({MEASUREMENTS[name].module}, {fn.__module__})")
        MEASUREMENTS[name] = Measurement(name, fn, subjects, fn.__module__)
        return fn

    return register


def check(cid: str):
    """Register ``fn(claim, record) -> ClaimResult`` as the check of claim ``cid``."""

    def register(fn):
        if cid in CHECKS and CHECKS[cid] is not fn:
            raise ValueError(f"claim {cid} has two checks ({CHECKS[cid].__module__}.{CHECKS[cid].__name__}, "
                             f"{fn.__module__}.{fn.__name__})")
        CHECKS[cid] = fn
        return fn

    return register


def load_families(package) -> list:
    """Import every ``checks_*`` module of ``package`` (each registers its measurements and checks)."""
    return [importlib.import_module(f"{package.__name__}.{m.name}")
            for m in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name)
            if m.name.startswith("checks_")]


def reading(name: str, claims: dict | None = None) -> list[str]:
    """The ids of the tested claims that read measurement ``name``, in registry order."""
    return [cid for cid, c in (claims or registry()).items() if name in c.measure and c.status != "recorded"]


def wiring_problems(claims: dict) -> list[str]:
    """What does not pair up: a tested claim without a measurement or a check, a measurement name no
    registered measurement has, a check of no tested claim, a class of ``applies_to`` nothing declares."""
    out = [f"{cid} applies to {a!r}, a class no adapter or family declares" + errors.did_you_mean(a, CLASSES)
           for cid, c in claims.items() for a in c.applies_to if a not in CLASSES]
    tested = {cid: c for cid, c in claims.items() if c.status != "recorded"}
    for cid, c in tested.items():
        if not c.measure:
            out.append(f"{cid} names no measurement (measure = \"...\" in {Path(c.file).name})")
        for name in c.measure:
            if name not in MEASUREMENTS:
                out.append(f"{cid} reads measurement {name!r}, which no family registers"
                           + errors.did_you_mean(name, MEASUREMENTS))
        if cid not in CHECKS:
            out.append(f"{cid} has no @check({cid!r}) in claims/checks_*.py")
    out += [f"@check({cid!r}) checks no tested claim of the registry" + errors.did_you_mean(cid, tested)
            for cid in CHECKS if cid not in tested]
    return out


def not_applicable(claim: Claim, target: Target) -> str | None:
    """``not applicable: ...`` when the target's architecture is outside the claim's ``applies_to``."""
    if target.arch is None or set(claim.applies_to) & set(target.arch):
        return None
    return (f"not applicable: {target.label} is {', '.join(sorted(target.arch)) or 'of no listed class'}; "
            f"{claim.id} applies to {', '.join(claim.applies_to)}")


def skip_reason(claim: Claim, target: Target) -> str | None:
    """The one place a (claim, target) pair is found undecidable before measuring."""
    return not_applicable(claim, target) or target.unavailable


class Measurements:
    """Session memo: one record per (measurement, target).

    Under pytest-xdist (``run_id`` = the run's shared uid, ``worker`` = gwK) the workers overlap what is
    independent (issue 26): gw0 measures in test order (the given models first, :func:`audit_cases`), every
    other worker first :meth:`prefetch`-es the run's measurements from the back (the costliest training first),
    until it meets one gw0 has started. Each (measurement, target) is marked when a worker starts it (a file per
    job under the run's temporary folder), so no two workers start the same job; one that needs a job
    another worker is computing waits on that measurement's cache lock and reads it."""

    def __init__(self, run_id: str | None = None, worker: str | None = None):
        self._memo: dict = {}
        self.worker = worker or "gw0"
        self._marks = Path(tempfile.gettempdir()) / f"collapse-claims-run-{run_id}" if run_id else None

    def _start(self, meas: Measurement, target: Target) -> str | None:
        """Mark the job started by this worker; the worker that started it first when another did."""
        if self._marks is None:
            return None
        self._marks.mkdir(parents=True, exist_ok=True)
        path = self._marks / cache.key((meas.name, target.label, target.claims))
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return path.read_text() or "?"
        with os.fdopen(fd, "w") as f:
            f.write(self.worker)
        return None

    def get(self, meas: Measurement, target: Target, options) -> Any:
        key = (meas.name, target)
        if key not in self._memo:
            self._start(meas, target)
            self._memo[key] = meas.measure(target, options)
        return self._memo[key]

    def prefetch(self, jobs: list, options) -> None:
        """Measure ``jobs`` [(measurement, target)] from the back, skipping those another helper started, until one
        gw0 started. A job that fails is left to the tests that need it: they measure it again and raise the
        same error in their own report (never a skip)."""
        todo = list(reversed(jobs))
        note(f"plan: {self.worker} measures from the back of {len(todo)} jobs (zoo training first) while gw0 "
             f"decides the given models in test order")
        for i, (meas, target) in enumerate(todo, 1):
            owner = self._start(meas, target)
            if owner == "gw0":
                note(f"plan: {self.worker} met gw0 at {target.label}; {i - 1} jobs prefetched")
                return
            if owner is not None:
                continue
            note(f"plan: {self.worker} job {i}/{len(todo)}: {meas.name} on {target.label}")
            try:
                self._memo[(meas.name, target)] = meas.measure(target, options)
            except Exception:  # noqa: BLE001 — re-raised where a test measures it
                continue


@dataclass(frozen=True)
class Case:
    """One generated audit test: a claim on one subject of the measurement it reads."""

    measurement: Measurement
    cid: str
    target: Target

    @property
    def id(self) -> str:
        return f"{self.cid}-{self.target.label}"


TRAINS = "zoo"  # the mark of a target whose measurement trains models here (minutes each on a cold cache)


def audit_cases(options, claims: dict | None = None) -> list[Case]:
    """Registry × measurements: every tested claim on every subject of each measurement it reads (a subject
    of one claim only, ``Target.claims``, for that claim); the targets that train (:data:`TRAINS`) last,
    costliest last (so a helper worker, which starts from the back, trains those first), so a cold audit
    decides the given models first (issue 26: first verdicts within minutes, not after the zoo). The
    report orders claims by the registry, not by this run order. A claim, measurement or check that does
    not pair up is a registry error (:func:`wiring_problems`)."""
    claims = claims if claims is not None else registry()
    problems = wiring_problems(claims)
    if problems:
        raise errors.UsageError(errors.REGISTRY_INVALID.format(path="claims/registry", problem="; ".join(problems)))
    cases = [Case(meas, cid, t) for meas in MEASUREMENTS.values() for t in meas.subjects(options)
             for cid in reading(meas.name, claims) if not t.claims or cid in t.claims]
    return sorted(cases, key=lambda c: (TRAINS in c.target.marks, c.target.scope != MODEL, c.target.cost,
                                        claim_order(c.cid)))


def measurement_jobs(cases: list[Case], claims: dict) -> list:
    """The distinct (measurement, target) jobs the cases need, in run order (none for a target whose every
    case is undecidable before measuring: :func:`skip_reason`)."""
    jobs, seen = [], set()
    for c in cases:
        key = (c.measurement.name, c.target)
        if key not in seen and skip_reason(claims[c.cid], c.target) is None:
            seen.add(key)
            jobs.append((c.measurement, c.target))
    return jobs
