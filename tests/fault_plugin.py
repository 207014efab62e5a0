"""pytest plugin of ``tests/test_faults.py``: faults injected into a real ``pytest claims/`` run.

Loaded with ``-p tests.fault_plugin``; ``COLLAPSE_FAULT`` says which fault, ``COLLAPSE_FAULT_AT`` which
cache entries it hits (a substring of the entry's path):

* ``kill``: the first matching entry is written half (its temporary file cut to half its size), then
  the process kills itself with SIGKILL before the rename: a power cut in the middle of a write.
* ``enospc``: writing a matching entry fails with ENOSPC after half of it is on disk (a full disk).
* ``log``: every computation of a cache entry is appended to ``$COLLAPSE_FAULT_LOG/<pid>.txt``.
"""
from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

from suite import cache

FAULT = os.environ.get("COLLAPSE_FAULT", "")
AT = os.environ.get("COLLAPSE_FAULT_AT", "")
_write_atomic, _cached = cache.write_atomic, cache._cached


def _half(tmp: Path) -> None:
    files = [tmp] if tmp.is_file() else sorted(p for p in tmp.rglob("*") if p.is_file())
    for f in files[:1]:
        size = f.stat().st_size
        with open(f, "r+b") as fh:
            fh.truncate(size // 2)


def write_atomic(path, save):
    if FAULT == "kill" and AT in str(path):
        tmp = cache.tmp_path(Path(path))
        save(tmp)
        _half(tmp)
        os.kill(os.getpid(), signal.SIGKILL)
    if FAULT == "enospc" and AT in str(path):
        def full(tmp):
            save(tmp)
            _half(tmp)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

        return _write_atomic(path, full)
    return _write_atomic(path, save)


def logged_cached(path, load, compute, save, stale):
    def logged():
        log = Path(os.environ["COLLAPSE_FAULT_LOG"])
        log.mkdir(parents=True, exist_ok=True)
        with open(log / f"{os.getpid()}.txt", "a") as fh:
            fh.write(f"{Path(path).name}\n")
        return compute()

    return _cached(path, load, logged, save, stale)


if FAULT in ("kill", "enospc"):
    cache.write_atomic = write_atomic
elif FAULT == "log":
    cache._cached = logged_cached
