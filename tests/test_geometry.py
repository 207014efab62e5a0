"""VE@r, the Marchenko–Pastur null and key-norm CV against independent oracles."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.geometry import (centred_gram_eigvals, double_centred_distance_eigvals, gaussian_norm_cv_baseline,
                             mp_ve_null, norm_cv, simulated_ve_null, ve_at_r, ve_from_eigvals)

EIG_RTOL = 1e-8  # float64 eigen-solvers on well-scaled 16..40-point clouds
LADDER = {64: 0.294, 80: 0.262, 128: 0.212, 256: 0.160}  # paper Table 4 caption / CLAIMS.md
LADDER_TOL = 0.004  # 3-decimal rounding + simulation SE (see registry TF-3)


@given(n=st.integers(3, 40), d=st.integers(2, 40), seed=st.integers(0, 2**31 - 1),
       scale=st.floats(1e-2, 1e2), r=st.integers(1, 8))
def test_ve_matches_literal_double_centred_distance_matrix(n, d, seed, scale, r):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
    fast = ve_at_r(x, r)
    oracle = ve_from_eigvals(double_centred_distance_eigvals(x), r)
    assert math.isclose(float(fast), float(oracle), rel_tol=1e-7, abs_tol=1e-9)


def test_other_conventions_give_the_wrong_numbers():
    """CLAIMS.md §2: only eigenvalues of B reproduce 0.294; squared singular values of B give ~0.464."""
    x = torch.randn(400, 128, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ev = centred_gram_eigvals(x)
    assert abs(float(ve_from_eigvals(ev, 8).mean()) - 0.294) < 0.004
    sq = ev ** 2  # squared singular values of the symmetric PSD B
    assert abs(float(ve_from_eigvals(sq, 8).mean()) - 0.464) < 0.01
    sv = ev.sqrt()  # singular values of the centred keys
    assert abs(float(ve_from_eigvals(sv, 8).mean()) - 0.206) < 0.01


@pytest.mark.parametrize("dh, paper", LADDER.items())
def test_mp_null_ladder_reproduced(dh, paper):
    sim, se = simulated_ve_null(128, dh, r=8, reps=800, seed=1)
    assert abs(sim - paper) < LADDER_TOL, (sim, se)
    assert abs(mp_ve_null(128, dh, 8) - paper) < LADDER_TOL


def test_within_sequence_permutation_is_a_no_op_trap():
    """Permuting the rows of one sequence's keys leaves the spectrum unchanged (the trap);
    pooling across sequences does change it."""
    g = torch.Generator().manual_seed(3)
    base = torch.randn(6, 32, 8, generator=g, dtype=torch.float64)
    keys = base + torch.arange(6, dtype=torch.float64).view(6, 1, 1) * 3.0  # per-sequence offsets
    perm = keys[:, torch.randperm(32, generator=g)]
    torch.testing.assert_close(ve_at_r(perm, 4), ve_at_r(keys, 4))
    pooled = keys.reshape(-1, 8)[torch.randperm(6 * 32, generator=g)].reshape(6, 32, 8)  # pooled across sequences
    assert not torch.allclose(ve_at_r(pooled, 1), ve_at_r(keys, 1))


@settings(max_examples=6)
@given(d=st.sampled_from([16, 64, 256]), seed=st.integers(0, 1000))
def test_norm_cv_baseline_for_isotropic_gaussian(d, seed):
    x = torch.randn(8000, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    cv = float(norm_cv(x.unsqueeze(0), dim=-2))
    # large-d limit 1/sqrt(2d); finite-d correction is O(1/d^1.5), sampling SE ~ cv/sqrt(2·20000)
    assert abs(cv - gaussian_norm_cv_baseline(d)) < 0.02 * gaussian_norm_cv_baseline(d) + 4 * cv / math.sqrt(16000)


def test_constant_norm_cv_is_zero():
    x = torch.randn(50, 8, dtype=torch.float64)
    x = 2.0 * x / x.norm(dim=-1, keepdim=True)
    assert float(norm_cv(x.unsqueeze(0), dim=-2)) < 1e-12
