"""Issue 22: pre-registration, the family premise policy, the robustness panel and the stand-in label.

* every version above 1 carries a changelog entry (what changed, why, the verdict seen before);
* a decision-relevant field (quantity, comparator, threshold, null, params, tolerance, preconditions,
  applies_to, regime_check) cannot change without a version bump: compared with the committed
  fingerprints ``tests/golden/registry-fingerprint.json`` (regenerate after a bump:
  ``python -m tests.test_preregistration --write``);
* one premise policy per family (``[[policy]]``), enforced when the registry loads;
* the panel marks a verdict *fragile* when one declared alternative flips it, never changing it;
* each row says what it stands on, and a trained-here stand-in that misses the regime says so.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from suite import errors
from suite.registry import Alternative, decision_fingerprint, load_registry, registry
from suite.results import Check, evaluate
from suite.robustness import FRAGILE, ROBUST, mark_text, panel
from suite.standing import ALGEBRA, PAPER, PRETRAINED, TRAINED, stands_on

FINGERPRINTS = Path(__file__).resolve().parent / "golden" / "registry-fingerprint.json"


def current_fingerprints(reg=None) -> dict:
    reg = reg or registry()
    return {cid: {"version": c.version, "fingerprint": decision_fingerprint(c)} for cid, c in sorted(reg.items())}


def guard(committed: dict, now: dict) -> list[str]:
    """What the version guard reports: a decision field changed at an unchanged version (a hidden change),
    or a bumped / new claim whose fingerprint file was not regenerated."""
    out = []
    for cid, cur in now.items():
        old = committed.get(cid)
        if old is None:
            out.append(f"{cid}: new claim — regenerate the fingerprints (python -m tests.test_preregistration --write)")
        elif cur["fingerprint"] != old["fingerprint"] and cur["version"] == old["version"]:
            out.append(f"{cid}: a decision-relevant field changed at version {cur['version']} — bump the version and add a "
                       "changelog entry (what, why, the verdict seen before), then regenerate the fingerprints")
        elif cur["version"] != old["version"]:
            out.append(f"{cid}: version {old['version']} → {cur['version']} — regenerate the fingerprints "
                       "(python -m tests.test_preregistration --write)")
    return out


def test_no_decision_rule_changed_without_a_version_bump():
    committed = json.loads(FINGERPRINTS.read_text())
    problems = guard(committed, current_fingerprints())
    assert not problems, "\n".join(problems)


def test_the_guard_catches_a_hidden_change_and_ignores_bookkeeping():
    reg = registry()
    c = reg["MA-2"]
    base = {"MA-2": {"version": c.version, "fingerprint": decision_fingerprint(c)}}
    for field, value in [("threshold", "something else"), ("params", {**c.params, "massive_ratio": 700.0}),
                         ("preconditions", c.preconditions[:-1]), ("null", "none"), ("comparator", "<")]:
        moved = {"MA-2": {"version": c.version, "fingerprint": decision_fingerprint(replace(c, **{field: value}))}}
        assert any("changed at version" in p for p in guard(base, moved)), field
        bumped = {"MA-2": {"version": c.version + 1, "fingerprint": moved["MA-2"]["fingerprint"]}}
        assert not any("changed at version" in p for p in guard(base, bumped)), field
    for field, value in [("notes", "edited"), ("statement", "reworded"), ("expected", {}), ("changelog", ()),
                         ("alternatives", ())]:
        same = {"MA-2": {"version": c.version, "fingerprint": decision_fingerprint(replace(c, **{field: value}))}}
        assert guard(base, same) == [], field


def _rec(cid="TF-1", version=1, extra=""):
    return (f'[[claim]]\nid = "{cid}"\nversion = {version}\nkind = "measurement"\nstatus = "implemented"\nsource = "s"\n'
            f'statement = "s"\nquantity = "q"\ncomparator = ">"\nthreshold = 0.1\nnull = "n"\napplies_to = ["algebra"]\n'
            f'[claim.tolerance]\nvalue = 0\nunit = "u"\nprovenance = "p"\n[claim.params]\nz = 2.0\n{extra}')


CHANGE = '[[claim.changelog]]\nversion = 2\ndate = "2026-12-05"\nchange = "c"\nwhy = "w"\nverdict_seen = "none"\n'


@pytest.mark.parametrize("text, ok", [
    (_rec(version=2), False),  # a bump without its entry
    (_rec(version=2, extra=CHANGE), True),
    (_rec(version=3, extra=CHANGE), False),  # v3 lacks its entry
    (_rec(extra='[[claim.alternatives]]\nname = "a"\nwhy = "w"\nparams = { nope = 1 }\n'), False),  # unknown param
    (_rec(extra='[[claim.alternatives]]\nname = "a"\nwhy = "w"\nparams = { z = 1.0 }\n'), True),
])
def test_changelog_and_alternatives_are_validated(tmp_path, text, ok):
    (tmp_path / "x.toml").write_text(text)
    if ok:
        load_registry(tmp_path)
    else:
        with pytest.raises(errors.UsageError) as exc:
            load_registry(tmp_path)
        assert "\n" not in str(exc.value)


PREMISE = ('[[premise]]\nid = "p"\nquantity = "x"\ncomparator = ">"\nthreshold = 0.0\nstatement = "s"\nsource = "s"\n'
           '[[policy]]\nfamily = "tf"\nprefixes = ["TF"]\npremises = ["p"]\nsource = "s"\n{exc}')


@pytest.mark.parametrize("claim_extra, exc, ok", [
    ("", "", False),  # a claim of the family without the family's premise
    ('[[claim.preconditions]]\nuse = "p"\n', "", True),
    ("", 'exceptions = { "TF-1" = "its prediction is the regime" }\n', True),
])
def test_one_premise_policy_per_family(tmp_path, claim_extra, exc, ok):
    (tmp_path / "p.toml").write_text(PREMISE.format(exc=exc))
    (tmp_path / "x.toml").write_text(_rec(extra=claim_extra))
    if ok:
        load_registry(tmp_path)
    else:
        with pytest.raises(errors.UsageError, match="family's premise"):
            load_registry(tmp_path)


IV_POLICY = ('[[premise]]\nid = "iv"\nquantity = "x"\ncomparator = ">"\nthreshold = 0.0\nstatement = "s"\nsource = "s"\n'
             '[[policy]]\nfamily = "intervened"\nintervention = "re-run"\npremises = ["iv"]\nsource = "s"\n')


@pytest.mark.parametrize("claim_extra, ok", [
    ('[claim.intervention]\nkind = "re-run"\nwhat = "a clamp pass"\n', False),  # re-runs a changed model, no premise
    ('[claim.intervention]\nkind = "re-run"\nwhat = "a clamp pass"\n[[claim.preconditions]]\nuse = "iv"\n', True),
    ('[claim.intervention]\nkind = "offline"\nwhat = "rebuilt from captures: no changed model runs"\n', True),
    ('', True),  # no intervention: the policy does not apply
    ('[claim.intervention]\nkind = "sometimes"\nwhat = "w"\n', False),  # unknown kind
    ('[claim.intervention]\nkind = "offline"\nwhat = ""\n', False),  # an offline one must say why
])
def test_every_intervened_model_carries_the_intervened_premise(tmp_path, claim_extra, ok):
    """Issue 22 item 4: the intervened-models policy is derived from the claim's [claim.intervention] tag (not a
    hand-kept list); the project's own re-run claims load only because each carries the premise."""
    (tmp_path / "p.toml").write_text(IV_POLICY)
    (tmp_path / "x.toml").write_text(_rec(extra=claim_extra))
    if ok:
        load_registry(tmp_path)
    else:
        with pytest.raises(errors.UsageError):
            load_registry(tmp_path)
    reg = registry()
    rerun = sorted(cid for cid, c in reg.items() if c.intervention and c.intervention.kind == "re-run")
    assert rerun == ["AR-2", "BK-1", "BK-2", "BK-6", "MA-3", "RW-1", "RW-2", "RW-3", "RW-4"]
    assert all("intervened-model-functions" in {p.id for p in reg[c].preconditions} for c in rerun)
    assert reg["MB-2"].intervention.kind == "offline"


