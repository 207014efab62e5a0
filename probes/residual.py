"""Residual-stream statistics for the MA family (book ch. 18 §18.3, ch. 40 §40.3–40.4; Sun et al. 2024
'Massive Activations in Large Language Models' §2; Queipo-de-Llano et al. 2025 'Attention Sinks and
Compression Valleys Are Two Sides of the Same Coin').

Pure functions on hidden states ``h [B,T,D]`` (one layer's residual stream, float32/float64), batched
over sequences; no model loading, no IO.

* Massive activations (Sun et al. §2): an activation "qualifies as a massive activation if its magnitude
  surpasses 100 and is at least or around 1,000 times larger than the median magnitude of its hidden
  state". The hidden state is the layer's whole ``[T,D]`` output of one sequence, so the reference is the
  median of ``|h|`` over all tokens and coordinates (:func:`hidden_median_abs`), and the per-position
  statistic is the top-1 ``|h[t,:]|`` over that median (:func:`top1_ratio`).
* Matrix entropy (Queipo-de-Llano et al. 2025): Shannon entropy of the normalised spectrum of the token
  Gram matrix ``X Xᵀ`` (``p_i = σ_i² / Σ σ_j²``, σ the singular values of ``X [T,D]``, uncentred, so a
  token of dominating norm — a massive activation — drives it down: the compression valley).
"""
from __future__ import annotations

import numpy as np
import torch


def hidden_median_abs(h: torch.Tensor) -> torch.Tensor:
    """``[B]`` median of ``|h|`` over all tokens and coordinates of each sequence (Sun et al.'s
    'median magnitude of its hidden state'), the mean of the two middle values for an even count, as
    :func:`numpy.median`. One selection (``kthvalue``, O(n)) for the lower middle value; the upper one of an
    even count is that value again where it is repeated, else the least value above it; the two are
    interpolated as ``torch.quantile(0.5)`` does (``lerp``, so the values are the same bit for bit), without
    its full sort (issue 26: 7x faster) or its input-size limit."""
    a = h.detach().abs().reshape(h.shape[0], -1).float()
    n = a.shape[-1]
    k = (n + 1) // 2
    lo = a.kthvalue(k, dim=-1).values
    if n % 2:
        return lo
    le = a <= lo[:, None]
    hi = torch.where(le.sum(-1) > k, lo, a.masked_fill(le, torch.inf).amin(-1))
    return torch.lerp(lo, hi, 0.5)


def top1_ratio(h: torch.Tensor, median: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per position: ``(top1 [B,T], argmax coordinate [B,T], top1 / median [B,T])`` of ``|h|``."""
    a = h.detach().abs()
    top, idx = a.max(-1)
    return top, idx, top / median[:, None].clamp_min(torch.finfo(a.dtype).tiny)


def topk_at(h: torch.Tensor, pos: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Signed values ``[B,k]`` and coordinate indices ``[B,k]`` of the ``k`` largest ``|h[:, pos, :]|``
    (descending magnitude)."""
    row = h.detach()[:, pos, :]
    _, idx = row.abs().topk(k, dim=-1)
    return row.gather(-1, idx), idx


def matrix_entropy(h: torch.Tensor, skip_first: bool = False) -> torch.Tensor:
    """``[B]`` Shannon entropy (nats) of ``p_i = λ_i / Σλ``, λ the eigenvalues of the uncentred token Gram
    matrix ``X Xᵀ`` of each sequence (= σ_i² of ``X``), computed in float64. ``skip_first``: the same on
    tokens 1..T−1 (the stream without the sink token). Range ``[0, log min(T, D)]``."""
    x = h.detach().to(torch.float64)
    if skip_first:
        x = x[:, 1:]
    g = x @ x.transpose(-1, -2)
    lam = torch.linalg.eigvalsh(g).clamp_min(0.0)
    p = lam / lam.sum(-1, keepdim=True).clamp_min(torch.finfo(torch.float64).tiny)
    return -(torch.where(p > 0, p * p.log(), torch.zeros((), dtype=p.dtype))).sum(-1)


def clamp_coordinates(h: torch.Tensor, pos: int, coords, values) -> torch.Tensor:
    """A copy of ``h`` with ``h[:, pos, coords] = values`` (every sequence), nothing else changed."""
    coords = torch.as_tensor(np.asarray(coords, dtype=np.int64), device=h.device)
    vals = torch.as_tensor(np.asarray(values, dtype=np.float64), device=h.device).to(h.dtype)
    out = h.clone()
    if coords.numel():
        out[:, pos, coords] = vals
    return out


def massive_coordinates(top_vals: np.ndarray, top_idx: np.ndarray, median: np.ndarray, ratio: float,
                        min_frac: float) -> np.ndarray:
    """Coordinates that carry a massive activation at the measured position in at least ``min_frac`` of the
    sequences: ``|value| ≥ ratio × median`` among the recorded top-k. ``top_vals``/``top_idx`` ``[N,k]``,
    ``median`` ``[N]``. Returns the sorted coordinate indices."""
    top_vals, top_idx, median = np.asarray(top_vals), np.asarray(top_idx), np.asarray(median, dtype=float)
    hit = np.abs(top_vals) >= ratio * median[:, None]
    n = top_vals.shape[0]
    counts: dict[int, int] = {}
    for c in np.unique(top_idx[hit]):
        counts[int(c)] = int(((top_idx == c) & hit).any(-1).sum())
    return np.array(sorted(c for c, k in counts.items() if k >= min_frac * n), dtype=np.int64)


def matched_random_coordinates(typical: np.ndarray, chosen: np.ndarray, n_match: int,
                               rng: np.random.Generator) -> np.ndarray:
    """For each coordinate in ``chosen``, a different coordinate drawn at random among the ``n_match``
    coordinates (outside ``chosen``, not drawn before) whose typical magnitude ``typical [D]`` is nearest
    to its own: the hard null of the clamp (the same number of coordinates, of matched typical size)."""
    typical = np.asarray(typical, dtype=float)
    chosen = np.asarray(chosen, dtype=np.int64)
    taken = set(chosen.tolist())
    out = []
    for c in chosen:
        pool = np.array([j for j in np.argsort(np.abs(typical - typical[c]), kind="stable") if j not in taken])
        pick = int(rng.choice(pool[:n_match]))
        taken.add(pick)
        out.append(pick)
    return np.array(out, dtype=np.int64)


def first_true(mask) -> int | None:
    """Index of the first True of a 1-D mask, or None."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(idx[0]) if idx.size else None
