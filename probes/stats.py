"""The suite's statistics, one implementation each (CLAIMS.md §2 definitions).

Every family reads these: a layer profile's onset and completion depth (§4.3), Pearson's r
(TF-6, MB-3, MA-2, BK-1), the coefficient of variation (key norms §4.1, Δ §5.2), the max share
of a routing matrix and its uniform reference H_T/T (§4.3, App. B.3), the sink mass A[t,0]
(book ch. 18), the SEM over sequences and the bootstrap over sequences. Pure functions of
arrays: numpy, or torch where the caller holds a tensor.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats as _scipy_stats


# ----------------------------------------------------------------------------- language-model gain
def lm_gain(unigram_nll, nll) -> float:
    """Unigram NLL − model NLL of the same windows (nats/token): the functioning-model premise's quantity.
    NaN when either is missing, so a premise never passes on an unmeasured loss."""
    if unigram_nll is None or nll is None:
        return math.nan
    return float(unigram_nll) - float(nll)


def least_lm_gain(unigram_nll, nlls) -> float:
    """The least :func:`lm_gain` over several passes (the intervened-model-functions premise: every
    intervened model the decision reads must function, so the least functioning one decides). NaN when
    there is no pass or any loss is missing or not finite."""
    vals = [lm_gain(unigram_nll, x) for x in nlls]
    if not vals or any(not math.isfinite(v) for v in vals):
        return math.nan
    return min(vals)


# ----------------------------------------------------------------------------- spread
def sem(x, axis=0) -> np.ndarray:
    """Standard error of the mean along ``axis`` (ddof=1), the unit of our margins."""
    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    if n < 2:
        return np.zeros(np.delete(x.shape, axis)) if x.ndim > 1 else np.float64(0.0)
    return x.std(axis=axis, ddof=1) / math.sqrt(n)


def cv(x, axis=-1, ddof: int = 0):
    """Coefficient of variation std/mean along ``axis`` (numpy array or torch tensor; ``axis`` may
    be a tuple). ddof 0 for the key-norm CV of §4.1; MB-3's CV(Δ) over positions uses ddof 1."""
    if isinstance(x, torch.Tensor):
        return x.std(dim=axis, correction=ddof) / x.mean(dim=axis)
    x = np.asarray(x, dtype=float)
    return x.std(axis=axis, ddof=ddof) / x.mean(axis=axis)


def relative_spread(x) -> float:
    """std / |mean| of a 1-D sample (ddof 0); NaN for fewer than two values or a zero mean."""
    x = np.asarray(x, float)
    return float(x.std() / abs(x.mean())) if x.size > 1 and x.mean() != 0 else math.nan


def pooled_cv_from_sums(s1, s2, count):
    """The pooled CV (std/mean over all pooled values, ddof 0) from sums ``s1 = Σx`` and ``s2 = Σx²``
    of ``count`` values (broadcasting): what a bootstrap over sequences needs without the token axis."""
    mean = s1 / count
    return np.sqrt(np.maximum(s2 / count - mean ** 2, 0.0)) / mean