def test_the_projects_families_each_have_one_policy():
    reg = registry()
    fams = {p.family for p in reg.policies}
    assert len(fams) == len(reg.policies)
    for prefix in ("TF", "MB", "RW", "AR", "BK", "MA"):
        assert any(prefix in p.prefixes for p in reg.policies), prefix
    # an exemption that says the claim's regime_check reads its regime has one, naming one of its checks' names
    for p in reg.policies:
        for cid, why in p.exceptions.items():
            if "regime_check" in why:
                assert reg[cid].regime_check, cid


# ----------------------------------------------------------------------------- the robustness panel
def _toy_check(claim, m):
    """measured m against the claim's threshold param, beyond z·0.1."""
    return evaluate(claim, "toy", [Check("m > t", m, ">", claim.param("t"), claim.param("z") * 0.1)])


def _toy_claim(*alts):
    c = registry()["TF-1"]
    return replace(c, params={"t": 1.0, "z": 2.0}, preconditions=(), alternatives=tuple(alts))


def test_panel_marks_a_verdict_fragile_when_one_alternative_flips_it():
    c = _toy_claim(Alternative("z = 1", "w", {"z": 1.0}), Alternative("z = 3", "w", {"z": 3.0}))
    verdict = _toy_check(c, 1.25).verdict  # 1.25 − 0.2 > 1: reproduced; under z = 3: 1.25 − 0.3 < 1
    assert verdict == "reproduced"
    p = panel(c, _toy_check, 1.25, verdict)
    assert p["mark"] == FRAGILE and p["flips"] == ["z = 3"]
    assert mark_text(p) == "fragile (flips under: z = 3)"
    assert _toy_check(c, 1.25).verdict == "reproduced"  # the mark never changes the verdict


