"""The algebra claims' Hypothesis harness: a violated property is shrunk to a minimal
counterexample, and the verdict is *not reproduced* with that example in its checks; the
family's interface (one paper-wide target, ``algebra``; measure() runs the four searches into one
record); and the hard nulls of ID-1..3 and TF-3 through the checks' record."""
from __future__ import annotations

import inspect

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from claims import checks_identity as ci
from claims.checks_identity import AlgebraMeasurement, Id1Examples, Id2Examples, Id3Examples, Tf3Null
from suite.family import CHECKS
from suite.registry import registry

REG = registry()
BILINEAR_RTOL = 1e-10  # least-squares round-off of an exactly bilinear score (float64, 80 samples, d = 4)


def test_a_violated_property_is_shrunk_and_read_not_reproduced():
    @given(n=st.integers(0, 10_000))
    def prop(n):
        assert n < 17, f"n = {n}"  # false from 17 on: the minimal counterexample is n = 17

    bad = ci.falsified(prop)
    assert bad is not None and "n=17" in bad and "n = 17" in bad
    r = ci.check_id2(REG["ID-2"], AlgebraMeasurement(id2=Id2Examples(deficits=[0.1, 0.2], counterexample=bad)))
    assert r.verdict == "not reproduced"
    assert any("shrunk to" in (c.note or "") and "n=17" in c.note for c in r.checks)


def test_a_property_that_holds_reads_reproduced():
    @given(x=st.floats(0, 1))
    def prop(x):
        assert x * x <= 1.0

    assert ci.falsified(prop) is None
    assert ci.check_id2(REG["ID-2"], AlgebraMeasurement(id2=Id2Examples(deficits=[0.1, 0.2]))).verdict == "reproduced"


# ----------------------------------------------------------------------------- the family interface
def test_targets_are_the_algebra():
    """``algebra`` in the default run: one paper-wide subject, ``algebra``, for ID-1..3 and TF-3."""
    from suite.family import skip_reason
    from suite.options import RunOptions
    from tests import audit

    options = RunOptions(models=("smollm2-135m",))
    assert sorted(audit.pairs(ci, options)) == [
        ("ID-1", "algebra"), ("ID-2", "algebra"), ("ID-3", "algebra"), ("TF-3", "algebra")]
    (t,) = audit.subjects("algebra", options)
    assert t.scope == "paper" and not t.marks and t.unavailable is None
    assert all(skip_reason(REG[cid], t) is None for cid in audit.checks_of(ci))
    for fn in audit.checks_of(ci).values():
        assert list(inspect.signature(fn).parameters) == ["claim", "m"]


def test_measure_runs_each_search_with_its_claim(monkeypatch):
    """measure(): each claim's search, with that claim's registry record, into one record (the searches
    themselves are the audit's: claims/test_audit.py runs them)."""
    from suite.family import Target
    from suite.options import RunOptions

    seen = {}
    for name, cls in (("search_id1", Id1Examples), ("search_id2", Id2Examples), ("search_id3", Id3Examples),
                      ("search_tf3", Tf3Null)):
        monkeypatch.setattr(ci, name, lambda claim, name=name, cls=cls: seen.setdefault(name, claim.id) and cls())
    rec = ci.measure(Target(label="algebra"), RunOptions(models=("smollm2-135m",)))
    assert seen == {"search_id1": "ID-1", "search_id2": "ID-2", "search_id3": "ID-3", "search_tf3": "TF-3"}
    assert rec.label == "algebra"
    assert (type(rec.id1), type(rec.id2), type(rec.id3), type(rec.tf3)) == (Id1Examples, Id2Examples, Id3Examples,
                                                                           Tf3Null)


def test_the_searches_hold_on_the_algebra():
    """Positive controls: ID-1..3's searches (cheap; TF-3's 2000-cloud ladder runs in the audit) find no
    counterexample and their checks read reproduced."""
    for cid, search, field in (("ID-1", ci.search_id1, "id1"), ("ID-2", ci.search_id2, "id2"),
                               ("ID-3", ci.search_id3, "id3")):
        found = search(REG[cid])
        assert found.counterexample is None, (cid, found.counterexample)
        r = CHECKS[cid](REG[cid], AlgebraMeasurement(**{field: found}))
        assert r.verdict == "reproduced" and r.model == "algebra", r.message()


