"""Hypothesis searches whose examples depend only on the property, not on the rest of the code base.

The algebra claims (ID-1..3, TF-3, BK-3) are measured by a Hypothesis search under the ``ci``
profile (derandomised: the seed is a hash of the property's source). Hypothesis also mixes into
its draws the literal constants of every *local* module imported at that moment, so an edit to
any file of the suite, or a different import order, moved the recorded minimum of ID-3 (0.32 to
0.48 on the same search). :func:`isolated_examples` empties that pool for the duration of a search,
so a recorded number changes only when its claim's property or parameters change.
"""
from __future__ import annotations

import contextlib

try:  # private Hypothesis API; without it (another version) the search is simply left as it is
    from hypothesis.internal.conjecture import providers as _providers
except ImportError:  # pragma: no cover
    _providers = None


@contextlib.contextmanager
def isolated_examples():
    get = getattr(_providers, "_get_local_constants", None)
    if get is None or not hasattr(_providers, "Constants"):
        yield
        return
    empty = _providers.Constants()
    _providers._get_local_constants = lambda: empty
    _providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        _providers._get_local_constants = get
        _providers.CONSTANTS_CACHE.cache.clear()
