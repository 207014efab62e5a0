"""Algebra of §3 / App. A (Theorem 1, Propositions 1–2) and the Gaussian null of §4.2
(TF-3): the quantities each Hypothesis example produces, and the check functions that
turn the collected examples into a verdict. Oracles here are written independently of
the probes (plain float64 numpy, no torch).
"""
from __future__ import annotations

import numpy as np

from suite.registry import Claim
from suite.results import Check, evaluate


def log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def boltzmann_log_weights(q, keys, beta, omega):
    """log α_i ∝ −β Ω² ‖q − k_i‖² (eq. 1 with the flat metric of A1–A3)."""
    d2 = ((keys - q) ** 2).sum(-1)
    return log_softmax(-beta * omega ** 2 * d2)


def softmax_log_weights(q, keys):
    return log_softmax(keys @ q / np.sqrt(q.shape[0]))


def theorem1_errors(q, keys_equal, keys_unequal, omega):
    """(max |α_B − α_S| with equal norms, max residual of the ‖k‖² term with unequal norms,
    and the size of the discrepancy itself with unequal norms)."""
    d = q.shape[0]
    beta = 1.0 / (2 * omega ** 2 * np.sqrt(d))  # 2βΩ² = 1/√d
    eq = np.abs(np.exp(boltzmann_log_weights(q, keys_equal, beta, omega)) - np.exp(softmax_log_weights(q, keys_equal))).max()
    lb = boltzmann_log_weights(q, keys_unequal, beta, omega)
    ls = softmax_log_weights(q, keys_unequal)
    term = -beta * omega ** 2 * (keys_unequal ** 2).sum(-1)
    resid = (lb - ls) - term
    resid = np.abs(resid - resid.mean()).max()  # equal up to a constant in i
    gap = np.abs(np.exp(lb) - np.exp(ls)).max()
    return float(eq), float(resid), float(gap)


def falsified(prop) -> str | None:
    """Run a Hypothesis property (a ``@given`` function whose examples assert the claim); None if
    it holds on every example, else the minimal falsifying example Hypothesis shrank to and the
    failed assertion."""
    try:
        prop()
    except AssertionError as exc:
        notes = "; ".join(n for n in getattr(exc, "__notes__", []) if n.strip())
        return f"{notes} — {exc}".strip(" —")
    return None


def counterexample_check(counterexample: str | None) -> list:
    """The property's own verdict: Hypothesis found no example violating it (when it does, the
    minimal, shrunk example is the note)."""
    if counterexample is None:
        return [Check("Hypothesis found no counterexample", True, "true", True)]
    return [Check("Hypothesis found no counterexample", False, "true", True, note=f"shrunk to: {counterexample}")]


def check_id1(claim: Claim, equal_errs, term_resids, gaps, counterexample: str | None = None):
    tol = claim.tolerance.value
    checks = counterexample_check(counterexample) + [
        Check("max |α_Boltzmann − α_softmax|, equal key norms", float(np.max(equal_errs)), "<", tol),
        Check("max residual of log-ratio after the −βΩ²‖k‖² term, unequal norms", float(np.max(term_resids)), "<", tol),
        Check("unequal norms do change the weights (the term is real)", float(np.median(gaps)), ">", tol),
    ]
    return evaluate(claim, "algebra", checks, measured=float(np.max(equal_errs)), null=float(np.median(gaps)),
                    summary=f"{len(equal_errs)} Hypothesis examples; max equal-norm error {np.max(equal_errs):.1e}; "
                            f"median unequal-norm discrepancy {np.median(gaps):.3g}")


