"""Registry preconditions and the *inconclusive* verdict (the core every family uses).

For a premise: met + claim false → not reproduced; unmet → inconclusive, whatever the checks say.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suite import errors
from suite.registry import load_registry, registry
from suite.results import Check, evaluate

PREMISE = """
[[premise]]
id = "conc"
quantity = "peak"
comparator = ">"
reference = "uniform"
z = 2.0
statement = "a concentration to act on"
source = "§5.2"
"""


def _claim_text(pre: str) -> str:
    return (
        '[[claim]]\nid = "MB-2"\nversion = 1\nkind = "measurement"\nstatus = "implemented"\nsource = "s"\n'
        'statement = "s"\nquantity = "q"\ncomparator = ">"\nthreshold = 0.1\nnull = "n"\napplies_to = ["selective-ssm"]\n'
        '[claim.tolerance]\nvalue = 0\nunit = "u"\nprovenance = "p"\n' + pre
    )


@pytest.fixture(scope="module")
def claim(tmp_path_factory):
    d = tmp_path_factory.mktemp("reg")
    (d / "premises.toml").write_text(PREMISE)
    (d / "c.toml").write_text(_claim_text('[[claim.preconditions]]\nuse = "conc"\n'))
    return load_registry(d)["MB-2"]


@given(peak=st.floats(0.0, 1.0), uniform=st.floats(0.0, 1.0), se=st.floats(0.0, 0.1), claim_true=st.booleans())
def test_verdict_follows_premise_then_checks(claim, peak, uniform, se, claim_true):
    res = evaluate(claim, "m", [Check("c", 1.0 if claim_true else 0.0, ">", 0.5)],
                   premises={"peak": peak, "peak_se": se, "uniform": uniform})
    premise_holds = peak - 2.0 * se > uniform  # independent oracle of the premise comparison
    if not premise_holds:
        assert res.verdict == "inconclusive"
        assert "premise" in res.premise_text() and f"{peak:.4g}" in res.premise_text()
    else:
        assert res.verdict == ("reproduced" if claim_true else "not reproduced")
    assert len(res.preconditions) == 1 and res.preconditions[0].note == "§5.2"
    assert res.to_json()["preconditions"][0]["passed"] is premise_holds


def test_missing_premise_quantity_is_an_error_not_a_pass(claim):
    with pytest.raises(KeyError, match="needs quantities"):
        evaluate(claim, "m", [Check("c", 1.0, ">", 0.5)], premises={"peak": 0.3})


def test_nan_premise_is_inconclusive(claim):
    res = evaluate(claim, "m", [Check("c", 1.0, ">", 0.5)], premises={"peak": math.nan, "uniform": 0.04})
    assert res.verdict == "inconclusive"


@pytest.mark.parametrize("pre, match", [
    ('[[claim.preconditions]]\nuse = "nope"\n', "unknown premise 'nope'"),
    ('[[claim.preconditions]]\nid = "x"\nquantity = "q"\ncomparator = ">"\nsource = "s"\nstatement = "s"\n',
     "exactly one of threshold"),
    ('[[claim.preconditions]]\nid = "x"\nquantity = "q"\ncomparator = "~"\nthreshold = 1\nsource = "s"\nstatement = "s"\n',
     "comparator"),
    ('[[claim.preconditions]]\nid = "x"\nquantity = "q"\ncomparator = ">"\nthreshold = 1\nstatement = "s"\n',
     "lacks source"),
    ('[[claim.preconditions]]\nuse = "conc"\nz = 3\n', "stands alone"),
])
def test_precondition_schema_errors(tmp_path, pre, match):
    (tmp_path / "premises.toml").write_text(PREMISE)
    (tmp_path / "c.toml").write_text(_claim_text(pre))
    with pytest.raises(errors.UsageError, match=match):
        load_registry(tmp_path)


def test_every_registry_precondition_cites_its_source():
    for c in registry().values():
        for p in c.preconditions:
            assert p.source.strip() and p.statement.strip(), (c.id, p.id)


def test_inconclusive_is_a_skip_that_carries_the_numbers(claim):
    from suite.outcome import INCONCLUSIVE_PREFIX, conclude

    res = evaluate(claim, "m", [Check("c", 1.0, ">", 0.5)], premises={"peak": 0.03, "uniform": 0.0424})
    with pytest.raises(pytest.skip.Exception, match=INCONCLUSIVE_PREFIX + ".*0.03.*0.0424"):
        conclude(res)
    bad = evaluate(claim, "m", [Check("c", 0.0, ">", 0.5)], premises={"peak": 0.3, "uniform": 0.0424})
    with pytest.raises(pytest.fail.Exception) as exc:
        conclude(bad)
    assert "RunOptions" not in str(exc.value) and "MB-2 on m: not reproduced" in str(exc.value)


LM_CLASSES = {"softmax-attention", "rope", "family", "selective-ssm", "rwkv4", "attention-residuals", "all-routers",
              "trained-zoo"}


# known gap, not an exemption by design: the book records added for issue 13 do not yet name the premise (their
# checks get the LM gain from the same sweep / pass; on every model measured here it holds: 2.9–3.1 nats on the
# pretrained models, ~1 nat on the zoo); BK-5 is about training itself, where early checkpoints do not work on text
FUNCTIONING_MODEL_TODO = {"BK-4", "BK-5", "BK-6", "BK-8", "BK-10"}


def test_every_claim_on_a_language_model_needs_it_to_work():
    """Regression guard: a claim that reads a language model's behaviour carries the
    functioning-model premise (a record edit once dropped TF-2's)."""
    missing = [c.id for c in registry().values()
               if set(c.applies_to) & LM_CLASSES and c.status == "implemented" and c.id not in FUNCTIONING_MODEL_TODO
               and "functioning-model" not in {p.id for p in c.preconditions}]
    assert not missing, missing
