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


def column_sums(k: torch.Tensor, w: torch.Tensor, u: torch.Tensor, n_late: int = 0):
    """Channel-summed WKV routing columns of keys ``k [N,T,C]`` in O(N·T·C), without the ``[C,T,T]`` weights:
    ``col [N,T]`` = Σ_c Σ_t α^{(c)}_{t,s} (C · :func:`routing_matrix` ``.sum(0)`` per sequence) and, for
    ``n_late`` > 0, ``late [N,T−n_late]`` = Σ_c Σ_{t≥cut} α^{(c)}_{t,s} over sources s < cut = T − n_late
    (C · the influence of :func:`late_query_influence`).

    With Z_t = Σ_{s<t} e^{(t−1−s)w + k_s} + e^{u + k_t} (the WKV denominator), a column is
    col_s = e^{u + k_s}/Z_s + e^{k_s} G_s with G_s = Σ_{t>s} e^{(t−1−s)w}/Z_t, run backwards:
    G_{T−1} = 0, G_s = 1/Z_{s+1} + e^{w} G_{s+1}; the late queries give e^{k_s} e^{(cut−1−s)w} G_{cut−1}.
    Keys are shifted by m = max_s k_s + max(0, u) per (sequence, channel), which cancels in every
    ratio and keeps each term of Z at most 1. A sequence whose denominators leave float range (keys
    spanning e^{±700}) is redone densely."""
    k = k.to(torch.float64)
    w, u = w.to(torch.float64), u.to(torch.float64)
    N, T, C = k.shape
    if not 0 <= n_late < T:
        raise ValueError(f"n_late = {n_late} late queries of {T}: needs 0 ≤ n_late < T (at least one earlier source)")
    ek = (k - (k.amax(1, keepdim=True) + u.clamp(min=0))).exp()  # e^{k_s − m} ≤ 1
    ew, eu = w.exp(), u.exp()
    Z = torch.empty_like(k)
    past = torch.zeros(N, C, dtype=k.dtype)
    for t in range(T):
        if t:
            past = past * ew + ek[:, t - 1]
        Z[:, t] = past + eu * ek[:, t]
    inv = Z.reciprocal()
    cut = T - n_late
    G = torch.zeros(N, C, dtype=k.dtype)
    col = torch.empty_like(k)
    late = None
    for s in range(T - 1, -1, -1):
        if s < T - 1:
            G = inv[:, s + 1] + ew * G
        if n_late and s == cut - 1:  # G_{cut−1} = Σ_{t≥cut} e^{(t−cut)w}/Z_t
            gap = torch.arange(cut - 1, -1, -1, dtype=k.dtype)  # cut−1−s for s = 0..cut−1
            late = (ek[:, :cut] * ew ** gap[:, None] * G[:, None]).sum(-1)  # ew**0 = 1 even for w = −inf
        col[:, s] = ek[:, s] * (G + eu * inv[:, s])
    col = col.sum(-1)
    bad = ~torch.isfinite(col).all(-1) | ~(Z.amin((1, 2)) > 0)
    if late is not None:
        bad |= ~torch.isfinite(late).all(-1)
    for i in torch.nonzero(bad).flatten().tolist():
        R = routing_matrix(k[i], w, u) * C
        col[i] = R.sum(0)
        if late is not None:
            late[i] = R[cut:, :cut].sum(0)
    return (col, late) if n_late else col
