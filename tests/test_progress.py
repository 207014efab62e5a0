"""Progress lines (suite.progress): throttled updates with an ETA, one closing line, -q quiet."""
from __future__ import annotations

import pytest

from suite import progress


@pytest.fixture
def plain(monkeypatch, capsys):
    monkeypatch.setitem(progress._STATE, "capman", None)
    monkeypatch.setitem(progress._STATE, "worker", "gw1")
    return capsys


@pytest.mark.parametrize("verbosity, want", [(0, 4), (-1, 1)])
def test_updates_then_one_closing_line(plain, monkeypatch, verbosity, want):
    monkeypatch.setitem(progress._STATE, "verbosity", verbosity)
    with progress.Progress(4, "forward m", "seq", interval=0.0) as p:
        for _ in range(4):
            p.update(1, loss="1.0")
    lines = plain.readouterr().err.strip().splitlines()
    assert len(lines) == want  # updates at 1..3 of 4, then the closing line; -q: the closing line only
    assert lines[-1].startswith("[collapse-claims gw1] forward m: 4/4 seq done in") and "loss 1.0" in lines[-1]
    if verbosity == 0:
        assert "ETA" in lines[0] and "1/4 seq" in lines[0]
