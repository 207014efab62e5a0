"""Provenance: library versions, git commit, machine — merged into every result."""
from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBS = ("torch", "transformers", "numpy", "scipy", "gguf", "torch-geometric", "hypothesis", "pytest")


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
        "git_commit": git_commit(),
    }


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
