"""Pins of the default audit: verdicts exactly, numbers to tolerances measured from run-to-run variation.

A report row (claim, model) is flattened into quantities, each named by a path
(``TF-1|smollm2-135m|checks[0].measured[29]``): every number of its pinned fields, and every number
printed inside its summary (``summary#3``), whose text with the numbers taken out (``summary#text``)
is pinned exactly. A quantity ``q`` of the golden ``g`` and the run ``x`` agree when

    |x − g| ≤ MARGIN · max(A_q, FLOOR · |g|) + ulp_q

* ``A_q`` is the largest absolute change of ``q`` measured by ``benchmarks/bench_jitter.py`` (the
  default audit's inference rows under 1/2/4 torch threads, ``-n 1``/``-n 2``, ``--batch-size`` 4/8,
  oneDNN on/off, and the committed golden measured on another day), stored in
  ``tests/golden/jitter.json``;
* ``FLOOR`` (relative) stands in for a quantity that did not move under those variations (another
  CPU may move it); it is the largest relative change measured on any quantity, stored beside them;
* ``MARGIN`` (stored beside them) allows for a machine noisier than the ones measured;
* a quantity whose golden value is a round-off of zero (|g| < ``tiny``) is held by the largest
  absolute change measured on such quantities (``tiny_abs_floor``) instead of ``FLOOR · |g|``;
* ``ulp_q`` is, for a number printed in a summary, one unit in the last printed digit of the finer
  of the two printings (a value that moved by round-off can round the other way; ``%g`` drops
  trailing zeros, so the coarser printing may overstate it); 0 for JSON numbers. Numbers that are
  part of a name ("TF-1", "VE@8", "pythia-2.8b") are text.

Verdicts are compared exactly, and so is everything that is not a number.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JITTER = ROOT / "tests" / "golden" / "jitter.json"
PINNED_FIELDS = ("verdict", "summary", "measured", "null", "checks", "preconditions")
CHECK_FIELDS = ("name", "measured", "reference", "margin", "passed")
# a number as printed in a summary: sign, digits, optional decimals, optional exponent
# (not part of a name: "TF-1", "VE@8", "SmolLM2", "L4", "mamba-1.4b" stay text, pinned exactly)
NUMBER = re.compile(r"(?<![A-Za-z0-9_.@\-])[-+−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![A-Za-z_]|\.\d)")


def golden_rows(report: dict) -> dict:
    """``{(claim, model): the pinned fields}`` of a report (checks reduced to name + numbers)."""
    out = {}
    for r in report["results"]:
        row = {k: r.get(k) for k in PINNED_FIELDS}
        row["checks"] = [{k: c.get(k) for k in CHECK_FIELDS} for c in r.get("checks") or []]
        out[(r["claim"], r["model"])] = row
    return out


def trained_here(model: str) -> bool:
    """Rows of models trained here (the zoo, the WebKB networks): their numbers follow the machine's
    floating-point reductions through training, so only their verdicts are pinned."""
    return str(model).startswith(("zoo", "webkb")) or model == "across-models"


def _printed_ulp(text: str) -> float:
    """One unit in the last printed digit (1 for a number printed without decimals: it may be a
    float that ``%g`` rounded to an integer, 2879.4 → "2879")."""
    mant, _, exp = text.lower().partition("e")
    decimals = len(mant.partition(".")[2])
    return 10.0 ** max(-300, min(300, int(exp or 0) - decimals))


def split_numbers(text: str) -> tuple[str, list[tuple[float, float]]]:
    """(the text with each number replaced by ``#``, [(value, printed ulp)])."""
    nums = []

    def take(m):
        s = m.group(0).replace("−", "-")
        nums.append((float(s), _printed_ulp(s.lstrip("+-"))))
        return "#"

    return NUMBER.sub(take, text), nums


def flatten(obj, path: str, out: dict) -> dict:
    """``{path: value}`` of every leaf; numbers as ``(value, ulp)``, strings split by :func:`split_numbers`."""
    if isinstance(obj, dict):
        for k in sorted(obj):
            flatten(obj[k], f"{path}.{k}", out)
    elif isinstance(obj, (list, tuple)):
        out[f"{path}#len"] = len(obj)
        for i, x in enumerate(obj):
            flatten(x, f"{path}[{i}]", out)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[path] = (float(obj), 0.0)
    elif isinstance(obj, str) and NUMBER.search(obj):
        text, nums = split_numbers(obj)
        out[f"{path}#text"] = text
        for i, n in enumerate(nums):
            out[f"{path}#{i}"] = n
    else:
        out[path] = obj
    return out


def quantities(report: dict, inference_only: bool = True) -> dict:
    """Every pinned quantity of a report, ``{"claim|model|path": value}``."""
    out = {}
    for (cid, model), row in golden_rows(report).items():
        if inference_only and trained_here(model):
            continue
        for k, v in flatten(row, "", {}).items():
            out[f"{cid}|{model}|{k.lstrip('.')}"] = v
    return out


def load_jitter(path: Path = JITTER) -> dict:
    return json.loads(path.read_text())


def tolerance(name: str, golden: float, ulp: float, jitter: dict) -> float:
    """MARGIN × the larger of the quantity's measured change and the relative floor; a round-off of
    zero (|golden| < ``tiny``) is held by the largest absolute change measured on such quantities
    instead; plus the printed allowance ``ulp``."""
    a = jitter["abs"].get(name, 0.0)
    floor = jitter["tiny_abs_floor"] if abs(golden) < jitter["tiny"] else jitter["floor"] * abs(golden)
    return jitter["margin"] * max(a, floor) + ulp


def differences(golden: dict, new: dict, jitter: dict | None = None) -> list[str]:
    """What moved between two reports beyond the measured tolerances (one line each): verdicts of
    every row, every pinned quantity of the rows measured by inference."""
    jitter = jitter if jitter is not None else load_jitter()
    g_rows, n_rows = golden_rows(golden), golden_rows(new)
    out = []
    for k in sorted(set(g_rows) | set(n_rows)):
        if k not in n_rows or k not in g_rows:
            out.append(f"{k}: {'missing from the run' if k not in n_rows else 'not in the golden audit'}")
            continue
        g, n = g_rows[k], n_rows[k]
        if trained_here(k[1]):
            if g["verdict"] != n["verdict"]:
                out.append(f"{k}: verdict {g['verdict']} → {n['verdict']}")
            continue
        fg, fn = flatten(g, "", {}), flatten(n, "", {})
        for p in sorted(set(fg) | set(fn)):
            a, b = fg.get(p), fn.get(p)
            name = f"{k[0]}|{k[1]}|{p.lstrip('.')}"
            if isinstance(a, tuple) and isinstance(b, tuple):
                # printed numbers: the finer of the two last digits (``%g`` drops trailing zeros: "0.5")
                tol = tolerance(name, a[0], min(a[1], b[1]), jitter)
                if same(a[0], b[0]):
                    continue
                if not abs(b[0] - a[0]) <= tol:
                    out.append(f"{name}: {a[0]!r} → {b[0]!r} (|Δ| {abs(b[0] - a[0]):.3g} > tolerance {tol:.3g})")
            elif a != b:
                out.append(f"{name}: {str(a)[:120]!r} → {str(b)[:120]!r}")
    return out


def same(x: float, y: float) -> bool:
    """Equal, equal infinities, or both NaN."""
    return x == y or (math.isnan(x) and math.isnan(y))


def measured_changes(base: dict, other: dict) -> dict:
    """``{quantity: (|Δ|, |Δ|/|base|)}`` of the numbers two runs share (inference rows); what
    ``benchmarks/bench_jitter.py`` records. Quantities whose text or shape differ are listed as
    ``None`` (the run's structure moved, not its round-off)."""
    qa, qb = quantities(base), quantities(other)
    out = {}
    for name in sorted(set(qa) & set(qb)):
        a, b = qa[name], qb[name]
        if isinstance(a, tuple) and isinstance(b, tuple):
            d = 0.0 if same(a[0], b[0]) else abs(b[0] - a[0])
            out[name] = (d, d / abs(a[0]) if a[0] else (math.inf if d else 0.0))
        elif a != b:
            out[name] = None
    return out
