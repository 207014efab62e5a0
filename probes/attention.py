"""Attention-routing probes (paper §4.3, App. B.3; CLAIMS.md §2 "Max attention share").

All reductions work from per-(sequence, head) **column sums** of the causal attention
matrix, so no caller ever needs to hold T×T matrices beyond one layer of one batch.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats


def column_sums(attn: torch.Tensor) -> torch.Tensor:
    """``attn [..., T(query), T(source)]`` → total weight each source receives ``[..., T]``."""
    return attn.sum(dim=-2)


def share_from_colsum(colsum: torch.Tensor | np.ndarray):
    """share_s = Σ_t A[t,s] / Σ_{t,s} A (diagonal and first token included)."""
    return colsum / colsum.sum(-1, keepdims=True) if isinstance(colsum, np.ndarray) else colsum / colsum.sum(-1, keepdim=True)


def max_share_from_colsum(colsum):
    """Largest source share per (…, head): ``[..., T] → [...]``."""
    s = share_from_colsum(colsum)
    return s.max(-1) if isinstance(s, np.ndarray) else s.max(-1).values


def diagonal_means(attn: torch.Tensor) -> torch.Tensor:
    """Mean attention weight at query–key distance d: ``Ā(d) = mean_{t≥d} A[t, t−d]``.

    ``attn [..., T, T] → [..., T]`` (d = 0..T−1), by one gather, no Python loop over d.
    """
    T = attn.shape[-1]
    t = torch.arange(T, device=attn.device).unsqueeze(1)
    d = torch.arange(T, device=attn.device).unsqueeze(0)
    src = (t - d).clamp_min(0)  # [T, T]: row t, column d -> source t-d
    valid = (t >= d).to(attn.dtype)
    g = torch.gather(attn, -1, src.expand(*attn.shape[:-2], T, T))
    return (g * valid).sum(-2) / valid.sum(0)


def uniform_causal_colsum(T: int) -> np.ndarray:
    """Column sums of uniform causal attention: source s receives Σ_{t≥s} 1/(t+1)."""
    inv = 1.0 / np.arange(1, T + 1)
    return np.cumsum(inv[::-1])[::-1]


def uniform_max_share(T: int) -> float:
    """Max share of uniform causal attention = H_T / T (0.0424 at T=128; not 1/T)."""
    return float(uniform_causal_colsum(T).max() / T)


def onset(layer_values, threshold: float):
    """First layer (1-based) whose value exceeds ``threshold`` → ``(k, k/L)``, or ``None``."""
    v = np.asarray(layer_values, dtype=float)
    idx = np.flatnonzero(v > threshold)
    if idx.size == 0:
        return None
    k = int(idx[0]) + 1
    return k, k / v.size


def completion_depth(layer_values, threshold: float = 0.5):
    """L*: first layer whose value exceeds ``threshold`` (0.50 in the paper)."""
    return onset(layer_values, threshold)


def pearson(x, y) -> tuple[float, float]:
    """Pearson r and two-sided p (scipy.stats.pearsonr)."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.size < 3 or np.allclose(x.std(), 0) or np.allclose(y.std(), 0):
        return math.nan, math.nan
    r = stats.pearsonr(x, y)
    return float(r.statistic), float(r.pvalue)
