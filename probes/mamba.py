"""Mamba hidden attention (paper §5.2, App. B.2 "Mamba"; CLAIMS.md §2 "Mamba hidden attention").

The selective scan h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t x_t, y_t = C_t·h_t + D x_t unrolls, per channel d,
into a causal operator (Ali et al. 2024)

    α^{(d)}_{t,s} = Σ_n C_t[n] · exp(A[d,n] · Σ_{r=s+1..t} Δ_r[d]) · Δ_s[d] · B_s[n],   s ≤ t,

so that y_t[d] = Σ_s α^{(d)}_{t,s} x_s[d] + D[d] x_t[d] (the D skip and the SiLU(z) gate are not part of α).
α is signed and unnormalised. The routing matrix of a layer is R[t,s] = mean_d |α^{(d)}_{t,s}|; its
concentration is the max share of its column sums (as for attention). The row-normalised variant
divides each row of R by its sum.

Pure functions on tensors (one sequence at a time, float64 recommended). Nothing here materialises
[T,T,D,N]: channels are processed in chunks, and inside a chunk the N-contraction is a batched matmul
over blocks of sources with decay factors that are both ≤ 1 (stable), see :func:`hidden_attention`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

#: fraction of log(finfo.max) that |A|·ΣΔ inside a diagonal block may reach for the one-sided
#: factorisation (≈ 567 in float64, ≈ 71 in float32); larger ranges shrink the block.
SAFE_LOG_FRACTION = 0.8


def safe_log_range(dtype) -> float:
    return SAFE_LOG_FRACTION * float(torch.log(torch.tensor(torch.finfo(dtype).max, dtype=torch.float64)))


def delta_from_timestep(time_step: torch.Tensor, dt_weight: torch.Tensor, dt_bias: torch.Tensor | None):
    """Δ = softplus(dt_proj(time_step)) recomputed from the captured x_proj output (``[..., R] → [..., D]``)."""
    z = time_step.to(dt_weight.dtype) @ dt_weight.T
    if dt_bias is not None:
        z = z + dt_bias
    return F.softplus(z)


def _diag_block_len(S: torch.Tensor, A: torch.Tensor, T: int, start: int = 64) -> int:
    """Largest block length L ≤ start (power of two) with |A|·(S_{j1-1} − S_{j0}) < safe_log_range in every block."""
    amax = A.abs().amax(-1)  # [D]
    limit = safe_log_range(S.dtype)
    L = start
    while L > 1:
        ok = True
        for j0 in range(0, T, L):
            j1 = min(j0 + L, T)
            rng = (S[j1 - 1] - S[j0]) * amax
            if float(rng.max()) >= limit:
                ok = False
                break
        if ok:
            return L
        L //= 2
    return 1


def _alpha_blocks(dt, A, B, C, block=None):
    """Yield ``(rows, cols, blk)`` with ``blk [D, len(rows), len(cols)]`` covering the causal part of α."""
    T, D = dt.shape
    S = torch.cumsum(dt, 0)  # S_t = Σ_{r≤t} Δ_r ;  Σ_{r=s+1..t} Δ_r = S_t − S_s
    L = block or _diag_block_len(S, A, T)
    tri = torch.ones(L, L, dtype=torch.bool).tril()
    Bdt = B[:, None, :] * dt[:, :, None]  # [T,D,N]  Δ_s B_s
    for j0 in range(0, T, L):
        j1 = min(j0 + L, T)
        m = j1 - 1
        l = j1 - j0
        # diagonal block: Q' = C_t e^{A(S_t−S_j0)} ≤ 1, K' = Δ_s B_s e^{−A(S_s−S_j0)} (bounded by the guard)
        rel = (S[j0:j1] - S[j0])[:, :, None] * A[None]  # [l,D,N] ≤ 0
        Qd = C[j0:j1, None, :] * torch.exp(rel)
        Kd = Bdt[j0:j1] * torch.exp(-rel)
        blk = torch.bmm(Qd.permute(1, 0, 2), Kd.permute(1, 2, 0))  # [D,l,l]
        yield slice(j0, j1), slice(j0, j1), blk.mul_(tri[:l, :l])
        if j1 < T:
            K = Bdt[j0:j1] * torch.exp((S[m] - S[j0:j1])[:, :, None] * A[None])  # [l,D,N], |.| ≤ |Δ B|
            Q = C[j1:, None, :] * torch.exp((S[j1:] - S[m])[:, :, None] * A[None])  # [T−j1,D,N]
            yield slice(j1, T), slice(j0, j1), torch.bmm(Q.permute(1, 0, 2), K.permute(1, 2, 0))


def hidden_attention(dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                     block: int | None = None) -> torch.Tensor:
    """α for one sequence: ``dt [T,D]`` (Δ, already softplus-ed), ``A [D,N]`` (negative), ``B, C [T,N]``
    → ``[D,T,T]`` (query t, source s; zero above the diagonal).

    Source blocks [j0, j1) with m = j1−1: for queries t ≥ j1,
    exp(A(S_t−S_s)) = exp(A(S_t−S_m))·exp(A(S_m−S_s)), both factors ≤ 1, so α = Q Kᵀ by bmm over
    channels with no overflow (underflow only where α is negligible). Inside the diagonal block the
    factors are taken about j0, which is safe while |A|·ΣΔ over the block stays < safe_log_range(dtype) (the
    block length is chosen so).
    """
    T, D = dt.shape
    alpha = dt.new_zeros(D, T, T)
    for rows, cols, blk in _alpha_blocks(dt, A, B, C, block):
        alpha[:, rows, cols] = blk
    return alpha


def hidden_attention_reference(dt, A, B, C) -> torch.Tensor:
    """Straightforward oracle: a loop over (t, s) pairs, vectorised over (d, n). Slow; for tests/benchmarks."""
    T, D = dt.shape
    alpha = dt.new_zeros(D, T, T)
    for t in range(T):
        for s in range(t + 1):
            decay = torch.exp(A * dt[s + 1:t + 1].sum(0)[:, None])  # [D,N]
            alpha[:, t, s] = (C[t][None, :] * decay * B[s][None, :]).sum(-1) * dt[s]
    return alpha


def routing_matrix(dt, A, B, C, channel_chunk: int = 256, block: int | None = None) -> torch.Tensor:
    """R[t,s] = mean over channels of |α^{(d)}_{t,s}| for one sequence (``[T,T]``), chunked over channels."""
    T, D = dt.shape
    R = dt.new_zeros(T, T)
    for c0 in range(0, D, channel_chunk):
        c1 = min(c0 + channel_chunk, D)
        for rows, cols, blk in _alpha_blocks(dt[:, c0:c1], A[c0:c1], B, C, block):
            R[rows, cols] += blk.abs_().sum(0)
    return R / D


def alpha_column_sums(dt, A, B, C) -> torch.Tensor:
    """Signed column sums Σ_{t≥s} α^{(d)}_{t,s} → ``[D,T]`` in O(T·D·N) by the backward recurrence
    g_s = C_s + exp(A Δ_{s+1}) g_{s+1},  colsum_s = Δ_s Σ_n B_s[n] g_s[n]."""
    T, D = dt.shape
    g = torch.zeros(D, A.shape[-1], dtype=dt.dtype)
    out = dt.new_empty(D, T)
    for s in range(T - 1, -1, -1):
        if s < T - 1:
            g = g * torch.exp(A * dt[s + 1][:, None])
        g = g + C[s][None, :]
        out[:, s] = dt[s] * (g * B[s][None, :]).sum(-1)
    return out


def scan_output(alpha: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y_t[d] = Σ_s α^{(d)}_{t,s} x_s[d] for ``alpha [D,T,T]``, ``x [T,D]`` → ``[T,D]`` (no D skip)."""
    return torch.einsum("dts,sd->td", alpha, x)


def row_normalise(R: torch.Tensor) -> torch.Tensor:
    return R / R.sum(-1, keepdim=True).clamp_min(torch.finfo(R.dtype).tiny)


def max_share(R: torch.Tensor) -> float:
    """Largest source share of the column sums of a (non-negative) routing matrix ``[T,T]``."""
    col = R.sum(0)
    return float(col.max() / col.sum())


def coefficient_of_variation(x: torch.Tensor, dims) -> torch.Tensor:
    return x.std(dim=dims) / x.mean(dim=dims)


def frozen_mean(x: torch.Tensor) -> torch.Tensor:
    """Per-position mean over sequences (dim 0), broadcast back: the MB-2 freezing."""
    return x.mean(0, keepdim=True).expand_as(x)


def uniform_share(T: int) -> float:
    """H_T / T: the max share of uniform causal (row-normalised) routing."""
    return sum(1.0 / k for k in range(1, T + 1)) / T

