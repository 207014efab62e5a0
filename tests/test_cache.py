"""The disk cache heals itself: a truncated or foreign entry is recomputed with one warning,
never a BadZipFile in every claim that reads it."""
from __future__ import annotations

import numpy as np
import pytest

from fixtures.locking import cached_artifact


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

    assert np.array_equal(cached_artifact(path, _load, compute, _save), np.arange(5.0))
    path.write_bytes(damage)  # an interrupted copy / a full disk
    with pytest.warns(UserWarning, match="unreadable.*recomputing"):
        out = cached_artifact(path, _load, compute, _save)
    assert np.array_equal(out, np.arange(5.0)) and len(calls) == 2
    assert np.array_equal(cached_artifact(path, _load, compute, _save), np.arange(5.0)) and len(calls) == 2