def entropy(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def max_entropy_deficit(dist2, beta, direction, eps):
    """H(α_B) − H(α_B + ε v) for v projected onto {Σv = 0, Σ v·D² = 0} (feasible direction)."""
    a = np.exp(log_softmax(-beta * dist2))
    A = np.stack([np.ones_like(dist2), dist2])
    v = direction - A.T @ np.linalg.lstsq(A.T, direction, rcond=None)[0]
    if np.linalg.norm(v) < 1e-8:
        return None
    v = v / np.abs(v).max()
    step = eps * a.min()
    b = a + step * v
    assert abs(b.sum() - 1) < 1e-9 and abs(b @ dist2 - a @ dist2) < 1e-9 * max(1.0, abs(a @ dist2))
    return entropy(a) - entropy(b)


def check_id2(claim: Claim, deficits, counterexample: str | None = None):
    d = np.asarray(deficits, float)
    checks = counterexample_check(counterexample) + [Check("min entropy deficit of feasible non-Boltzmann weightings", float(d.min()), ">", claim.threshold,
                    claim.tolerance.value)]
    return evaluate(claim, "algebra", checks, measured=float(d.min()), null=0.0,
                    summary=f"{d.size} feasible perturbations; smallest entropy deficit {d.min():.3g} nats")


def bilinear_fit_residual(M, n_samples, rng):
    """Relative residual of the best bilinear fit qᵀAk to s_M over random (q, k)."""
    d = M.shape[0]
    q = rng.standard_normal((n_samples, d))
    k = rng.standard_normal((n_samples, d))
    s = -np.einsum("ni,ij,nj->n", q - k, M, q - k)
    X = np.einsum("ni,nj->nij", q, k).reshape(n_samples, -1)
    coef, *_ = np.linalg.lstsq(X, s, rcond=None)
    r = s - X @ coef
    return float(np.linalg.norm(r) / max(np.linalg.norm(s), 1e-300))


def zero_query_score(M):
    """|s_M(0, k*)| at the unit top-|eigenvalue| eigenvector k* (any bilinear form gives 0)."""
    w, V = np.linalg.eigh(M)
    k = V[:, np.argmax(np.abs(w))]
    return float(abs(k @ M @ k))


def check_id3(claim: Claim, residuals, zero_scores, counterexample: str | None = None):
    thr = claim.threshold
    checks = counterexample_check(counterexample) + [
        Check("min relative residual of the best bilinear fit", float(np.min(residuals)), ">", thr),
        Check("min |s_M(0, k*)| (bilinear forms vanish at q = 0)", float(np.min(zero_scores)), ">", thr),
    ]
    return evaluate(claim, "algebra", checks, measured=float(np.min(residuals)), null=0.0,
                    summary=f"{len(residuals)} symmetric M ≠ 0; smallest bilinear-fit residual {np.min(residuals):.3g}")


def check_tf3(claim: Claim, ladder: dict, mp: dict, scale_errs, counterexample: str | None = None):
    """Simulated VE@8 ladder vs the paper; scale/mean invariance of the null."""
    paper = claim.paper_values
    checks = counterexample_check(counterexample)
    for dh, (sim, se) in ladder.items():
        checks.append(Check(f"simulated VE@8 − paper at d_h={dh}", sim - paper[f"dh{dh}"], "in", claim.threshold,
                            note=f"sim {sim:.4f} ± {se:.4f}, MP limit {mp[dh]:.4f}"))
    checks.append(Check("max relative change of VE@8 under key scale and mean", float(np.max(scale_errs)), "<",
                        claim.param("scale_invariance_rtol")))
    vals = [ladder[d][0] for d in sorted(ladder)]
    checks.append(Check("null falls as d_h grows at fixed n (depends on n/d_h)", bool(np.all(np.diff(vals) < 0)), "true", True))
    return evaluate(claim, "algebra", checks, measured={f"dh{d}": v[0] for d, v in ladder.items()},
                    null={f"mp_dh{d}": v for d, v in mp.items()}, threshold=claim.threshold,
                    summary="simulated Gaussian null: " + ", ".join(f"d_h={d}: {v[0]:.4f}" for d, v in ladder.items()),
                    extra={"ladder": {str(d): v[0] for d, v in ladder.items()}, "mp": {str(d): v for d, v in mp.items()}})
