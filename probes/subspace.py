"""Key subspaces of two models (paper App. C.6, SC-1: seed control): canonical angles between top-r
principal subspaces, the random-subspace baseline, and the alignment by the attention scores' own symmetry.

Pure functions on numpy arrays (covariances accumulated by :mod:`fixtures.zoo_measure`)."""
from __future__ import annotations

import functools

import numpy as np
from scipy.linalg import subspace_angles
from scipy.optimize import linear_sum_assignment

from probes import stats


@functools.lru_cache(maxsize=16)
def random_subspace_angle(d: int, r: int, reps: int, seed: int) -> tuple[float, float]:
    """Mean canonical angle (degrees) between two uniformly random r-dim subspaces of ℝ^d:
    (mean, SE) over ``reps`` pairs (74.5° at d=64, r=8)."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(reps):
        a, _r = np.linalg.qr(rng.standard_normal((d, r)))
        b, _r = np.linalg.qr(rng.standard_normal((d, r)))
        vals.append(np.degrees(subspace_angles(a, b)).mean())
    vals = np.asarray(vals)
    return float(vals.mean()), float(stats.sem(vals))


def top_subspace(cov: np.ndarray, r: int) -> np.ndarray:
    """Top-r principal directions (columns) of a covariance matrix."""
    w, v = np.linalg.eigh(cov)
    return v[:, np.argsort(w)[::-1][:r]]


def mean_canonical_angles(cov_a: np.ndarray, cov_b: np.ndarray, r: int) -> np.ndarray:
    """``cov [L,H,d,d]`` each → [L,H] mean canonical angle (degrees) between the top-r subspaces."""
    L, H = cov_a.shape[:2]
    out = np.zeros((L, H))
    for li in range(L):
        for h in range(H):
            out[li, h] = np.degrees(subspace_angles(top_subspace(cov_a[li, h], r), top_subspace(cov_b[li, h], r))).mean()
    return out


def covariance(sum_, outer, n):
    """Covariance from accumulated moments: Σx / n and Σxxᵀ / n → E[xxᵀ] − μμᵀ (over the last two axes)."""
    mu = sum_ / n
    return outer / n - mu[..., :, None] * mu[..., None, :]


def symmetry_alignment(cross_ab: np.ndarray, rotary_dim: int) -> np.ndarray:
    """The orthogonal map O of the attention scores' own symmetry that best carries model b's keys
    onto model a's (least squares over the shared tokens: maximises tr(Oᵀ C_abᵀ), C_ab = E[(k_a −
    μ_a)(k_b − μ_b)ᵀ]).

    The scores are unchanged by W_K → M W_K, W_Q → M⁻ᵀ W_Q only for M that commutes with every
    rotary rotation: on the rotary dims (rotate-half layout, planes (i, i + rotary_dim/2), one
    frequency each) a rotation within each plane; on the dims without a rotary phase any
    orthogonal map (reflections included). Weight decay fixes the scale, so O is orthogonal."""
    d = cross_ab.shape[-1]
    m = cross_ab.T  # ∝ B_cᵀ A_c
    o = np.zeros((d, d))
    half = rotary_dim // 2
    for i in range(half):
        idx = [i, i + half]
        mp = m[np.ix_(idx, idx)]
        th = np.arctan2(mp[0, 1] - mp[1, 0], mp[0, 0] + mp[1, 1])
        c, s = np.cos(th), np.sin(th)
        o[np.ix_(idx, idx)] = [[c, s], [-s, c]]
    if rotary_dim < d:
        u, _, vt = np.linalg.svd(m[rotary_dim:, rotary_dim:])
        o[rotary_dim:, rotary_dim:] = u @ vt
    return o


def aligned_canonical_angles(moments: dict, r: int, rotary_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """SC-1's hard null removed: per layer, every twin head g is aligned onto every base head h by
    :func:`symmetry_alignment`, the heads are matched by the assignment that minimises the mean
    canonical angle (head order is itself a symmetry: permuting heads with their output
    projection changes nothing), and the mean canonical angle between the top-r subspaces is
    returned per base head ``[L,H]`` with the matching ``[L,H]``. A copy of the base model in
    another basis of its symmetry reads 0°."""

    n = float(moments["n"])
    ca = covariance(moments["sum_a"], moments["outer_a"], n)  # [L,H,d,d]
    cb = covariance(moments["sum_b"], moments["outer_b"], n)
    mu_a, mu_b = moments["sum_a"] / n, moments["sum_b"] / n
    cross = moments["cross"] / n - mu_a[:, :, None, :, None] * mu_b[:, None, :, None, :]  # [L,H,H,d,d]
    L, H = ca.shape[:2]
    ang, match = np.zeros((L, H)), np.zeros((L, H), dtype=int)
    for li in range(L):
        cost = np.zeros((H, H))
        ta = [top_subspace(ca[li, h], r) for h in range(H)]
        for h in range(H):
            for g in range(H):
                o = symmetry_alignment(cross[li, h, g], rotary_dim)
                cost[h, g] = np.degrees(subspace_angles(ta[h], top_subspace(o.T @ cb[li, g] @ o, r))).mean()
        rows, cols = linear_sum_assignment(cost)
        ang[li, rows], match[li, rows] = cost[rows, cols], cols
    return ang, match
