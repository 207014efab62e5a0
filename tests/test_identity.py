"""The algebra claims' Hypothesis harness: a violated property is shrunk to a minimal
counterexample, and the verdict is *not reproduced* with that example in its checks."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from claims import checks_identity as ci
from suite.registry import registry


def test_a_violated_property_is_shrunk_and_read_not_reproduced():
    @given(n=st.integers(0, 10_000))
    def prop(n):
        assert n < 17, f"n = {n}"  # false from 17 on: the minimal counterexample is n = 17

    bad = ci.falsified(prop)
    assert bad is not None and "n=17" in bad and "n = 17" in bad
    r = ci.check_id2(registry()["ID-2"], [0.1, 0.2], counterexample=bad)
    assert r.verdict == "not reproduced"
    assert any("shrunk to" in (c.note or "") and "n=17" in c.note for c in r.checks)


def test_a_property_that_holds_reads_reproduced():
    @given(x=st.floats(0, 1))
    def prop(x):
        assert x * x <= 1.0

    assert ci.falsified(prop) is None
    assert ci.check_id2(registry()["ID-2"], [0.1, 0.2]).verdict == "reproduced"
