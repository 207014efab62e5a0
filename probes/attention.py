"""Attention-routing probes (paper §4.3, App. B.3; CLAIMS.md §2 "Max attention share").

All reductions work from per-(sequence, head) **column sums** of the causal attention
matrix, so no caller ever needs to hold T×T matrices beyond one layer of one batch.
"""
from __future__ import annotations

import torch


def column_sums(attn: torch.Tensor) -> torch.Tensor:
    """``attn [..., T(query), T(source)]`` → total weight each source receives ``[..., T]``."""
    return attn.sum(dim=-2)


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
