"""The golden pins (``tests/pins.py``) catch a real change and tolerate the measured run-to-run jitter.

The oracle is the golden itself: a copy with one quantity moved by 10× its tolerance must be
flagged at that quantity (and only there); a copy with every quantity moved by its measured
jitter (``tests/golden/jitter.json``, ``benchmarks/bench_jitter.py``) must pass.
"""
from __future__ import annotations

import copy
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tests import pins
from tests.test_default_verdicts import GOLDEN

SMOKE = json.loads(GOLDEN["smoke"].read_text())
JITTER = pins.load_jitter()
NUMERIC = sorted(k for k, v in pins.quantities(SMOKE).items() if isinstance(v, tuple) and abs(v[0]) != float("inf"))
TOKEN = re.compile(r"\.([^.\[#]+)|\[(\d+)\]|#(\d+)")


def move(report: dict, name: str, delta: float) -> dict:
    """A copy of ``report`` with quantity ``name`` (``claim|model|path``) moved by ``delta``."""
    cid, model, path = name.split("|", 2)
    out = copy.deepcopy(report)
    row = next(r for r in out["results"] if r["claim"] == cid and r["model"] == model)
    parent, key, nth, node = None, None, None, row
    for k, i, n in TOKEN.findall("." + path):
        if n:  # the nth number printed in the string reached so far
            nth = n
            break
        parent, key = node, (k if k else int(i))
        node = parent[key]
    if nth:  # printed again in the original's notation and precision
        count = iter(range(10 ** 6))
        parent[key] = pins.NUMBER.sub(
            lambda m: format_like(m.group(0), float(m.group(0).replace("−", "-")) + delta)
            if next(count) == int(nth) else m.group(0), parent[key])
    else:
        parent[key] = parent[key] + delta
    return out


def format_like(text: str, value: float) -> str:
    mant, _, exp = text.lower().partition("e")
    decimals = len(mant.partition(".")[2])
    if exp:
        return f"{value:.{decimals}e}"
    return f"{value:.{decimals}f}"


def tolerance_of(name: str) -> float:
    value, ulp = pins.quantities(SMOKE)[name]
    return pins.tolerance(name, value, ulp, JITTER)


def resolution(name: str) -> float:
    """The smallest move a printed number can show: one unit in its last printed digit (1 for an
    integer printed in a summary); 0 for a JSON number."""
    value, ulp = pins.quantities(SMOKE)[name]
    return ulp or (1.0 if "#" in name.rsplit("|", 1)[1] else 0.0)


def test_the_golden_agrees_with_itself():
    assert pins.differences(SMOKE, SMOKE, JITTER) == []


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(NUMERIC), sign=st.sampled_from([-1.0, 1.0]))
def test_a_number_moved_by_ten_times_its_tolerance_is_caught(name, sign):
    moved = move(SMOKE, name, sign * 10 * max(tolerance_of(name), resolution(name), 1e-300))
    drift = pins.differences(SMOKE, moved, JITTER)
    assert len(drift) == 1 and drift[0].startswith(name + ":"), drift


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(NUMERIC), sign=st.sampled_from([-1.0, 1.0]))
def test_a_number_moved_by_its_measured_jitter_passes(name, sign):
    value, _ = pins.quantities(SMOKE)[name]
    jitter = max(JITTER["abs"].get(name, 0.0), JITTER["floor"] * abs(value))
    assert pins.differences(SMOKE, move(SMOKE, name, sign * jitter), JITTER) == []


def test_every_measured_jitter_at_once_passes():
    moved = SMOKE
    for name, a in JITTER["abs"].items():
        if name in NUMERIC:
            moved = move(moved, name, a)
    assert pins.differences(SMOKE, moved, JITTER) == []


def test_a_verdict_or_a_word_that_changes_is_caught():
    row = next(i for i, r in enumerate(SMOKE["results"]) if r["model"] == "smollm2-135m")
    flipped = copy.deepcopy(SMOKE)
    flipped["results"][row]["verdict"] = "not reproduced" if SMOKE["results"][row]["verdict"] != "not reproduced" else "reproduced"
    assert any("verdict" in d for d in pins.differences(SMOKE, flipped, JITTER))
    reworded = copy.deepcopy(SMOKE)
    reworded["results"][row]["summary"] = "layer " + reworded["results"][row]["summary"]
    assert any("summary#text" in d for d in pins.differences(SMOKE, reworded, JITTER))


def test_a_zoo_row_is_pinned_by_verdict_only():
    row = next(i for i, r in enumerate(SMOKE["results"]) if str(r["model"]).startswith("zoo"))
    moved = copy.deepcopy(SMOKE)
    moved["results"][row]["summary"] = "anything at all 1.0"
    assert pins.differences(SMOKE, moved, JITTER) == []
    moved["results"][row]["verdict"] = "error"
    assert len(pins.differences(SMOKE, moved, JITTER)) == 1


def test_printed_numbers_carry_their_last_digit():
    text, nums = pins.split_numbers("VE@8 0.658 vs 0.294 at layer 30, change 7.9e-09, r = −0.17, massive 2879")
    assert text == "VE@8 # vs # at layer #, change #, r = #, massive #"
    assert nums == [(0.658, 0.001), (0.294, 0.001), (30.0, 1.0), (7.9e-09, 1e-10), (-0.17, 0.01), (2879.0, 1.0)]
    # names are text, pinned exactly: a model that changes size is a change
    text, nums = pins.split_numbers("TF-1 on state-spaces/mamba-1.4b-hf vs SmolLM2 at L4: 0.5.")
    assert text == "TF-1 on state-spaces/mamba-1.4b-hf vs SmolLM2 at L4: #." and nums == [(0.5, 0.1)]


def test_a_trailing_zero_dropped_by_g_does_not_widen_the_allowance():
    row = next(i for i, r in enumerate(SMOKE["results"]) if r["model"] == "smollm2-135m")
    a, b = copy.deepcopy(SMOKE), copy.deepcopy(SMOKE)
    a["results"][row]["summary"] = "peak 0.5 at layer 3"
    b["results"][row]["summary"] = "peak 0.59 at layer 3"
    assert pins.differences(a, b, JITTER)  # the finer printing (0.01) decides, not "0.5"'s 0.1
