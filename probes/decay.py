"""Attention decay exponent γ, sink mass and secondary sinks (book ch. 18 §18.4–18.5,
ch. 40 §40.4.1; CLAIMS.md §2 "γ", "Sink mass").

Pure functions over the per-layer arrays one forward pass gives (``fixtures.measure``):
``diag_mean [L,N,H,T]`` (Ā(d) = mean_{t≥d} A[t,t−d]), ``last_row [L,N,H,T]`` (row of the
last query), ``colsum [L,N,H,T]`` (column sums). They work as well on synthetic attention.

γ: least-squares fit of ``log Ā(d) = log A₀ − γ log d`` over a stated set of distances, per
(layer, head) on the sequence-mean curve, then aggregated (mean over heads); the confidence
interval is a percentile bootstrap over sequences (the same resamples at every θ of a
sweep when the same seed is used). Two protocols:

* ``all_pairs``: Ā(d) over all query–key pairs at distance d (the diagonal means);
  key 0 is one of the T−d pairs at distance d, so a sink inflates Ā at large d — with
  each query's weight on key 0 (``first_col``) it is removed (``all_pairs_without_key0``);
* ``last_query``: the last query's row read by distance, A[T−1, T−1−d]; with
  d ≤ T−2 the fit never sees key 0.

Every γ has a null computed the same way on uniform causal attention (A[t,s] = 1/(t+1)):
all-pairs gives a positive γ from uniform attention alone; last-query gives exactly 0 (a
flat row). A stronger all-pairs null keeps each head's measured sink mass s on key 0 and
spreads 1−s uniformly over keys 1..t (``sink_uniform``): it moves with θ only as much as
the sink does.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.special import zeta

from probes import stats

EPS = 1e-30  # floor before log (float32 softmax never reaches it on real models)


# ----------------------------------------------------------------------------- distances and fits
def fit_distances(T: int, d_min: int, d_max: int, n_points: int) -> np.ndarray:
    """Unique integer distances, log-spaced over [d_min, d_max] (each octave weighted alike)."""
    if not (1 <= d_min < d_max <= T - 1):
        raise ValueError(f"need 1 <= d_min < d_max <= T-1, got d_min={d_min}, d_max={d_max}, T={T}")
    return np.unique(np.round(np.geomspace(d_min, d_max, n_points)).astype(np.int64))


def power_law_fit(curves, d) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS of ``log curve = log A₀ − γ log d`` along the last axis.

    ``curves [..., K]`` (values at distances ``d [K]``) → ``(γ, log A₀, R²)`` each ``[...]``.
    """
    y = np.log(np.maximum(np.asarray(curves, dtype=np.float64), EPS))
    x = np.log(np.asarray(d, dtype=np.float64))
    xc = x - x.mean()
    sxx = (xc ** 2).sum()
    ym = y.mean(-1, keepdims=True)
    slope = ((y - ym) * xc).sum(-1) / sxx
    intercept = ym[..., 0] - slope * x.mean()
    resid = y - (intercept[..., None] + slope[..., None] * x)
    sst = ((y - ym) ** 2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(sst > 0, 1.0 - (resid ** 2).sum(-1) / np.where(sst > 0, sst, 1.0), 1.0)
    return -slope, intercept, r2


def diag_mean_without_key0(diag_mean, first_col) -> np.ndarray:
    """Ā(d) over the pairs at distance d whose key is not position 0.

    Key 0 is one of the T−d pairs at distance d (query t = d), so a sink inflates the plain
    diagonal mean at large d: ``(Ā(d)·(T−d) − A[d,0]) / (T−d−1)`` for 1 ≤ d ≤ T−2 (d = 0 is
    unchanged except at T−1 pairs: query 0's self weight is removed; d = T−1 has no pair left
    and is NaN). ``diag_mean, first_col [..., T]`` (first_col[t] = A[t,0])."""
    dm = np.asarray(diag_mean, dtype=np.float64)
    fc = np.asarray(first_col, dtype=np.float64)
    T = dm.shape[-1]
    n = (T - np.arange(T)).astype(np.float64)
    out = np.full(dm.shape, np.nan)
    out[..., : T - 1] = (dm[..., : T - 1] * n[: T - 1] - fc[..., : T - 1]) / (n[: T - 1] - 1)
    return out


def last_query_by_distance(last_row) -> np.ndarray:
    """``last_row [..., T]`` indexed by key s → indexed by distance d = T−1−s."""
    return np.asarray(last_row)[..., ::-1]


# ----------------------------------------------------------------------------- nulls
def uniform_diag_mean(T: int) -> np.ndarray:
    """Ā(d) of uniform causal attention, A[t,s] = 1/(t+1): mean_{t=d}^{T−1} 1/(t+1)."""
    inv = 1.0 / np.arange(1, T + 1)
    tail = np.cumsum(inv[::-1])[::-1]  # Σ_{t≥d} 1/(t+1)
    return tail / (T - np.arange(T))


def uniform_diag_mean_without_key0(T: int) -> np.ndarray:
    """:func:`diag_mean_without_key0` of uniform causal attention (NaN at d = T−1)."""
    inv = 1.0 / np.arange(1, T + 1)
    u = uniform_diag_mean(T)
    return diag_mean_without_key0(u, inv)  # A[t,0] = 1/(t+1)


def uniform_last_row(T: int) -> np.ndarray:
    """The last query of uniform causal attention: 1/T on every key."""
    return np.full(T, 1.0 / T)


def sink_uniform_diag_mean(T: int, s) -> np.ndarray:
    """Ā(d) when every query t ≥ 1 puts ``s`` on key 0 and (1−s)/t on each of keys 1..t
    (query 0 puts 1 on key 0). ``s [...]`` → ``[..., T]``."""
    s = np.asarray(s, dtype=np.float64)[..., None]
    t = np.arange(T, dtype=np.float64)
    inv = np.zeros(T)
    inv[1:] = 1.0 / t[1:]  # (1−s)/t for queries t ≥ 1 on keys ≥ 1
    suffix = np.cumsum(inv[::-1])[::-1]  # Σ_{t'≥t} 1/t'
    d = np.arange(T)
    # d = 0: diagonal A[0,0] = 1 plus (1−s)/t for t ≥ 1
    out = np.empty(s.shape[:-1] + (T,))
    out[..., 0] = (1.0 + (1.0 - s[..., 0]) * suffix[1]) / T
    nxt = np.append(suffix[2:], [0.0, 0.0])[: T - 1]  # Σ_{t=d+1}^{T−1} 1/t for d = 1..T−1
    out[..., 1:] = (s + (1.0 - s) * nxt) / (T - d[1:])
    return out


# ----------------------------------------------------------------------------- γ with CI
def gamma_fit(per_seq_curves, d, n_boot: int = 200, seed: int = 0, ci: float = 0.95) -> dict:
    """γ of ``per_seq_curves [L,N,H,T]`` (curves by distance d = 0..T−1, per sequence).

    Per (layer, head): the sequence-mean curve at the fit distances ``d`` is fitted; the
    model value is the mean over (layer, head) of the per-head γ. CI: percentile bootstrap
    over sequences of that model value. Also the fit of the grand-mean curve (over layers,
    heads, sequences).
    """
    a = np.asarray(per_seq_curves, dtype=np.float64)[..., np.asarray(d)]  # [L,N,H,K]
    L, N, H, K = a.shape
    head_curve = a.mean(1)  # [L,H,K]
    g_head, _, r2_head = power_law_fit(head_curve, d)
    g_grand, _, r2_grand = power_law_fit(head_curve.mean((0, 1)), d)
    gamma = float(g_head.mean())
    out = {
        "gamma": gamma, "gamma_per_head": g_head, "gamma_per_layer": g_head.mean(1),
        "r2_per_head": r2_head, "r2_mean": float(r2_head.mean()),
        "gamma_grand": float(g_grand), "r2_grand": float(r2_grand),
        "d": np.asarray(d), "curve": head_curve.mean((0, 1)),
    }
    if n_boot and N >= 2:
        w = stats.bootstrap_counts(N, n_boot, seed) / N  # [B,N]
        boot_curves = np.einsum("bn,lnhk->blhk", w, a)
        g_boot = power_law_fit(boot_curves, d)[0].mean((1, 2))  # [B]
        lo, hi = np.quantile(g_boot, [(1 - ci) / 2, 1 - (1 - ci) / 2])
        out.update(ci_lo=float(lo), ci_hi=float(hi), half_width=float((hi - lo) / 2),
                   boot_sd=float(g_boot.std(ddof=1)), gamma_boot=g_boot)
    else:
        out.update(ci_lo=gamma, ci_hi=gamma, half_width=0.0, boot_sd=0.0, gamma_boot=np.array([gamma]))
    return out


def gamma_null(null_curve, d, shape_lh) -> dict:
    """γ of a null curve ``[T]`` (or ``[L,H,T]``) fitted the same way (per head, then mean)."""
    c = np.broadcast_to(np.asarray(null_curve, dtype=np.float64), tuple(shape_lh) + (np.shape(null_curve)[-1],))
    g, _, r2 = power_law_fit(c[..., np.asarray(d)], d)
    return {"gamma": float(g.mean()), "gamma_per_head": g, "r2_mean": float(r2.mean())}


def gamma_all_pairs(diag_mean, colsum, d, n_boot=200, seed=0, ci=0.95, first_col=None) -> dict:
    """All-pairs protocol with its nulls.

    ``first_col`` given: key 0 is removed from every distance (:func:`diag_mean_without_key0`)
    so the sink cannot enter γ; null = uniform attention treated the same way (the sink +
    uniform null then has the same shape, whatever the sink). Without it: the literal
    all-pairs mean (key 0 included), with the uniform null and the sink + uniform null at
    each head's measured sink mass."""
    L, N, H, T = np.shape(diag_mean)
    if np.max(d) > T - 2:
        raise ValueError("all-pairs fit distances must stay ≤ T−2")
    if first_col is not None:
        res = gamma_fit(diag_mean_without_key0(diag_mean, first_col), d, n_boot, seed, ci)
        res["null_uniform"] = gamma_null(uniform_diag_mean_without_key0(T), d, (L, H))
        res["null_sink_uniform"] = res["null_uniform"]
        res["protocol"] = "all_pairs_without_key0"
        return res
    res = gamma_fit(diag_mean, d, n_boot, seed, ci)
    res["null_uniform"] = gamma_null(uniform_diag_mean(T), d, (L, H))
    s_head = stats.sink_mass(colsum).mean(1)  # [L,H]
    res["null_sink_uniform"] = gamma_null(sink_uniform_diag_mean(T, s_head), d, (L, H))
    res["protocol"] = "all_pairs"
    return res


def gamma_last_query(last_row, d, n_boot=200, seed=0, ci=0.95) -> dict:
    """Last-query protocol (A[T−1, T−1−d]) with its uniform null (flat row: γ = 0)."""
    L, N, H, T = np.shape(last_row)
    if np.max(d) > T - 2:
        raise ValueError("last-query fit distances must stay ≤ T−2 so that key 0 is never fitted")
    res = gamma_fit(last_query_by_distance(last_row), d, n_boot, seed, ci)
    res["null_uniform"] = gamma_null(uniform_last_row(T), d, (L, H))
    res["protocol"] = "last_query"
    return res


def gamma_pade(theta, T) -> np.ndarray | float:
    """Closed form γ_Padé = (2θ − T√2)/(2θ + T√2) (book Fig. 18.1's γ axis; not a measurement)."""
    theta = np.asarray(theta, dtype=np.float64)
    r = (2 * theta - T * math.sqrt(2)) / (2 * theta + T * math.sqrt(2))
    return float(r) if r.ndim == 0 else r


# ----------------------------------------------------------------------------- sinks
def secondary_sinks(colsum, threshold: float) -> np.ndarray:
    """Number of positions s ≥ 1 whose column share exceeds ``threshold``, ``[...]``."""
    return (stats.share(np.asarray(colsum, dtype=np.float64))[..., 1:] > threshold).sum(-1)


def secondary_sink_positions(colsum, threshold: float) -> np.ndarray:
    """Histogram over positions s (index s; s = 0 is always 0) of (layer, seq, head) hits."""
    hits = stats.share(np.asarray(colsum, dtype=np.float64)) > threshold
    hits[..., 0] = False
    return hits.reshape(-1, hits.shape[-1]).sum(0)


# ----------------------------------------------------------------------------- BK-2, BK-3 algebra
def condensate_fraction(gamma, L) -> np.ndarray | float:
    """BK-2 as printed (book ch. 18 §18.5): N_cond = 1 − ζ(γ)⁻¹ ∫₁ᴸ d^−γ dd.

    ζ is the Riemann zeta function, analytically continued (ζ(γ) < 0 for 0 < γ < 1, pole at
    γ = 1 where N_cond = 1); ∫₁ᴸ d^−γ dd = (L^{1−γ} − 1)/(1 − γ), or ln L at γ = 1.
    """

    g = np.asarray(gamma, dtype=np.float64)
    one = np.isclose(g, 1.0, rtol=0, atol=1e-12)
    gs = np.where(one, 2.0, g)
    integral = np.where(one, math.log(L), (L ** (1.0 - gs) - 1.0) / (1.0 - gs))
    z = zeta(gs)
    out = np.where(one, 1.0, 1.0 - integral / z)
    return float(out) if out.ndim == 0 else out


def fractional_order(gamma):
    """BK-3 (book ch. 40 §40.4.1): the fractional order matching decay γ, α = (γ − 1)/2."""
    return (np.asarray(gamma, dtype=np.float64) - 1.0) / 2.0


def kernel_symbol(gamma: float, k: float, a: float = 1.0) -> float:
    """I(k) = ∫₀^∞ (1 − cos kx) x^−γ dx by quadrature (1 < γ < 3): the Fourier symbol of the
    operator whose kernel has tail |x|^−γ. Split at ``a``: near zero the integrand is
    ~k²x^{2−γ}/2; beyond ``a``, ∫ x^−γ is exact and ∫ cos(kx) x^−γ is a QAWF Fourier integral."""

    if not 1.0 < gamma < 3.0:
        raise ValueError("kernel_symbol needs 1 < γ < 3 (integrable at 0 and at ∞)")
    # (1 − cos kx)·x^−γ = g(x)·x^{2−γ}, g(x) = 2 sin²(kx/2)/x² smooth: algebraic weight at 0 (2−γ > −1)
    def g(x):
        return 2.0 * math.sin(k * x / 2.0) ** 2 / (x * x) if x > 0 else k * k / 2.0

    head = integrate.quad(g, 0.0, a, weight="alg", wvar=(2.0 - gamma, 0.0), limit=200, epsabs=1e-13, epsrel=1e-12)[0]
    tail_pow = a ** (1.0 - gamma) / (gamma - 1.0)
    tail_cos = integrate.quad(lambda x: x ** (-gamma), a, np.inf, weight="cos", wvar=k, limlst=200)[0]
    return head + tail_pow - tail_cos


def symbol_exponent(gamma: float, k1: float = 1.0, k2: float = 4.0) -> float:
    """Scaling exponent of I(k): log(I(k2)/I(k1)) / log(k2/k1) (= 2α if I ∝ |k|^{2α})."""
    return math.log(kernel_symbol(gamma, k2) / kernel_symbol(gamma, k1)) / math.log(k2 / k1)