# ----------------------------------------------------------------------------- correlation
def pearson(x, y) -> tuple[float, float]:
    """Pearson r and its two-sided p (scipy.stats.pearsonr); (NaN, NaN) for fewer than three
    points or a constant variable."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    r = _scipy_stats.pearsonr(x, y)
    return float(r.statistic), float(r.pvalue)


# ----------------------------------------------------------------------------- depth profiles
def onset(layer_values, threshold: float):
    """First layer (1-based) whose value exceeds ``threshold`` → ``(k, k/L)``, or ``None``."""
    v = np.asarray(layer_values, dtype=float)
    idx = np.flatnonzero(v > threshold)
    if idx.size == 0:
        return None
    k = int(idx[0]) + 1
    return k, k / v.size


def onset_fraction(layer_values, threshold: float, never: float | None = None) -> float:
    """:func:`onset` as a fraction of depth; a profile that never crosses gives ``never``
    (default (L+1)/L: later than any layer, so "earlier" stays an ordering)."""
    o = onset(layer_values, threshold)
    if o is not None:
        return o[1]
    n = np.asarray(layer_values).size
    return (n + 1) / n if never is None else never


def completion_depth(layer_values, threshold: float):
    """L*: first layer whose value exceeds ``threshold`` (0.50 in the paper) → ``(k, k/L)`` or None."""
    return onset(layer_values, threshold)


def onset_depth(profile, threshold: float) -> float:
    """Continuous onset (1-based layers): the first crossing of ``threshold``, linearly interpolated
    between the layer below and the first layer above it; 1.0 if layer 1 is already above; L+1
    (censored: "never") if no layer is."""
    v = np.asarray(profile, dtype=float)
    idx = np.flatnonzero(v > threshold)
    if idx.size == 0:
        return float(v.size + 1)
    k = int(idx[0])
    if k == 0:
        return 1.0
    lo, hi = v[k - 1], v[k]
    return float(k + (threshold - lo) / (hi - lo))


# ----------------------------------------------------------------------------- routing shares
def share(colsum):
    """share_s = Σ_t A[t,s] / Σ_{t,s} A over the last axis (numpy or torch)."""
    if isinstance(colsum, torch.Tensor):
        return colsum / colsum.sum(-1, keepdim=True)
    c = np.asarray(colsum)
    return c / c.sum(-1, keepdims=True)


def max_share(colsum):
    """Largest source share of routing column sums ``[..., T] → [...]`` (numpy or torch). For a
    routing matrix ``R [T(query), T(source)]`` pass ``R.sum(0)``."""
    s = share(colsum)
    return s.max(-1).values if isinstance(s, torch.Tensor) else s.max(-1)


def uniform_share(T: int) -> float:
    """H_T / T: the max share of uniform causal (row-normalised) routing (0.0424 at T = 128; not 1/T)."""
    return float(np.sum(1.0 / np.arange(1, T + 1)) / T)


def uniform_share_rows(row_mass) -> float:
    """Max share of the uniform operator with the given row masses, U[t,s] = m_t/(t+1) for s ≤ t.

    Its column sums fall with s, so the max is column 0: Σ_t m_t/(t+1) / Σ_t m_t. Unit row masses
    give :func:`uniform_share`; an unnormalised router (Mamba's |α|) whose late rows carry more
    mass sits lower."""
    m = torch.as_tensor(row_mass).double()
    return float((m / torch.arange(1, m.numel() + 1, dtype=m.dtype)).sum() / m.sum())


def sink_mass(colsum) -> np.ndarray:
    """``colsum [..., T]`` of a causal attention → mean A[t,0] over queries t ≥ 1 ``[...]`` (A[0,0] = 1)."""
    c = np.asarray(colsum, dtype=np.float64)
    return (c[..., 0] - 1.0) / (c.shape[-1] - 1)


def uniform_sink_mass(T: int) -> float:
    """Sink mass of uniform causal attention, mean_{t=1..T−1} 1/(t+1) = (H_T − 1)/(T − 1): no sink at all."""
    return float(np.sum(1.0 / np.arange(2, T + 1)) / (T - 1))


# ----------------------------------------------------------------------------- bootstrap
def bootstrap_indices(n: int, reps: int, seed: int) -> np.ndarray:
    """``[reps, n]`` indices of the resampled sequences (with replacement), fixed by ``seed`` so that
    paired statistics (several models on the same windows, a sweep over θ) share their resamples."""
    return np.random.default_rng(seed).integers(0, n, size=(reps, n))


def bootstrap_counts(n: int, reps: int, seed: int) -> np.ndarray:
    """``[reps, n]`` how often each sequence is drawn in each resample (:func:`bootstrap_indices`)."""
    idx = bootstrap_indices(n, reps, seed)
    w = np.zeros((reps, n))
    np.add.at(w, (np.arange(reps)[:, None], idx), 1.0)
    return w


# ----------------------------------------------------------------------------- the pooled norm CV and its bootstrap
def pooled_cv_bootstrap(norms: np.ndarray, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pooled key-norm CV per (layer, head) and its bootstrap SE over sequences.

    ``norms [L,N,T,Hk]``. Resampling uses per-sequence sums, so each replicate costs
    O(L·N·Hk), never touching the token axis again.
    """
    x = norms.astype(np.float64)
    cv, se, _ = pooled_cv_bootstrap_sums(x.sum(2), (x * x).sum(2), x.shape[2], reps, seed)
    return cv, se


def pooled_cv_bootstrap_sums(s1, s2, count_per_seq: int, reps: int, seed: int):
    """The pooled norm CV (:func:`probes.pooled_cv_from_sums`: std/mean over all N·count tokens,
    ddof 0) from per-sequence sums of the norms and squared norms ``s1, s2 [L,N,H]``, with its bootstrap
    over sequences (:func:`bootstrap_counts`). Returns (cv [L,H], per-head SE [L,H], SE [L]
    of the mean over heads — which bootstraps the head mean itself, so heads that move together, e.g.
    Mamba's channels sharing ‖B_t‖, are not counted as independent)."""
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    L, N, H = s1.shape
    cv = pooled_cv_from_sums(s1.sum(1), s2.sum(1), N * count_per_seq)
    boot = cv_sums_replicates(s1, s2, count_per_seq, bootstrap_counts(N, reps, seed))  # [R,L,H]
    return cv, boot.std(0, ddof=1), boot.mean(2).std(0, ddof=1)


def cv_sums_replicates(s1, s2, count_per_seq: int, w: np.ndarray) -> np.ndarray:
    """[R,L,H] pooled CV of each resample ``w [R,N]`` (resampling counts) from per-sequence sums
    ``s1, s2 [L,N,H]``."""
    return pooled_cv_from_sums(np.einsum("rn,lnh->rlh", w, s1), np.einsum("rn,lnh->rlh", w, s2),
                                     w.sum(1)[:, None, None] * count_per_seq)


def cv_replicates(norms: np.ndarray, w: np.ndarray) -> np.ndarray:
    """[R,L,Hk] pooled key-norm CV (as :meth:`TransformerMeasurement.norm_cv`: std/mean over
    all N·T tokens, ddof 0) of each resample ``w [R,N]``, from per-sequence sums."""
    x = norms.astype(np.float64)
    return cv_sums_replicates(x.sum(2), (x * x).sum(2), x.shape[2], w)
