"""The one lifecycle every claim family follows: targets → measure → check → result.

A family is a module of ``claims/`` (listed in :data:`claims.FAMILIES`) that exposes

* ``targets(options) -> list[Target]``: what it measures in this run (a ``--model`` model, a
  trained-here zoo entry, a WebKB graph, a group of models, the algebra);
* ``measure(target, options)``: one typed measurement record of that target (cached below it,
  on disk where it costs a forward pass; once per session here);
* ``CHECKS = {"TF-1": check, ...}``: every check is ``check(claim, measurement) -> ClaimResult``.

The audit (``claims/test_audit.py``) is generated from registry × targets: one test per
(claim id, target). Whether a claim can be decided on a target is settled in one place,
:func:`skip_reason`: the registry's ``applies_to`` against the target's architecture classes,
then the target's own ``unavailable`` reason (hub weights offline, with the command that
un-skips). A measurement that finds its weights missing skips the same way; every other error
is an error.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable

from suite import cache
from suite.progress import note
from suite.registry import Claim

MODEL, PAPER = "model", "paper"


@dataclass(frozen=True)
class Target:
    """One thing a family measures in this run."""

    label: str  # the report's model column: "smollm2-135m", "zoo-mamba", "webkb-cornell", "algebra", ...
    ref: Hashable = None  # what ``measure`` needs: a ModelSpec, a zoo entry name, a tuple of specs, ...
    claims: tuple[str, ...] = ()  # the family's claim ids decided on it; () = every id in CHECKS
    scope: str = PAPER  # MODEL: about a model named with --model (kept in a model-scoped run); PAPER: paper-wide
    marks: tuple[str, ...] = ()  # pytest markers ("zoo", "hub", "graph", "slow", "models")
    arch: frozenset[str] | None = None  # registry ARCH_CLASSES the target belongs to; None: not checked
    unavailable: str | None = None  # why it cannot be measured here (a skip reason that says how to run it)
    group: str | None = None  # xdist group: every test of one model on one worker
    cost: float = 0.0  # rough seconds to measure it on a cold cache (training included): orders the plan

    def ids(self, checks: dict) -> list[str]:
        return list(self.claims) if self.claims else list(checks)


def load_families(names) -> list:
    return [importlib.import_module(n) for n in names]


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
    """Session memo: one ``measure(target, options)`` per (family, target).

    Under pytest-xdist (``run_id`` = the run's shared uid, ``worker`` = gwK) the workers overlap what is
    independent (issue 26): gw0 measures in test order (the given models first, :func:`audit_cases`), every
    other worker first :meth:`prefetch`-es the run's measurements from the back (the costliest training first),
    until it meets one gw0 has started. Each (family, target) is marked when a worker starts it (a file per
    job under the run's temporary folder), so no two workers start the same job; one that needs a job
    another worker is computing waits on that measurement's cache lock and reads it."""

    def __init__(self, run_id: str | None = None, worker: str | None = None):
        self._memo: dict = {}
        self.worker = worker or "gw0"
        self._marks = Path(tempfile.gettempdir()) / f"collapse-claims-run-{run_id}" if run_id else None

    def _start(self, family, target: Target) -> str | None:
        """Mark the job started by this worker; the worker that started it first when another did."""
        if self._marks is None:
            return None
        self._marks.mkdir(parents=True, exist_ok=True)
        path = self._marks / cache.key((family.__name__, target.label, target.claims))
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return path.read_text() or "?"
        with os.fdopen(fd, "w") as f:
            f.write(self.worker)
        return None

    def get(self, family, target: Target, options) -> Any:
        key = (family.__name__, target)
        if key not in self._memo:
            self._start(family, target)
            self._memo[key] = family.measure(target, options)
        return self._memo[key]

    def prefetch(self, jobs: list, options) -> None:
        """Measure ``jobs`` [(family, target)] from the back, skipping those another helper started, until one
        gw0 started. A job that fails is left to the tests that need it: they measure it again and raise the
        same error in their own report (never a skip)."""
        todo = list(reversed(jobs))
        note(f"plan: {self.worker} measures from the back of {len(todo)} jobs (zoo training first) while gw0 "
             f"decides the given models in test order")
        for i, (family, target) in enumerate(todo, 1):
            owner = self._start(family, target)
            if owner == "gw0":
                note(f"plan: {self.worker} met gw0 at {target.label}; {i - 1} jobs prefetched")
                return
            if owner is not None:
                continue
            note(f"plan: {self.worker} job {i}/{len(todo)}: {family.__name__.rsplit('.', 1)[-1]} on {target.label}")
            try:
                self._memo[(family.__name__, target)] = family.measure(target, options)
            except Exception:  # noqa: BLE001 — re-raised where a test measures it
                continue


@dataclass(frozen=True)
class Case:
    """One generated audit test: a claim of a family on one of its targets."""

    family: Any
    cid: str
    target: Target

    @property
    def id(self) -> str:
        return f"{self.cid}-{self.target.label}"


TRAINS = "zoo"  # the mark of a target whose measurement trains models here (minutes each on a cold cache)


def audit_cases(families, options) -> list[Case]:
    """Registry × targets: every family's claims on every target it lists for this run; the targets that train
    (:data:`TRAINS`) last, costliest last (so a helper worker, which starts from the back, trains those first),
    so a cold audit decides the given models first (issue 26: first verdicts within minutes, not after the
    zoo). The report orders claims by the registry, not by this run order."""
    cases = [Case(fam, cid, t) for fam in families for t in fam.targets(options) for cid in t.ids(fam.CHECKS)]
    return sorted(cases, key=lambda c: (TRAINS in c.target.marks, c.target.cost))


def measurement_jobs(cases: list[Case], claims: dict) -> list:
    """The distinct (family, target) measurements the cases need, in run order (none for a target whose every
    case is undecidable before measuring: :func:`skip_reason`)."""
    jobs, seen = [], set()
    for c in cases:
        key = (c.family.__name__, c.target)
        if key not in seen and skip_reason(claims[c.cid], c.target) is None:
            seen.add(key)
            jobs.append((c.family, c.target))
    return jobs
