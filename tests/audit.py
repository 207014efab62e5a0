"""The audit's cases as the self-tests read them: every family loaded, the (claim, subject) pairs of one family
module, a named measurement run on a subject (``suite.family``)."""
from __future__ import annotations

import claims
from suite.family import CHECKS, MEASUREMENTS, audit_cases, load_families

load_families(claims)


def cases(module, options) -> list:
    """The audit cases of ``options`` whose measurement ``module`` registers."""
    return [c for c in audit_cases(options) if c.measurement.module == module.__name__]


def pairs(module, options) -> list[tuple[str, str]]:
    return [(c.cid, c.target.label) for c in cases(module, options)]


def subjects(name: str, options) -> list:
    """The subjects of measurement ``name`` in this run."""
    return MEASUREMENTS[name].subjects(options)


def measure(name: str, target, options):
    return MEASUREMENTS[name].measure(target, options)


def checks_of(module) -> dict:
    return {cid: fn for cid, fn in CHECKS.items() if fn.__module__ == module.__name__}
