"""The claim registry loads and validates without any model."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from suite import errors
from suite.registry import VERDICTS, load_registry, registry

# every id of CLAIMS.md §1 (the headline claims); the registry holds each, plus the seeds' other
# empirical statements (tested, prediction or speculation), each citing its seed
CLAIM_IDS = ["ID-1", "ID-2", "ID-3", "TF-1", "TF-2", "TF-3", "TF-4", "TF-5", "TF-6", "TF-7", "TF-8", "GR-1",
             "MB-1", "MB-2", "MB-3", "RW-1", "RW-2", "RW-3", "RW-4", "AR-1", "AR-2", "SC-1", "PR-1",
             "BK-1", "BK-2", "BK-3"]
CLAIMS_MD = Path(__file__).resolve().parents[2] / "shared" / "CLAIMS.md"


def test_every_claim_of_claims_md_is_registered():
    assert set(CLAIM_IDS) <= set(registry())


def test_claims_beyond_claims_md_cite_their_seed():
    """The records added from the seeds' text beyond CLAIMS.md: each names its source (paper
    section / book chapter), and an untested one says what a test would need."""
    for cid, c in registry().items():
        if cid in CLAIM_IDS:
            continue
        assert re.search(r"(§|App\.|Fig\.|Table|ch\.|chapter|seed|Book|book|paper)", c.source), (cid, c.source)
        if c.status == "recorded":
            assert len(c.not_tested.strip()) > 40, cid


@pytest.mark.skipif(not CLAIMS_MD.is_file(), reason="../shared/CLAIMS.md not beside the checkout")
def test_claim_ids_match_the_shared_claims_table():
    table_ids = set(re.findall(r"^\| ((?:TF|ID|GR|MB|RW|AR|SC|PR|BK)-\d+) \|", CLAIMS_MD.read_text(), re.M))
    assert table_ids == set(CLAIM_IDS)


def test_kinds_follow_the_seeds():
    reg = registry()
    assert reg["PR-1"].kind == "prediction"  # §7: stated, untested in the paper
    assert reg["BK-2"].kind == "speculation"  # the seed calls it a lens / open
    assert {reg[c].kind for c in ("ID-1", "ID-2", "ID-3", "TF-3", "BK-3")} == {"algebra"}


def test_unknown_id_suggests_the_closest():
    with pytest.raises(errors.UsageError, match=r"unknown claim id 'TF-01'.*did you mean 'TF-1'"):
        registry()["TF-01"]


def test_expected_verdicts_are_valid():
    for c in registry().values():
        for label, exp in c.expected.items():
            assert exp["verdict"] in VERDICTS and exp["reason"]


def test_implemented_claims_state_their_tolerance_provenance():
    for c in registry().values():
        if c.status == "implemented":
            assert c.tolerance.provenance.strip() and "pending" not in c.tolerance.provenance


BAD = {
    "missing field": '[[claim]]\nid = "TF-1"\n',
    "bad comparator": None,
    "duplicate": None,
}


def _rec(**over):
    base = dict(id='"TF-1"', version="1", kind='"measurement"', status='"implemented"', source='"s"', statement='"s"',
                quantity='"q"', comparator='">"', threshold="0.1", null='"n"', applies_to='["algebra"]')
    base.update(over)
    body = "\n".join(f"{k} = {v}" for k, v in base.items())
    return f"[[claim]]\n{body}\n[claim.tolerance]\nvalue = 0\nunit = \"u\"\nprovenance = \"p\"\n"


@pytest.mark.parametrize("text, match", [
    ('[[claim]]\nid = "TF-1"\n', "lacks"),
    (_rec(comparator='"~"'), "comparator"),
    (_rec(id='"XX-1"'), "prefix of \\[\\[family\\]\\]"),  # a family the registry does not declare
    (_rec(id='"TF1"'), "prefix of"),
    (_rec() + '[[family]]\nprefix = "TF"\n[[family]]\nprefix = "TF"\n', "declared twice"),
    (_rec() + '[[family]]\nname = "no prefix"\n', "needs prefix"),
    (_rec(applies_to='[]'), "applies_to"),
    (_rec(comparator='"in"', threshold="0.3"), "threshold \\[low, high\\]"),
    (_rec() + _rec(), "duplicate"),
    (_rec(colour='"red"'), "unknown fields"),
])
def test_schema_errors_are_one_line_usage_errors(tmp_path, text, match):
    (tmp_path / "x.toml").write_text(text)
    with pytest.raises(errors.UsageError, match=match) as exc:
        load_registry(tmp_path)
    assert "\n" not in str(exc.value)
