"""RWKV-4 WKV routing (paper §5.3, App. B.2 "RWKV"; CLAIMS.md §2 "RWKV-4 WKV").

For channel c, query t and source s < t the WKV weight is ∝ exp((t−1−s)·w_c + k_{s,c}); the current
token gets exp(u_c + k_{t,c}); the distribution is normalised over s ≤ t. w_c = −exp(time_decay_c),
u = time_first, k = output of the block's ``attention.key`` (after token shift). Each channel's rows
sum to 1, so the channel mean R[t,s] = mean_c α^{(c)}_{t,s} is a row-stochastic routing matrix.

Decay scale s: time_decay + ln s (so w → s·w): s = 1 is the learned model, s → 0 is full carry,
large s kills the carry (only the current and the previous token survive: the previous token has gap
t−1−s = 0 and is never decayed, so a killed carry gives column sums ≤ 2 and max share ≤ 2/T).

Pure functions on tensors, one sequence at a time.
"""
from __future__ import annotations

import math

import numpy as np
import torch

#: time_decay value that stands for "no decay" (w = −exp(−30) ≈ −1e−13), as in CLAIMS.md §2
NO_DECAY_TIME_DECAY = -30.0


def decay_logits(k: torch.Tensor, w: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Logits ``[C,T,T]`` (−inf above the diagonal) for ``k [T,C]``, ``w, u [C]``."""
    T, C = k.shape
    t = torch.arange(T)
    gap = (t[:, None] - 1 - t[None, :]).to(k.dtype)  # t−1−s
    logits = gap[None] * w[:, None, None] + k.T[:, None, :]  # [C,T,T]
    diag = torch.arange(T)
    logits[:, diag, diag] = (u[:, None] + k.T)
    return logits.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril()[None], -math.inf)


def wkv_weights(k: torch.Tensor, w: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Per-channel softmax over sources: ``[C,T,T]``."""
    return torch.softmax(decay_logits(k, w, u), dim=-1)


def wkv_output(alpha: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """WKV_t[c] = Σ_s α^{(c)}_{t,s} v_s[c]  (``alpha [C,T,T]``, ``v [T,C]`` → ``[T,C]``)."""
    return torch.einsum("cts,sc->tc", alpha, v)


def routing_matrix(k, w, u, channel_chunk: int = 256) -> torch.Tensor:
    """R = mean over channels of α (row-stochastic ``[T,T]``), chunked over channels."""
    T, C = k.shape
    R = k.new_zeros(T, T)
    for c0 in range(0, C, channel_chunk):
        c1 = min(c0 + channel_chunk, C)
        R += wkv_weights(k[:, c0:c1], w[c0:c1], u[c0:c1]).sum(0)
    return R / C


def late_query_influence(R: torch.Tensor, n_late: int) -> tuple[np.ndarray, np.ndarray]:
    """Routing each source receives from the late queries t ≥ T−n_late, over sources s < T−n_late (every
    late query sees every such source, so there is no exposure confound). Returns (influence, positions)."""
    T = R.shape[0]
    cut = T - n_late
    infl = R[cut:, :cut].sum(0)
    return infl.double().cpu().numpy(), np.arange(cut, dtype=float)
