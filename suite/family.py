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
from dataclasses import dataclass
from typing import Any, Hashable

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
    """Session memo: one ``measure(target, options)`` per (family, target)."""

    def __init__(self):
        self._memo: dict = {}

    def get(self, family, target: Target, options) -> Any:
        key = (family.__name__, target)
        if key not in self._memo:
            self._memo[key] = family.measure(target, options)
        return self._memo[key]


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
    (:data:`TRAINS`) last, so a cold audit decides the given models first (issue 26: first verdicts within
    minutes, not after the zoo). The report orders claims by the registry, not by this run order."""
    cases = [Case(fam, cid, t) for fam in families for t in fam.targets(options) for cid in t.ids(fam.CHECKS)]
    return sorted(cases, key=lambda c: TRAINS in c.target.marks)
