"""probes.stats, the one implementation of each statistic, against independent oracles
(numpy's Hypothesis style: assertions inside @given, bounded strategies, named tolerances)."""
from __future__ import annotations

import math
import statistics

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from probes import stats

RTOL = 1e-9  # float64 statistics against float64 oracles: rounding only
finite = st.floats(min_value=0.01, max_value=10.0, allow_nan=False)
profiles = hnp.arrays(np.float64, st.integers(1, 30), elements=st.floats(0.0, 1.0))


@given(profiles, st.floats(0.0, 1.0))
def test_onset_is_the_first_layer_above(v, thr):
    above = [i for i, x in enumerate(v) if x > thr]  # oracle: a plain loop
    o = stats.onset(v, thr)
    if not above:
        assert o is None and stats.onset_fraction(v, thr) == (len(v) + 1) / len(v)
        assert stats.onset_depth(v, thr) == len(v) + 1
    else:
        assert o == (above[0] + 1, (above[0] + 1) / len(v))
        d = stats.onset_depth(v, thr)
        assert above[0] <= d <= above[0] + 1 if above[0] else d == 1.0


@given(hnp.arrays(np.float64, st.integers(3, 40), elements=finite),
       hnp.arrays(np.float64, st.integers(3, 40), elements=finite))
def test_pearson_matches_the_textbook_formula(x, y):
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    r, p = stats.pearson(x, y)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        assert math.isnan(r) and math.isnan(p)
        return
    xc, yc = x - x.mean(), y - y.mean()
    den = math.sqrt((xc @ xc) * (yc @ yc))
    if den < 1e-6:  # near-constant: the oracle itself is ill-conditioned
        return
    assert math.isclose(r, (xc @ yc) / den, rel_tol=1e-6, abs_tol=1e-9)
    assert 0.0 <= p <= 1.0


@given(hnp.arrays(np.float64, st.integers(2, 50), elements=finite), st.integers(0, 1))
def test_cv_numpy_and_torch_match_statistics(x, ddof):
    sd = statistics.pstdev(x) if ddof == 0 else statistics.stdev(x)
    oracle = sd / statistics.fmean(x)
    assert math.isclose(float(stats.cv(x, -1, ddof)), oracle, rel_tol=1e-7, abs_tol=1e-12)
    assert math.isclose(float(stats.cv(torch.tensor(x), -1, ddof)), oracle, rel_tol=1e-7, abs_tol=1e-12)
    s1, s2 = x.sum(), (x * x).sum()
    if ddof == 0:
        assert math.isclose(float(stats.pooled_cv_from_sums(s1, s2, len(x))), oracle, rel_tol=1e-5, abs_tol=1e-6)


@given(st.integers(2, 300))
def test_uniform_shares_from_the_uniform_causal_matrix(T):
    A = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]  # oracle: the matrix itself
    col = A.sum(0)
    assert math.isclose(stats.uniform_share(T), col.max() / col.sum(), rel_tol=RTOL)
    assert math.isclose(float(stats.max_share(col)), col.max() / col.sum(), rel_tol=RTOL)
    assert math.isclose(stats.uniform_share_rows(np.ones(T)), stats.uniform_share(T), rel_tol=RTOL)
    assert math.isclose(float(stats.sink_mass(col)), A[1:, 0].mean(), rel_tol=RTOL)
    assert math.isclose(stats.uniform_sink_mass(T), A[1:, 0].mean(), rel_tol=RTOL)


@given(hnp.arrays(np.float64, (6, 6), elements=st.floats(0.0, 1.0)))
def test_sink_mass_and_max_share_of_any_causal_attention(M):
    A = np.tril(M) + np.eye(6) * 1e-3
    A = A / A.sum(1, keepdims=True)
    col = A.sum(0)
    assert math.isclose(float(stats.sink_mass(col)), A[1:, 0].mean(), rel_tol=RTOL, abs_tol=1e-15)
    assert math.isclose(float(stats.max_share(torch.tensor(col))), col.max() / 6.0, rel_tol=RTOL)


@given(st.integers(1, 60), st.integers(1, 40), st.integers(0, 2 ** 16))
def test_bootstrap_counts_are_the_indices_tallied(n, reps, seed):
    idx = stats.bootstrap_indices(n, reps, seed)
    w = stats.bootstrap_counts(n, reps, seed)
    assert w.shape == (reps, n) and np.all(w.sum(1) == n)
    assert all(np.array_equal(np.bincount(idx[r], minlength=n), w[r]) for r in range(reps))
    assert np.array_equal(idx, stats.bootstrap_indices(n, reps, seed))  # fixed by the seed


@given(hnp.arrays(np.float64, st.tuples(st.integers(2, 20), st.integers(1, 4)), elements=finite))
def test_sem_is_sd_over_root_n(x):
    oracle = [statistics.stdev(x[:, j]) / math.sqrt(len(x)) for j in range(x.shape[1])]
    assert np.allclose(stats.sem(x, axis=0), oracle, rtol=1e-7, atol=1e-12)
