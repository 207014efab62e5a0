"""The measurement plan under pytest-xdist (suite.family, issue 26): gw0 measures in test order, the other
workers prefetch from the back (the zoo's training first) until they meet a job gw0 started; the training
targets run last in test order, so a cold audit decides the given models first."""
from __future__ import annotations

import types

import pytest

import tests.audit  # noqa: F401 — the families and adapters, loaded before any test copies the class vocabulary
from suite import family as sf
from suite.family import Case, Measurement, Measurements, Target, audit_cases, measurement_jobs


def _family(name, calls, fail=(), subjects=lambda options: []):
    def measure(target, options):
        calls.append((name, target.label))
        if target.label in fail:
            raise RuntimeError(f"broken {target.label}")
        return f"{name}:{target.label}"

    return Measurement(name, measure, subjects, "claims.checks_x")


def _jobs(fam, labels):
    return [(fam, Target(label=lb, marks=("zoo",) if lb.startswith("zoo") else ())) for lb in labels]


def test_helper_prefetches_from_the_back_and_stops_at_gw0(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    calls = []
    fam = _family("fam", calls)
    jobs = _jobs(fam, ["smollm2", "algebra", "zoo-a", "zoo-b", "zoo-c"])
    gw0, gw1 = Measurements("run1", "gw0"), Measurements("run1", "gw1")
    assert gw0.get(fam, jobs[0][1], None) == "fam:smollm2"
    assert gw0.get(fam, jobs[1][1], None) == "fam:algebra"
    gw1.prefetch(jobs, None)
    assert calls == [("fam", "smollm2"), ("fam", "algebra"), ("fam", "zoo-c"), ("fam", "zoo-b"), ("fam", "zoo-a")]
    # gw0 reaching a prefetched target in its own tests measures again only in its own process (the disk
    # cache below measure() makes that a read); the helper's memo answers without a call
    n = len(calls)
    assert gw1.get(fam, jobs[4][1], None) == "fam:zoo-c" and len(calls) == n


def test_two_helpers_split_the_jobs_and_skip_each_others(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    calls = []
    fam = _family("fam", calls)
    jobs = _jobs(fam, ["m", "zoo-a", "zoo-b"])
    gw2 = Measurements("run2", "gw2")
    gw2._start(fam, jobs[2][1])  # gw2 has started zoo-b
    Measurements("run2", "gw1").prefetch(jobs, None)
    assert ("fam", "zoo-b") not in calls and ("fam", "zoo-a") in calls


def test_a_failing_prefetch_is_raised_by_the_test_that_needs_it(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    calls = []
    fam = _family("fam", calls, fail=("zoo-a",))
    jobs = _jobs(fam, ["zoo-a"])
    gw1 = Measurements("run3", "gw1")
    gw1.prefetch(jobs, None)
    with pytest.raises(RuntimeError, match="broken zoo-a"):  # never memoised, never a skip
        gw1.get(fam, jobs[0][1], None)
    assert calls == [("fam", "zoo-a"), ("fam", "zoo-a")]


def test_single_process_measures_in_test_order_without_marks():
    calls = []
    fam = _family("fam", calls)
    m = Measurements()
    assert m._start(fam, Target(label="x")) is None and m.get(fam, Target(label="x"), None) == "fam:x"


def _claim(name):
    return types.SimpleNamespace(applies_to=("x",), measure=(name,), status="implemented", file="x.toml")


@pytest.fixture(autouse=True)
def _class_x(monkeypatch):
    """The stand-in claims' class ``x`` is declared for the test (a copy: nothing leaks into the real vocabulary)."""
    monkeypatch.setattr(sf, "CLASSES", sf.CLASSES | {"x"})


def test_training_targets_run_last_and_jobs_are_distinct(monkeypatch):
    calls = []
    zoo, model = Target(label="zoo-a", marks=("zoo",), cost=400.0), Target(label="smollm2", scope="model")
    cheap = Target(label="zoo-b", marks=("zoo",), cost=80.0)
    fam = _family("fam", calls, subjects=lambda options: [zoo, model, cheap])
    monkeypatch.setattr(sf, "MEASUREMENTS", {"fam": fam})
    monkeypatch.setattr(sf, "CHECKS", {"TF-1": None, "TF-2": None})
    claims = {cid: _claim("fam") for cid in ("TF-2", "TF-1")}
    cases = audit_cases(None, claims)
    assert [c.target.label for c in cases] == ["smollm2", "smollm2", "zoo-b", "zoo-b", "zoo-a", "zoo-a"]
    assert [c.cid for c in cases[:2]] == ["TF-1", "TF-2"]  # the report's claim order within a subject
    jobs = measurement_jobs(cases, claims)
    assert [t.label for _, t in jobs] == ["smollm2", "zoo-b", "zoo-a"]  # a helper starts from the back: zoo-a
    offline = Target(label="hub", unavailable="not available offline")
    assert measurement_jobs([Case(fam, "TF-1", offline)], claims) == []


def test_claims_measurements_and_checks_pair_up_or_the_audit_refuses(monkeypatch):
    """A claim reading a measurement nobody registers (with a did-you-mean), a tested claim without a check, a
    check of no claim: a one-line registry error at collection, never a silently missing test."""
    from suite import errors

    monkeypatch.setattr(sf, "MEASUREMENTS", {"theta-sweep": _family("theta-sweep", [])})
    monkeypatch.setattr(sf, "CLASSES", {"x", "selective-ssm"})
    claims = {"BK-1": _claim("theta-swep"), "BK-2": _claim("theta-sweep"),
              "BK-3": types.SimpleNamespace(**{**vars(_claim("theta-sweep")), "applies_to": ("selective-sm",)})}
    monkeypatch.setattr(sf, "CHECKS", {"BK-1": None, "BK-3": None, "BK-9": None})
    with pytest.raises(errors.UsageError) as exc:
        audit_cases(None, claims)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "'theta-swep'" in msg and "theta-sweep" in msg.split("'theta-swep'")[1]  # did you mean
    assert "BK-2 has no @check('BK-2')" in msg and "@check('BK-9') checks no tested claim" in msg
    # a class of applies_to that no architecture adapter or family declares (the registry's vocabulary)
    assert "BK-3 applies to 'selective-sm'" in msg and "selective-ssm" in msg.split("'selective-sm'")[1]


def test_the_real_registry_pairs_up():
    """Every tested claim of the registry reads a registered measurement and has a check, and every check a
    claim; every class of applies_to is declared (the families and adapters loaded as the plugin loads them)."""
    from suite.registry import registry

    sf.CLASSES.discard("x")  # this test's copy: the real vocabulary only
    assert sf.wiring_problems(registry()) == []