# ----------------------------------------------------------------------------- hard nulls
def test_id1_fails_with_wrong_temperature():
    rng = np.random.default_rng(1)
    q, keys = rng.standard_normal(8), rng.standard_normal((6, 8))
    keys = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    wrong = np.abs(np.exp(ci.boltzmann_log_weights(q, keys, beta=1.0, omega=1.0)) - np.exp(ci.softmax_log_weights(q, keys))).max()
    r = ci.check_id1(REG["ID-1"], AlgebraMeasurement(id1=Id1Examples([wrong], [0.0], [0.1])))
    assert r.verdict == "not reproduced"


def test_id1_fails_when_norms_do_not_matter():
    """If unequal norms left the weights unchanged the identity's 'exactly the ‖k‖² term' part fails."""
    r = ci.check_id1(REG["ID-1"], AlgebraMeasurement(id1=Id1Examples([0.0], [0.0], [0.0])))
    assert r.verdict == "not reproduced"


def test_id2_fails_for_a_non_maximal_weighting():
    # From a weighting that is not of Boltzmann form, some feasible direction (same total mass,
    # same expected distance) raises the entropy: the deficit is negative on one side.
    dist2 = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    a = np.array([0.4, 0.1, 0.1, 0.1, 0.3])  # not of Boltzmann form
    A = np.stack([np.ones(5), dist2])
    v = np.array([1.0, -1.0, 0.0, 0.0, 0.0])
    v = v - A.T @ np.linalg.lstsq(A.T, v, rcond=None)[0]
    deficits = [ci.entropy(a) - ci.entropy(a + s * 0.05 * v) for s in (1, -1)]
    r = ci.check_id2(REG["ID-2"], AlgebraMeasurement(id2=Id2Examples(deficits)))
    assert r.verdict == "not reproduced"


def test_id3_fails_for_zero_metric():
    M = np.zeros((3, 3))  # s_M = 0 = q^T 0 k: bilinear
    ex = Id3Examples([ci.bilinear_fit_residual(M, 40, np.random.default_rng(0))], [ci.zero_query_score(M)])
    r = ci.check_id3(REG["ID-3"], AlgebraMeasurement(id3=ex))
    assert r.verdict == "not reproduced"


def test_id3_residual_is_zero_for_a_bilinear_score():
    """Oracle check of the fitting routine: a genuinely bilinear score fits exactly."""
    rng = np.random.default_rng(2)
    d = 4
    A = rng.standard_normal((d, d))
    q, k = rng.standard_normal((80, d)), rng.standard_normal((80, d))
    s = np.einsum("ni,ij,nj->n", q, A, k)
    X = np.einsum("ni,nj->nij", q, k).reshape(80, -1)
    coef, *_ = np.linalg.lstsq(X, s, rcond=None)
    assert np.linalg.norm(s - X @ coef) / np.linalg.norm(s) < BILINEAR_RTOL


def test_tf3_fails_on_a_wrong_ladder():
    ladder = {64: (0.53, 1e-4), 80: (0.50, 1e-4), 128: (0.45, 1e-4), 256: (0.40, 1e-4)}  # per-dim variances
    r = ci.check_tf3(REG["TF-3"], AlgebraMeasurement(tf3=Tf3Null(ladder=ladder, mp={d: 0.0 for d in ladder},
                                                                  scale_errs=[0.0])))
    assert r.verdict == "not reproduced"


def test_tf3_fails_when_the_null_is_scale_dependent():
    c = REG["TF-3"]
    paper = {int(k[2:]): v for k, v in c.paper_values.items()}
    ladder = {d: (v, 1e-4) for d, v in paper.items()}
    ok = ci.check_tf3(c, AlgebraMeasurement(tf3=Tf3Null(ladder=ladder, mp=paper, scale_errs=[0.0])))
    assert ok.verdict == "reproduced", ok.message()
    moved = ci.check_tf3(c, AlgebraMeasurement(tf3=Tf3Null(ladder=ladder, mp=paper, scale_errs=[0.1])))
    assert moved.verdict == "not reproduced"
