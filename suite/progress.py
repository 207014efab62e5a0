"""Progress a person can see in a plain terminal, pytest's capture included.

Each long pass (forward passes, θ points, training) reports ``what: n/N unit, elapsed, ETA``
as one line at most every ``interval`` seconds and a closing line. Lines are written to the
process's real stderr with pytest's capture suspended for that line; a pytest-xdist worker
inherits the controller's stderr, so they show under ``-n 2`` too (prefixed with the worker
id). With ``-q`` only the closing line of each pass is printed. Outside pytest (benchmarks,
``python -m fixtures.zoo``) the lines go to stderr directly.
"""
from __future__ import annotations

import contextlib
import sys
import time

_STATE: dict = {"capman": None, "verbosity": 0, "worker": None}


def configure(config) -> None:
    """Called once per process from the pytest plugin."""
    _STATE["capman"] = config.pluginmanager.getplugin("capturemanager")
    _STATE["verbosity"] = config.get_verbosity()
    _STATE["worker"] = getattr(config, "workerinput", {}).get("workerid")


def _write(line: str) -> None:
    capman = _STATE["capman"]
    ctx = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
    with ctx:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def note(text: str) -> None:
    """One progress line for a step that has no count (a conversion, a join)."""
    who = f"[collapse-claims{' ' + _STATE['worker'] if _STATE['worker'] else ''}]"
    _write(f"{who} {text}")


class Progress:
    """``Progress(total, "forward smollm2-135m", "seq")``; ``update(n, loss=…)``; ``close()``."""

    def __init__(self, total: int, what: str, unit: str, interval: float = 15.0):
        self.total, self.what, self.unit, self.interval = int(total), what, unit, interval
        self.n, self.t0, self.info = 0, time.perf_counter(), {}
        self.last = self.t0
        self.closed = False

    def update(self, n: int = 1, **info) -> None:
        self.n += n
        self.info.update(info)
        now = time.perf_counter()
        if now - self.last >= self.interval and _STATE["verbosity"] >= 0 and self.n < self.total:
            self.last = now
            _write(self.line(now))

    def line(self, now: float, final: bool = False) -> str:
        el = now - self.t0
        who = f"[collapse-claims{' ' + _STATE['worker'] if _STATE['worker'] else ''}]"
        extra = "".join(f", {k} {v}" for k, v in self.info.items())
        if final:
            return f"{who} {self.what}: {self.n}/{self.total} {self.unit} done in {el:.0f} s{extra}"
        eta = el / self.n * (self.total - self.n) if self.n else float("nan")
        return f"{who} {self.what}: {self.n}/{self.total} {self.unit}, {el:.0f} s, ETA {eta:.0f} s{extra}"

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            _write(self.line(time.perf_counter(), final=True))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
