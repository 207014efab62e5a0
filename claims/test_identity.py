"""Theorem 1, Propositions 1–2 (paper §3, App. A) and the Gaussian null (TF-3, §4.2,
App. B.4) as Hypothesis property tests, numpy style: each example asserts the property itself
(with the registry's named tolerance), so a violation is shrunk by Hypothesis to a minimal
counterexample, which the verdict then carries (not reproduced, with the shrunk example). The
examples' figures are also collected, for the report's numbers (model column: "algebra")."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pytest

from claims import checks_identity as ci
from probes.geometry import mp_ve_null, simulated_ve_null, ve_at_r
from suite.outcome import conclude

FLOATS = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False, width=64)


def vectors(n, d):
    return arrays(np.float64, (n, d), elements=FLOATS)


@pytest.mark.claim("ID-1")
def test_id1_boltzmann_equals_softmax_iff_equal_norms(claim, record_claim):
    eq_errs, resids, gaps = [], [], []

    @given(d=st.integers(2, 32), n=st.integers(2, 24), c=st.floats(0.5, 4.0), omega=st.floats(0.3, 3.0),
           seed=st.integers(0, 2**31 - 1))
    def example(d, n, c, omega, seed):
        rng = np.random.default_rng(seed)
        q = rng.standard_normal(d)
        raw = rng.standard_normal((n, d))
        equal = c * raw / np.linalg.norm(raw, axis=1, keepdims=True)  # ‖k_i‖ = c (A4)
        unequal = raw * rng.uniform(0.2, 3.0, size=(n, 1))
        assume(np.ptp(np.linalg.norm(unequal, axis=1)) > 0.5)
        e, r, g = ci.theorem1_errors(q, equal, unequal, omega)
        eq_errs.append(e), resids.append(r), gaps.append(g)
        assert e < tol, f"equal norms: |α_B − α_S| = {e:.3g} ≥ {tol:g}"
        assert r < tol, f"unequal norms: residual after the ‖k‖² term {r:.3g} ≥ {tol:g}"

    tol = claim("ID-1").tolerance.value
    bad = ci.falsified(example)
    result = record_claim(ci.check_id1(claim("ID-1"), eq_errs, resids, gaps, counterexample=bad))
    conclude(result)


@pytest.mark.claim("ID-2")
def test_id2_boltzmann_is_max_entropy(claim, record_claim):
    deficits = []

    @given(n=st.integers(3, 32), beta=st.floats(0.05, 3.0), seed=st.integers(0, 2**31 - 1), eps=st.floats(0.05, 0.9))
    def example(n, beta, seed, eps):
        rng = np.random.default_rng(seed)
        dist2 = rng.uniform(0.0, 4.0, n)
        out = ci.max_entropy_deficit(dist2, beta, rng.standard_normal(n), eps)
        assume(out is not None)
        deficits.append(out)
        assert out > c.threshold - c.tolerance.value, f"a feasible non-Boltzmann weighting has more entropy ({out:.3g})"

    c = claim("ID-2")
    bad = ci.falsified(example)
    result = record_claim(ci.check_id2(c, deficits, counterexample=bad))
    conclude(result)


@pytest.mark.claim("ID-3")
def test_id3_metric_score_not_bilinear(claim, record_claim):
    residuals, zeros = [], []

    @given(d=st.integers(1, 8), entries=st.lists(FLOATS, min_size=64, max_size=64), seed=st.integers(0, 2**31 - 1))
    def example(d, entries, seed):
        a = np.array(entries[: d * d]).reshape(d, d)
        M = 0.5 * (a + a.T)
        assume(np.abs(M).max() > 0.1)  # M ≠ 0
        res, zero = ci.bilinear_fit_residual(M, 4 * d * d + 8, np.random.default_rng(seed)), ci.zero_query_score(M)
        residuals.append(res), zeros.append(zero)
        assert res > c.threshold, f"a bilinear form fits s_M (residual {res:.3g})"
        assert zero > c.threshold, f"s_M(0, k*) = {zero:.3g} vanishes as a bilinear form's would"

    c = claim("ID-3")
    bad = ci.falsified(example)
    result = record_claim(ci.check_id3(c, residuals, zeros, counterexample=bad))
    conclude(result)


@pytest.mark.claim("TF-3")
def test_tf3_gaussian_null_depends_only_on_aspect_ratio(claim, record_claim):
    c = claim("TF-3")
    n, r, reps = c.param("n"), c.param("rank"), c.param("reps")
    ladder = {dh: simulated_ve_null(n, dh, r=r, reps=reps, seed=dh) for dh in c.param("ladder_dh")}
    mp = {dh: mp_ve_null(n, dh, r) for dh in c.param("ladder_dh")}
    scale_errs = []

    @given(d=st.sampled_from([16, 32, 64]), scale=st.floats(1e-3, 1e3), shift=st.floats(-50, 50), seed=st.integers(0, 2**31 - 1))
    def example(d, scale, shift, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(4, n, d, generator=g, dtype=torch.float64)
        base = ve_at_r(x, r)
        moved = ve_at_r(x * scale + shift, r)
        err = float(((moved - base).abs() / base).max())
        scale_errs.append(err)
        assert err < c.param("scale_invariance_rtol"), f"VE@{r} moved by {err:.3g} under scale {scale:g}, shift {shift:g}"

    bad = ci.falsified(example)
    result = record_claim(ci.check_tf3(c, ladder, mp, scale_errs, counterexample=bad))
    conclude(result)
