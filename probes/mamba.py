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
per block of queries, with decay factors taken about the block's first row (bounded; see
:func:`_alpha_row_blocks`). :func:`routing_matrix` never forms [D,T,T] either: it reduces cache-sized
channel tiles of each query block to mean_d |α| at once (benchmarks/bench_recurrent.py).
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


#: default (largest) time-block length of the factorisation; the guard in :func:`_diag_block_len` may shrink it.
DEFAULT_BLOCK = 32
#: bytes of one bmm output tile [channels, block rows, columns] of :func:`routing_matrix`; sized to stay in the
#: per-core L2 cache so that the |·| and channel-sum passes read it from cache (the channel sub-chunk follows).
TILE_BYTES = 1 << 20


def _block_len(dt, A, block) -> int:
    T = dt.shape[0]
    L = int(block) if block else _diag_block_len(torch.cumsum(dt, 0), A, T, start=DEFAULT_BLOCK)
    return max(1, min(L, T))


def _alpha_row_blocks(dt, A, B, C, L: int, channel_chunk: int):
    """Yield ``(c0, c1, k, Q_k [c,L,N], K_k [c,(k+1)L,N])`` for channel chunks [c0, c1) and query blocks k
    (time zero-padded to nb·L): rows kL..kL+L−1 of α are ``Q_k @ K_kᵀ`` over the sources 0..(k+1)L−1, except
    the strict upper triangle of the last L×L block, which is not α (finite garbage) and must be masked.
    ``K_k`` is a view of a buffer updated in place after the consumer resumes the generator.

    Query block k is anchored at its first row a = kL; with x_t = Σ_{r=a+1..t} Δ_r and E_t = exp(A x_t) ≤ 1
    (T·D·N exps in all, in float64), Q_k(t) = C_t E_t and

    * sources s in block k:  K(s) = Δ_s B_s / E_s = Δ_s B_s e^{−A(S_s−S_a)}, bounded by |ΔB|·e^{|A|·ΣΔ of the
      block} < |ΔB|·e^{safe_log_range} (the block length L is chosen so);
    * sources s < a:  K(s) = Δ_s B_s e^{A(S_a−S_s)} ≤ |ΔB|, obtained from block k−1's K by two in-place
      multiplications, first by E_m (m = last row of block k−1, turning its own block's K into
      Δ_s B_s e^{A(S_m−S_s)} ≤ |ΔB|), then by exp(A Δ_a); every factor of an older column is ≤ 1, so an
      intermediate underflows only where the exact value does.

    The factor arithmetic is float64; Q and K are handed out in ``dt.dtype``.
    """
    T, D = dt.shape
    N = A.shape[-1]
    nb = -(-T // L)
    Tp = nb * L
    w, out = torch.float64, dt.dtype
    Bp = B.new_zeros(Tp, N, dtype=w)
    Bp[:T] = B
    Cp = C.new_zeros(Tp, N, dtype=w)
    Cp[:T] = C
    cc = max(1, min(channel_chunk, D))
    E_buf = torch.empty(cc, Tp, N, dtype=w)  # E, then Q in place
    K_buf = torch.empty(cc, Tp, N, dtype=w)
    cast = out != w
    Q_out = torch.empty(cc, Tp, N, dtype=out) if cast else None
    K_out = torch.empty(cc, Tp, N, dtype=out) if cast else None
    for c0 in range(0, D, cc):
        c1 = min(c0 + cc, D)
        c = c1 - c0
        Aw = A[c0:c1].to(w)
        dtp = dt.new_zeros(c, Tp, dtype=w)
        dtp[:, :T] = dt[:, c0:c1].T
        Sl = dtp.view(c, nb, L).cumsum(-1)  # inclusive within-block sums
        x = (Sl - Sl[:, :, :1]).view(c, Tp)  # Σ_{r=a+1..t} Δ_r
        E = torch.mul(x[:, :, None], Aw[:, None, :], out=E_buf[:c]).exp_()  # [c,Tp,N] ≤ 1
        Em = E[:, L - 1::L].clone()  # [c,nb,N]: E at the last row of each block
        P = torch.exp(dtp[:, ::L, None] * Aw[:, None, :])  # [c,nb,N]: exp(A Δ_a) at each block's first row
        K = torch.mul(dtp[:, :, None], Bp[None], out=K_buf[:c]).div_(E)
        Q = E.mul_(Cp[None])
        if cast:
            Q = Q_out[:c].copy_(Q)
        for k in range(nb):
            n_src = (k + 1) * L
            Kk = K_out[:c, :n_src].copy_(K[:, :n_src]) if cast else K[:, :n_src]
            yield c0, c1, k, Q[:, k * L:n_src], Kk
            if k + 1 < nb:
                K[:, :n_src].mul_(Em[:, k, None, :]).mul_(P[:, k + 1, None, :])


def hidden_attention(dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                     block: int | None = None) -> torch.Tensor:
    """α for one sequence: ``dt [T,D]`` (Δ, already softplus-ed), ``A [D,N]`` (negative), ``B, C [T,N]``
    → ``[D,T,T]`` (query t, source s; zero above the diagonal).

    Query blocks of length L anchored at their first row a: exp(A(S_t−S_s)) = e^{A(S_t−S_a)}·e^{−A(S_s−S_a)}
    inside the block (safe while |A|·ΣΔ over the block stays < safe_log_range(dtype); L is chosen so), and
    = e^{A(S_t−S_a)}·e^{A(S_a−S_m)}·e^{A(S_m−S_s)} (all ≤ 1) for a source in an earlier block ending at m;
    α = Q Kᵀ by bmm over channels (see :func:`_alpha_row_blocks`).
    """
    T, D = dt.shape
    L = _block_len(dt, A, block)
    alpha = dt.new_zeros(D, T, T)
    upper = torch.ones(L, L, dtype=torch.bool).triu(1)
    for c0, c1, k, Qk, Kk in _alpha_row_blocks(dt, A, B, C, L, D):
        r0 = k * L
        r1 = min(r0 + L, T)  # also the number of (unpadded) sources of this block
        blk = torch.bmm(Qk, Kk.transpose(1, 2))
        blk[:, :, r0:].masked_fill_(upper, 0)
        alpha[c0:c1, r0:r1, :r1] = blk[:, :r1 - r0, :r1]
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
    """R[t,s] = mean over channels of |α^{(d)}_{t,s}| for one sequence (``[T,T]``), in ``dt.dtype``.

    Channels are processed in chunks of ``channel_chunk`` (memory: O(channel_chunk·T·N) for the factors);
    inside a chunk, the bmm of each query block runs on channel sub-chunks whose output tile fits in
    TILE_BYTES, and |·| and the channel sum are taken on that tile. Nothing of size [T,T,D] or [T,T,D,N]
    is formed. The not-α upper triangle of the diagonal blocks is summed too (finite) and zeroed at the end.
    """
    T, D = dt.shape
    L = _block_len(dt, A, block)
    Tp = -(-T // L) * L
    R = dt.new_zeros(Tp, Tp)
    sub = max(1, TILE_BYTES // (L * Tp * dt.element_size()))
    for c0, c1, k, Qk, Kk in _alpha_row_blocks(dt, A, B, C, L, channel_chunk):
        Rk = R[k * L:(k + 1) * L, :(k + 1) * L]
        Kt = Kk.transpose(1, 2)
        for s0 in range(0, c1 - c0, sub):
            Rk += torch.bmm(Qk[s0:s0 + sub], Kt[s0:s0 + sub]).abs_().sum(0)
    return R[:T, :T].tril_().div_(D)


def scan_output(alpha: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y_t[d] = Σ_s α^{(d)}_{t,s} x_s[d] for ``alpha [D,T,T]``, ``x [T,D]`` → ``[T,D]`` (no D skip)."""
    return torch.einsum("dts,sd->td", alpha, x)


def row_normalise(R: torch.Tensor) -> torch.Tensor:
    return R / R.sum(-1, keepdim=True).clamp_min(torch.finfo(R.dtype).tiny)
