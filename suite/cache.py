"""The one disk cache: a key from a recipe, an inter-process lock, an atomic write, self-healing.

Every expensive artifact of the suite (a forward pass's reductions, a θ sweep, a trained zoo
entry, a converted GGUF, a graph run) is stored under ``cache_root()`` at a path that carries
:func:`key` of the recipe that made it. pytest-xdist workers share one computation per key
through :func:`lock` (``filelock``); a write goes to a temporary name and is renamed into place,
so a reader never sees half a file; an entry that cannot be read (an interrupted copy, a full
disk, a foreign file) is recomputed with one warning.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import warnings
import zipfile
from pathlib import Path

from filelock import FileLock

from suite import errors


def cache_root() -> Path:
    """The one cache's folder: ``$COLLAPSE_CLAIMS_CACHE``, else ``$XDG_CACHE_HOME/collapse-claims`` (``~/.cache``)."""
    root = os.environ.get("COLLAPSE_CLAIMS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "collapse-claims")
    p = Path(root)
    p.mkdir(parents=True, exist_ok=True)
    return p

# what a truncated, half-copied or foreign cache file raises when read
CORRUPT_CACHE_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, KeyError, OSError, json.JSONDecodeError)


def key(recipe, n: int = 16) -> str:
    """Hex digest (``n`` characters) of a recipe: a string as is, anything else as sorted JSON."""
    src = recipe if isinstance(recipe, str) else json.dumps(recipe, sort_keys=True, default=str)
    return hashlib.sha256(src.encode()).hexdigest()[:n]


@contextlib.contextmanager
def lock(path: Path | str):
    """Hold the lock of cache entry ``path`` (``<path minus suffix>.lock``) across processes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_suffix(".lock"))):
        yield


def tmp_path(path: Path) -> Path:
    """Where an entry is written before it is renamed into place (per process: no two writers share it)."""
    return path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")


def write_atomic(path: Path | str, save) -> Path:
    """``save(tmp)`` then rename onto ``path``: a file, or a directory (which replaces the old one).
    A write that fails leaves nothing behind (the temporary is removed); a full disk is a one-line
    :class:`suite.errors.DiskFull` that says where space is needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_orphans(path)
    tmp = tmp_path(path)
    _remove(tmp)
    try:
        save(tmp)
        if tmp.is_dir() and path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException as exc:
        _remove(tmp)
        if disk_full(exc):
            raise errors.DiskFull(errors.DISK_FULL.format(entry=path.name, root=path.parent)) from None
        raise
    return path


def disk_full(exc: BaseException) -> bool:
    """A full disk or quota, as an OSError or wrapped by a writer (torch.save, safetensors) in its own error."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists() or p.is_symlink():
        p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def sweep_orphans(path: Path) -> None:
    """Remove the temporaries of ``path`` left by a writer that died mid-write (a SIGKILL, a power
    cut), with one warning each. :func:`write_atomic` calls it before it writes (its callers hold
    the entry's lock); the pid check spares the temporary of a live process."""
    for tmp in path.parent.glob(f"{path.stem}.*.tmp{path.suffix}"):
        pid = tmp.name[len(path.stem) + 1:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            _remove(tmp)
            warnings.warn(f"{path.name}: removed the half-written copy {tmp.name} of an interrupted run; "
                          "writing it again", stacklevel=4)


def unreadable(path: Path, exc: BaseException) -> None:
    """The one warning a self-healing entry gives before it is recomputed."""
    warnings.warn(f"cache entry {Path(path).name} is unreadable ({type(exc).__name__}: {exc}); recomputing it",
                  stacklevel=3)


SESSION: dict = {}  # the one in-process memo: what a session computes or loads once (memo, cached(session=True))


def memo(key, compute):
    """``compute()`` once per process for ``key`` (hashable; name its kind first), kept in :data:`SESSION`."""
    if key not in SESSION:
        SESSION[key] = compute()
    return SESSION[key]


def cached(path: Path | str, load, compute, save, stale=lambda p: False, session: bool = False):
    """Load ``path`` if present and not ``stale``; otherwise ``compute()`` it and ``save(obj, tmp)``
    atomically, all under the entry's lock, so concurrent workers compute it once. An entry that
    ``load`` cannot read is recomputed and replaced (one warning). ``session``: keep the object for the
    rest of the session (:data:`SESSION`, keyed by path)."""
    path = Path(path)
    if not session:
        return _cached(path, load, compute, save, stale)
    return memo(("cached", path), lambda: _cached(path, load, compute, save, stale))


def _cached(path: Path, load, compute, save, stale):
    with lock(path):
        if path.exists() and not stale(path):
            try:
                return load(path)
            except CORRUPT_CACHE_ERRORS as exc:
                unreadable(path, exc)
        obj = compute()
        write_atomic(path, lambda tmp: save(obj, tmp))
        return obj


