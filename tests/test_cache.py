"""The one disk cache (``suite.cache``): a key from a recipe, one computation per key across
processes, atomic writes, and self-healing (a truncated or foreign entry is recomputed with one
warning, never a BadZipFile in every claim that reads it)."""
from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np
import pytest

from suite import cache


def _save(obj, p):
    np.savez(p, x=obj)


def _load(p):
    with np.load(p, allow_pickle=False) as z:
        return z["x"].copy()


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated", b"not a zip at all"])
def test_unreadable_entry_is_recomputed_with_one_warning(tmp_path, damage):
    path = tmp_path / "m.npz"
    calls = []

    def compute():
        calls.append(1)
        return np.arange(5.0)

    assert np.array_equal(cache.cached(path, _load, compute, _save), np.arange(5.0))
    path.write_bytes(damage)  # an interrupted copy / a full disk
    with pytest.warns(UserWarning, match="unreadable.*recomputing") as rec:
        out = cache.cached(path, _load, compute, _save)
    ours = [str(w.message) for w in rec if "recomputing" in str(w.message)]
    assert len(ours) == 1, ours
    assert np.array_equal(out, np.arange(5.0)) and len(calls) == 2
    assert np.array_equal(cache.cached(path, _load, compute, _save), np.arange(5.0)) and len(calls) == 2


def test_key_is_a_function_of_the_recipe_only():
    assert cache.key({"a": 1, "b": [2, 3]}) == cache.key({"b": [2, 3], "a": 1})
    assert cache.key({"a": 1}) != cache.key({"a": 2})
    assert len(cache.key("x", n=12)) == 12


def test_stale_entry_and_memo(tmp_path):
    path, calls, memo = tmp_path / "m.npz", [], {}

    def compute():
        calls.append(1)
        return np.arange(len(calls), dtype=float)

    cache.cached(path, _load, compute, _save)
    cache.cached(path, _load, compute, _save, stale=lambda p: True)
    assert len(calls) == 2
    a = cache.cached(path, _load, compute, _save, memo=memo)
    assert cache.cached(path, _load, compute, _save, memo=memo) is a and len(calls) == 2


def test_directory_entry_is_replaced_atomically(tmp_path):
    out = tmp_path / "entry"
    (out).mkdir()
    (out / "partial").write_text("left by an interrupted build")

    def build(tmp):
        tmp.mkdir()
        (tmp / "done.json").write_text("{}")

    cache.write_atomic(out, build)
    assert sorted(p.name for p in out.iterdir()) == ["done.json"]
    assert not list(tmp_path.glob("*.tmp*"))


def _worker(path, log):
    def compute():
        with open(log, "a") as fh:
            fh.write("x")
        time.sleep(0.3)
        return np.ones(3)

    cache.cached(path, _load, compute, _save)


def test_concurrent_processes_compute_once(tmp_path):
    path, log = tmp_path / "m.npz", tmp_path / "computed.log"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(path, log)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert log.read_text() == "x"
