"""Key/representation geometry probes (paper §4.1, §4.2, App. B.3, B.4).

Pure functions on tensors. Batched over any leading dimensions; the point cloud is the
last two dimensions ``[..., n, d]``.

* :func:`ve_at_r` — rank-r variance explained of the double-centred squared-distance
  matrix ``B = -1/2 J D^2 J`` using its **eigenvalues** (the only convention that
  reproduces the paper's 0.294 Gaussian null at d_h=64, n=128; CLAIMS.md §2).
* :func:`norm_cv` — coefficient of variation of vector norms; baseline
  :func:`gaussian_norm_cv_baseline` = 1/sqrt(2 d_h).
* :func:`mp_ve_null` / :func:`simulated_ve_null` — the Gaussian (Marchenko–Pastur) null
  for VE@r, analytic limit and finite-n simulation.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch


def centred_gram_eigvals(x: torch.Tensor) -> torch.Tensor:
    """Eigenvalues (descending) of the centred Gram matrix of the cloud ``x [..., n, d]``.

    ``B = -1/2 J D² J = Xc Xcᵀ`` (classical MDS identity), so its non-zero spectrum equals
    that of ``Xcᵀ Xc``. We diagonalise whichever of the two is smaller (``d×d`` when
    ``d < n``), in float64. Returns ``[..., min(n, d)]``, clamped at 0 (round-off).
    """
    x = x.to(torch.float64)
    xc = x - x.mean(dim=-2, keepdim=True)
    n, d = xc.shape[-2], xc.shape[-1]
    g = xc.transpose(-1, -2) @ xc if d <= n else xc @ xc.transpose(-1, -2)
    ev = torch.linalg.eigvalsh(g).flip(-1)
    return ev.clamp_min(0.0)


def ve_from_eigvals(ev: torch.Tensor, r: int) -> torch.Tensor:
    """Σ_{i≤r} λ_i / Σ λ_i for descending eigenvalues ``ev [..., m]``."""
    total = ev.sum(-1)
    return ev[..., :r].sum(-1) / total.clamp_min(torch.finfo(ev.dtype).tiny)


def ve_at_r(x: torch.Tensor, r: int) -> torch.Tensor:
    """VE@r of the double-centred distance matrix of each cloud ``x [..., n, d]`` → ``[...]``."""
    return ve_from_eigvals(centred_gram_eigvals(x), r)


def ve_curve(x: torch.Tensor, rmax: int) -> torch.Tensor:
    """VE@1..rmax in one eigendecomposition → ``[..., rmax]``."""
    ev = centred_gram_eigvals(x)
    return ev[..., :rmax].cumsum(-1) / ev.sum(-1, keepdim=True).clamp_min(1e-300)


def double_centred_distance_eigvals(x: torch.Tensor) -> torch.Tensor:
    """Oracle: eigenvalues of ``-1/2 J D² J`` built literally from pairwise distances.

    O(n³); used by the self-tests as the independent check of :func:`centred_gram_eigvals`.
    """
    x = x.to(torch.float64)
    n = x.shape[-2]
    d2 = torch.cdist(x, x).pow(2)
    j = torch.eye(n, dtype=x.dtype) - 1.0 / n
    b = -0.5 * j @ d2 @ j
    b = 0.5 * (b + b.transpose(-1, -2))
    return torch.linalg.eigvalsh(b).flip(-1).clamp_min(0.0)


def norm_cv(x: torch.Tensor, dim: int = -2) -> torch.Tensor:
    """CV (std/mean, ddof=0) of the Euclidean norms of vectors ``x [..., n, d]`` over ``dim``
    (the token axis by default)."""
    norms = x.to(torch.float64).norm(dim=-1)
    dim = dim if dim < 0 else dim
    d = dim + 1 if dim < 0 else dim  # norms dropped the last axis
    return norms.std(dim=d, unbiased=False) / norms.mean(dim=d)


def gaussian_norm_cv_baseline(d_h: int) -> float:
    """Key-norm CV of zero-mean isotropic Gaussian keys, large-d limit: 1/sqrt(2 d_h) (§4.1)."""
    return 1.0 / math.sqrt(2.0 * d_h)


# --------------------------------------------------------------------------- nulls
def _mp_quantile_integral(y: float, frac: float, grid: int = 200_001) -> float:
    """∫ over the top ``frac`` of the Marchenko–Pastur(y≤1, σ²=1) mass of x f(x) dx.

    The MP law has mean 1, so this is the limiting share of the total eigenvalue sum
    carried by the top ``frac`` of eigenvalues.
    """
    a, b = (1 - math.sqrt(y)) ** 2, (1 + math.sqrt(y)) ** 2
    xs = np.linspace(a, b, grid)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.sqrt(np.clip((b - xs) * (xs - a), 0, None)) / (2 * math.pi * y * xs)
    f[~np.isfinite(f)] = 0.0
    dx = xs[1] - xs[0]
    cdf = np.cumsum(f) * dx
    cdf /= cdf[-1]
    xf = xs * f
    first = np.searchsorted(cdf, 1.0 - frac)
    top = np.trapezoid(xf[first:], xs[first:])
    total = np.trapezoid(xf, xs)
    return float(top / total)


def mp_ve_null(n: int, d: int, r: int) -> float:
    """Analytic Marchenko–Pastur limit of VE@r for i.i.d. Gaussian clouds of n points in ℝ^d.

    Centring removes one degree of freedom (n_eff = n − 1). The non-zero spectrum has
    m = min(n_eff, d) eigenvalues with aspect ratio y = m / max(n_eff, d); VE@r is the
    mass share of the top r/m quantile (App. B.4). Depends only on n/d, not on scale.
    """
    n_eff = n - 1
    m, big = min(n_eff, d), max(n_eff, d)
    if r >= m:
        return 1.0
    return _mp_quantile_integral(m / big, r / m)


def simulated_ve_null(
    n: int, d: int, r: int, reps: int, seed: int = 0, scale: float = 1.0, mean=None
) -> tuple[float, float]:
    """Finite-n Gaussian null: mean and standard error of VE@r over ``reps`` clouds of n i.i.d.
    N(mean, scale²·I_d) points (one scalar variance — per-dimension variances would push it to
    ~0.53, CLAIMS.md §2)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(reps, n, d, generator=g, dtype=torch.float64) * scale
    if mean is not None:
        x = x + torch.as_tensor(mean, dtype=torch.float64)
    v = ve_at_r(x, r)
    return float(v.mean()), float(v.std(unbiased=True) / math.sqrt(reps))


