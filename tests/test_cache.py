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
    path, calls = tmp_path / "m.npz", []

    def compute():
        calls.append(1)
        return np.arange(len(calls), dtype=float)

    cache.cached(path, _load, compute, _save)
    cache.cached(path, _load, compute, _save, stale=lambda p: True)
    assert len(calls) == 2
    a = cache.cached(path, _load, compute, _save, session=True)
    assert cache.cached(path, _load, compute, _save, session=True) is a and len(calls) == 2
    assert cache.SESSION[("cached", path)] is a


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


def _killed_writer(path):
    import os
    import signal

    def save(tmp):
        _save(np.arange(1000.0), tmp)
        tmp.write_bytes(tmp.read_bytes()[:100])  # half of it on disk
        os.kill(os.getpid(), signal.SIGKILL)

    cache.write_atomic(path, save)


def test_a_writer_killed_mid_write_leaves_a_temporary_that_the_next_reader_removes(tmp_path):
    """SIGKILL between ``save(tmp)`` and the rename: the entry is absent, its half-written temporary
    is left; the next access removes it (one warning) and computes the entry."""
    import signal

    path = tmp_path / "m.npz"
    p = mp.get_context("spawn").Process(target=_killed_writer, args=(path,))
    p.start()
    p.join(60)
    assert p.exitcode == -signal.SIGKILL
    assert not path.exists() and len(list(tmp_path.glob("m.*.tmp.npz"))) == 1
    with pytest.warns(UserWarning, match="half-written copy") as rec:
        out = cache.cached(path, _load, lambda: np.arange(3.0), _save)
    assert len([w for w in rec if "half-written" in str(w.message)]) == 1
    assert np.array_equal(out, np.arange(3.0)) and not list(tmp_path.glob("*.tmp*"))


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    import os

    path = tmp_path / "m.npz"
    live = tmp_path / f"m.{os.getppid()}.tmp.npz"  # a process that exists (our parent)
    live.write_bytes(b"in progress")
    cache.cached(path, _load, lambda: np.arange(3.0), _save)
    assert live.exists()


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_full_disk_is_one_line_and_leaves_nothing_behind(tmp_path, kind):
    import errno

    from suite import errors

    path = tmp_path / ("m.npz" if kind == "file" else "entry")

    def full(tmp):
        if kind == "file":
            tmp.write_bytes(b"half of it")
        else:
            tmp.mkdir()
            (tmp / "weights").write_bytes(b"half of it")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(errors.DiskFull, match="no space left on the device .*COLLAPSE_CLAIMS_CACHE") as exc:
        cache.write_atomic(path, full)
    assert "\n" not in str(exc.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(ZeroDivisionError):  # any other failure propagates as itself, still leaving nothing
        cache.write_atomic(path, lambda tmp: (tmp.write_bytes(b"x"), 1 / 0))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_full_disk_is_recognised_when_a_writer_wraps_it(tmp_path):
    """torch.save and safetensors report ENOSPC inside their own exception types."""
    import errno

    from suite import errors

    def wrapped(tmp):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("PytorchStreamWriter failed writing file data/0") from exc

    with pytest.raises(errors.DiskFull):
        cache.write_atomic(tmp_path / "w.pt", wrapped)
    with pytest.raises(errors.DiskFull):
        cache.write_atomic(tmp_path / "w.pt", lambda tmp: (_ for _ in ()).throw(
            RuntimeError("I/O error: No space left on device (os error 28)")))
    assert not list(tmp_path.iterdir())
