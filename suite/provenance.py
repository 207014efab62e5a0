"""Provenance: library versions, git commit, machine — merged into every result."""
from __future__ import annotations

import functools
import importlib.metadata
import platform
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBS = ("torch", "transformers", "numpy", "scipy", "gguf", "torch-geometric", "hypothesis", "pytest")
LOCK = ROOT / "requirements.lock"  # what `make` installs (pip-compile output; README: how to update it)


def bos_words(bos_id: int | None, seq_len: int) -> str:
    """A measurement's ``bos_id`` (provenance: the token at position 0 of every window, or None) in words."""
    return f"BOS id {bos_id} + {seq_len - 1} text tokens" if bos_id is not None else "no BOS"


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    versions = {}
    for lib in LIBS:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = None
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": platform.node(),  # where the measurement was made (issue 25: measure on one machine, decide on another)
        "git_commit": git_commit(),
        "lock_differs": lock_differences(),
    }


def locked_versions(lock: Path = LOCK) -> dict:
    """``{distribution: version}`` pinned by the lock file (``name==version`` lines)."""
    out = {}
    if lock.is_file():
        for line in lock.read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
            if m:
                out[m.group(1).lower()] = m.group(2)
    return out


def _same_version(a: str, b: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def lock_differences(lock: Path = LOCK) -> dict:
    """Installed versions that differ from the lock file, ``{name: {"installed", "locked"}}``
    (a missing distribution reads ``installed: None``); empty when the environment is the locked one."""
    out = {}
    for name, want in locked_versions(lock).items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have is None or not _same_version(have, want):
            out[name] = {"installed": have, "locked": want}
    return out


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip() or None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return f"{sha}{'+dirty' if dirty else ''}" if sha else None
    except (OSError, subprocess.SubprocessError):
        return None


def portable(obj, root: Path = ROOT):
    """The same record without this machine's layout: a path under the home directory is
    written from ``~``, one beside the checkout (the shared data, the checkout itself) relative
    to the checkout. What identifies the input — file hashes, ids, revisions — is untouched."""

    if isinstance(obj, dict):
        return {k: portable(v, root) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [portable(v, root) for v in obj]
    if not isinstance(obj, str) or not obj.startswith("/"):
        return obj
    path, home = Path(obj), Path.home()
    if path.is_relative_to(root):
        return str(path.relative_to(root))
    if root.parent != Path("/") and path.is_relative_to(root.parent):
        return str(Path("..") / path.relative_to(root.parent))
    if home != Path("/") and path.is_relative_to(home):
        return str(Path("~") / path.relative_to(home))
    return obj


def collect(**specifics) -> dict:
    """Environment provenance plus the caller's specifics (model, dtype, device, data hash,
    n sequences, seed …)."""
    d = dict(environment())
    d.update({k: v for k, v in specifics.items() if v is not None})
    return d