def test_panel_is_robust_when_no_alternative_flips_it_and_lists_what_it_did_not_run():
    c = _toy_claim(Alternative("z = 1", "w", {"z": 1.0}), Alternative("z = 3", "w", {"z": 3.0}),
                   Alternative("perturbed", "w", needs="a new pass"))
    p = panel(c, _toy_check, 2.0, "reproduced")
    assert p["mark"] == ROBUST and p["flips"] == []
    assert [a.get("not_run") for a in p["alternatives"]] == [None, None, "needs a new pass"]
    assert panel(_toy_claim(), _toy_check, 2.0, "reproduced")["mark"] == "not assessed"
    assert panel(c, _toy_check, 2.0, "skipped") == {}


def test_an_inconclusive_verdict_no_alternative_moves_is_not_assessed():
    """A premise decided it: the checks' alternatives cannot speak, so 'robust' would be vacuous."""
    c = _toy_claim(Alternative("z = 1", "w", {"z": 1.0}))
    stuck = lambda claim, m: replace(_toy_check(claim, m), verdict="inconclusive")  # noqa: E731
    p = panel(c, stuck, 2.0, "inconclusive")
    assert p["mark"] == "not assessed" and "premise not met" in mark_text(p)
    moved = panel(c, lambda claim, m: replace(_toy_check(claim, m), verdict="inconclusive" if claim.param("z") > 1.5
                                                else "reproduced"), 2.0, "inconclusive")
    assert moved["mark"] == FRAGILE


def test_every_implemented_model_claim_declares_an_alternative():
    for cid, c in registry().items():
        if c.status == "implemented" and "algebra" not in c.applies_to and cid not in ("BK-4",):
            assert c.alternatives, f"{cid} declares no alternative choice for its robustness panel"


# ----------------------------------------------------------------------------- stands on
def _result(model, prov, premise_ok=True, checks_ok=True):
    c = replace(registry()["TF-1"], preconditions=())
    r = evaluate(c, model, [Check("peak concentration exceeds the onset threshold", 1.0 if checks_ok else 0.0, ">", 0.5)],
                 provenance=prov)
    if not premise_ok:
        r.preconditions = [Check("premise concentration-above-uniform: s", 0.02, ">", 0.04).evaluate()]
    return r


def test_stand_in_labels():
    fam = ("concentration-above-uniform",)
    zoo = stands_on(_result("zoo-rwkv", {"model": "x"}, premise_ok=False), trained_here=True, tokens={"rwkv": 1_024_000},
                    regime_premises=fam)
    assert zoo["kind"] == TRAINED and zoo["regime_reached"] is False
    assert "1.02 M tokens" in zoo["text"] and "regime NOT reached" in zoo["text"] and "does not speak for the paper's models" in zoo["text"]
    own = stands_on(_result("zoo-mamba", {"model": "x"}, checks_ok=False), trained_here=True, tokens={"mamba": 10},
                    regime_check="peak concentration exceeds")
    assert own["regime_reached"] is False and "the claim's own regime" in own["text"]
    ok = stands_on(_result("zoo-mamba", {"model": "x"}), trained_here=True, tokens={"mamba": 10},
                   regime_check="peak concentration exceeds")
    assert ok["regime_reached"] is True and "regime reached" in ok["text"]
    q = stands_on(_result("smollm2-135m", {"source": "embedded", "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
                                           "quantisation": "Q4_1", "converted_dtype": "float32 (dequantised from Q4_1)"}),
                  trained_here=False, paper_models=("gpt2",))
    assert q["kind"] == PRETRAINED and "Q4_1" in q["text"] and "Instruct" in q["text"]
    paper = stands_on(_result("gpt2", {"source": "hub", "hub_id": "gpt2", "dtype": "float32"}), trained_here=False,
                      paper_models=("gpt2",))
    assert paper["kind"] == PAPER
    # a premise outside the family's regime (headroom, censoring, a broken intervention) stays in the verdict
    other = stands_on(_result("zoo-rwkv", {"model": "x"}, premise_ok=False), trained_here=True, tokens={"rwkv": 1},
                      regime_premises=("functioning-model",))
    assert other["regime_reached"] is None and "regime" not in other["text"]
    alg = stands_on(_result("algebra", {}), trained_here=False)
    assert alg["kind"] == ALGEBRA


if __name__ == "__main__" and "--write" in sys.argv:
    # refuses to bless a decision-rule change made at an unchanged version (bump and log it first);
    # --rehash: the fingerprint function itself changed (every claim moves at its own version)
    hidden = [p for p in guard(json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.is_file() else {},
                               current_fingerprints()) if "changed at version" in p]
    if hidden and "--rehash" not in sys.argv:
        sys.exit("refusing to write: " + "; ".join(hidden))
    FINGERPRINTS.write_text(json.dumps(current_fingerprints(), indent=1) + "\n")
    print(f"wrote {FINGERPRINTS}")