@functools.lru_cache(maxsize=32)
def gaussian_ve_null(n: int, d: int, r: int, reps: int, seed: int) -> tuple[float, float]:
    """TF-2's simulated Marchenko–Pastur null (mean, SE) of VE@r at n points in ℝ^d
    (:func:`simulated_ve_null`, cached per shape: every claim reading the same shape shares it)."""
    return simulated_ve_null(n, d, r=r, reps=reps, seed=seed)


#: largest simulated Gaussian batch (bytes) of one null draw; larger (n, d, reps) are split into chunks
NULL_CHUNK_BYTES = 1 << 27


def gaussian_ve_null_chunked(n: int, d: int, r: int, reps: int, seed: int) -> tuple[float, float]:
    """TF-2's Gaussian (Marchenko–Pastur) null of VE@r — i.i.d. clouds of n points in ℝ^d with one scalar
    variance (App. B.4; :func:`gaussian_ve_null`) — as (mean, SE). When ``reps`` clouds of
    that shape would exceed NULL_CHUNK_BYTES (RWKV-169m's keys, d = 768: 1.6 GB) the simulation runs in
    equal chunks with seeds seed, seed+1, …, and the chunk means are averaged (SE combined)."""
    per = max(1, NULL_CHUNK_BYTES // (8 * n * d))
    if per >= reps:
        return gaussian_ve_null(n, d, r, reps, seed)
    chunks = -(-reps // per)
    size = -(-reps // chunks)
    parts = [gaussian_ve_null(n, d, r, size, seed + i) for i in range(chunks)]
    means = np.array([p[0] for p in parts])
    ses = np.array([p[1] for p in parts])
    return float(means.mean()), float(np.sqrt((ses ** 2).sum()) / chunks)
