"""Algebra of §3 / App. A (Theorem 1, Propositions 1–2) and the Gaussian null of §4.2
(TF-3): the quantities each Hypothesis example produces, the Hypothesis searches, and the
check functions that turn the collected examples into a verdict. Oracles here are written
independently of the probes (plain float64 numpy, no torch).

The family follows :mod:`suite.family`: one paper-wide subject, ``algebra``; its measurement :func:`measure`
runs the four property searches (numpy style: each example asserts the property itself, with
the registry's named tolerance, so a violation is shrunk by Hypothesis to a minimal
counterexample, which the verdict then carries) and collects the examples' figures into one
:class:`AlgebraMeasurement`; every ``@check`` is ``check(claim, record)``. The
Hypothesis settings profile is the one the root ``conftest.py`` loads (``ci``: derandomised, so
every run draws the same examples).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from probes.geometry import mp_ve_null, simulated_ve_null, ve_at_r
from suite.family import Target, check, declare_classes, measurement
from suite.registry import Claim, registry
from suite.results import Check, evaluate
from suite.search import isolated_examples

declare_classes("algebra")  # the kinds of subject this family's targets are

LABEL = "algebra"  # the report's model column of the paper-wide algebra claims


# ----------------------------------------------------------------------------- the measurement record
@dataclass(frozen=True)
class Id1Examples:
    """ID-1's Hypothesis examples: per example the equal-norm error, the residual after the ‖k‖² term
    with unequal norms and the unequal-norm discrepancy; the shrunk counterexample (None: none found)."""

    equal_errs: list = field(default_factory=list)
    term_resids: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    counterexample: str | None = None


@dataclass(frozen=True)
class Id2Examples:
    """ID-2's Hypothesis examples: the entropy deficit of each feasible non-Boltzmann weighting."""

    deficits: list = field(default_factory=list)
    counterexample: str | None = None


@dataclass(frozen=True)
class Id3Examples:
    """ID-3's Hypothesis examples: the relative residual of the best bilinear fit and |s_M(0, k*)| per M."""

    residuals: list = field(default_factory=list)
    zero_scores: list = field(default_factory=list)
    counterexample: str | None = None


@dataclass(frozen=True)
class Tf3Null:
    """TF-3: the simulated VE@r ladder ``{d_h: (mean, SE)}``, its MP limit ``{d_h: VE}``, and the relative
    changes of VE@r under key scale and mean over the Hypothesis examples."""

    ladder: dict = field(default_factory=dict)
    mp: dict = field(default_factory=dict)
    scale_errs: list = field(default_factory=list)
    counterexample: str | None = None


@dataclass(frozen=True)
class AlgebraMeasurement:
    """What ID-1..3 and TF-3 read: each claim's search (None where a self-test builds only one)."""

    label: str = LABEL
    id1: Id1Examples | None = None
    id2: Id2Examples | None = None
    id3: Id3Examples | None = None
    tf3: Tf3Null | None = None


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


@check("ID-1")
def check_id1(claim: Claim, m: AlgebraMeasurement):
    e = m.id1
    equal_errs, term_resids, gaps, counterexample = e.equal_errs, e.term_resids, e.gaps, e.counterexample
    tol = claim.tolerance.value
    checks = counterexample_check(counterexample) + [
        Check("max |α_Boltzmann − α_softmax|, equal key norms", float(np.max(equal_errs)), "<", tol),
        Check("max residual of log-ratio after the −βΩ²‖k‖² term, unequal norms", float(np.max(term_resids)), "<", tol),
        Check("unequal norms do change the weights (the term is real)", float(np.median(gaps)), ">", tol),
    ]
    return evaluate(claim, m.label, checks, measured=float(np.max(equal_errs)), null=float(np.median(gaps)),
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


@check("ID-2")
def check_id2(claim: Claim, m: AlgebraMeasurement):
    d, counterexample = np.asarray(m.id2.deficits, float), m.id2.counterexample
    checks = counterexample_check(counterexample) + [Check("min entropy deficit of feasible non-Boltzmann weightings", float(d.min()), ">", claim.threshold,
                    claim.tolerance.value)]
    return evaluate(claim, m.label, checks, measured=float(d.min()), null=0.0,
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


@check("ID-3")
def check_id3(claim: Claim, m: AlgebraMeasurement):
    residuals, zero_scores, counterexample = m.id3.residuals, m.id3.zero_scores, m.id3.counterexample
    thr = claim.threshold
    checks = counterexample_check(counterexample) + [
        Check("min relative residual of the best bilinear fit", float(np.min(residuals)), ">", thr),
        Check("min |s_M(0, k*)| (bilinear forms vanish at q = 0)", float(np.min(zero_scores)), ">", thr),
    ]
    return evaluate(claim, m.label, checks, measured=float(np.min(residuals)), null=0.0,
                    summary=f"{len(residuals)} symmetric M ≠ 0; smallest bilinear-fit residual {np.min(residuals):.3g}")


@check("TF-3")
def check_tf3(claim: Claim, m: AlgebraMeasurement):
    """Simulated VE@8 ladder vs the paper; scale/mean invariance of the null."""
    ladder, mp, scale_errs, counterexample = m.tf3.ladder, m.tf3.mp, m.tf3.scale_errs, m.tf3.counterexample
    paper = claim.paper_values
    checks = counterexample_check(counterexample)
    for dh, (sim, se) in ladder.items():
        checks.append(Check(f"simulated VE@8 − paper at d_h={dh}", sim - paper[f"dh{dh}"], "in", claim.threshold,
                            note=f"sim {sim:.4f} ± {se:.4f}, MP limit {mp[dh]:.4f}"))
    checks.append(Check("max relative change of VE@8 under key scale and mean", float(np.max(scale_errs)), "<",
                        claim.param("scale_invariance_rtol")))
    vals = [ladder[d][0] for d in sorted(ladder)]
    checks.append(Check("null falls as d_h grows at fixed n (depends on n/d_h)", bool(np.all(np.diff(vals) < 0)), "true", True))
    return evaluate(claim, m.label, checks, measured={f"dh{d}": v[0] for d, v in ladder.items()},
                    null={f"mp_dh{d}": v for d, v in mp.items()}, threshold=claim.threshold,
                    summary="simulated Gaussian null: " + ", ".join(f"d_h={d}: {v[0]:.4f}" for d, v in ladder.items()),
                    extra={"ladder": {str(d): v[0] for d, v in ladder.items()}, "mp": {str(d): v for d, v in mp.items()}})


# ----------------------------------------------------------------------------- the Hypothesis searches
# Each search is the audit's protocol as it was written (strategies, assumptions, assertions): the ``ci``
# profile derandomises Hypothesis with a hash of each @given function's source, so the text of every
# ``example`` below (decorator and body, at this indentation) fixes which examples are drawn — editing it
# changes the recorded numbers. The ranges are the search's domain, not claim numbers; the tolerances
# the examples assert are the registry's.
FLOATS = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False, width=64)


def search_id1(claim: Claim) -> Id1Examples:
    """Theorem 1 on random (q, keys, c, Ω): equal norms give softmax; unequal norms differ by the ‖k‖² term."""

    eq_errs, resids, gaps = [], [], []

    @given(d=st.integers(2, 32), n=st.integers(2, 24), c=st.floats(0.5, 4.0), omega=st.floats(0.3, 3.0),
           seed=st.integers(0, 2**31 - 1))
    def example(d, n, c, omega, seed):
        rng = np.random.default_rng(seed)
        q = rng.standard_normal(d)
        raw = rng.standard_normal((n, d))
        equal = c * raw / np.linalg.norm(raw, axis=1, keepdims=True)  # ‖k_i‖ = c (A4)
        unequal = raw * rng.uniform(0.2, 3.0, size=(n, 1))
        assume(np.ptp(np.linalg.norm(unequal, axis=1)) > 0.5)
        e, r, g = theorem1_errors(q, equal, unequal, omega)
        eq_errs.append(e), resids.append(r), gaps.append(g)
        assert e < tol, f"equal norms: |α_B − α_S| = {e:.3g} ≥ {tol:g}"
        assert r < tol, f"unequal norms: residual after the ‖k‖² term {r:.3g} ≥ {tol:g}"

    tol = claim.tolerance.value
    bad = falsified(example)
    return Id1Examples(equal_errs=eq_errs, term_resids=resids, gaps=gaps, counterexample=bad)


def search_id2(claim: Claim) -> Id2Examples:
    """Proposition 1: feasible perturbations of the Boltzmann weights lower the entropy."""

    deficits = []

    @given(n=st.integers(3, 32), beta=st.floats(0.05, 3.0), seed=st.integers(0, 2**31 - 1), eps=st.floats(0.05, 0.9))
    def example(n, beta, seed, eps):
        rng = np.random.default_rng(seed)
        dist2 = rng.uniform(0.0, 4.0, n)
        out = max_entropy_deficit(dist2, beta, rng.standard_normal(n), eps)
        assume(out is not None)
        deficits.append(out)
        assert out > c.threshold - c.tolerance.value, f"a feasible non-Boltzmann weighting has more entropy ({out:.3g})"

    c = claim
    bad = falsified(example)
    return Id2Examples(deficits=deficits, counterexample=bad)


def search_id3(claim: Claim) -> Id3Examples:
    """Proposition 2: s_M for a symmetric M ≠ 0 fits no bilinear form and does not vanish at q = 0."""

    residuals, zeros = [], []

    @given(d=st.integers(1, 8), entries=st.lists(FLOATS, min_size=64, max_size=64), seed=st.integers(0, 2**31 - 1))
    def example(d, entries, seed):
        a = np.array(entries[: d * d]).reshape(d, d)
        M = 0.5 * (a + a.T)
        assume(np.abs(M).max() > 0.1)  # M ≠ 0
        res, zero = bilinear_fit_residual(M, 4 * d * d + 8, np.random.default_rng(seed)), zero_query_score(M)
        residuals.append(res), zeros.append(zero)
        assert res > c.threshold, f"a bilinear form fits s_M (residual {res:.3g})"
        assert zero > c.threshold, f"s_M(0, k*) = {zero:.3g} vanishes as a bilinear form's would"

    c = claim
    bad = falsified(example)
    return Id3Examples(residuals=residuals, zero_scores=zeros, counterexample=bad)


def search_tf3(claim: Claim) -> Tf3Null:
    """The simulated Gaussian-null ladder (seeded by d_h), its MP limit, and VE@r's invariance under key
    scale and mean (Hypothesis)."""


    c = claim
    n, r, reps = c.param("n"), c.param("rank"), c.param("reps")
    ladder = {dh: simulated_ve_null(n, dh, r=r, reps=reps, seed=dh) for dh in c.param("ladder_dh")}
    mp = {dh: mp_ve_null(n, dh, r) for dh in c.param("ladder_dh")}
    scale_errs = []

    @given(d=st.sampled_from([16, 32, 64]), scale=st.floats(1e-3, 1e3), shift=st.floats(-50, 50), seed=st.integers(0, 2**31 - 1))
    def example(d, scale, shift, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(4, n, d, generator=g, dtype=torch.float64)
        base = ve_at_r(x, r)
        moved = ve_at_r(x * scale + shift, r)
        err = float(((moved - base).abs() / base).max())
        scale_errs.append(err)
        assert err < c.param("scale_invariance_rtol"), f"VE@{r} moved by {err:.3g} under scale {scale:g}, shift {shift:g}"

    bad = falsified(example)
    return Tf3Null(ladder=ladder, mp=mp, scale_errs=scale_errs, counterexample=bad)


# ----------------------------------------------------------------------------- the measurement
@measurement("algebra", subjects=lambda options: [Target(label=LABEL, arch=frozenset({"algebra"}))])
def measure(target: Target, options) -> AlgebraMeasurement:
    """Run the four searches (each claim's parameters from its registry record)."""
    reg = registry()
    with isolated_examples():  # the draws depend on the properties alone (suite.search)
        return AlgebraMeasurement(label=target.label, id1=search_id1(reg["ID-1"]), id2=search_id2(reg["ID-2"]),
                                  id3=search_id3(reg["ID-3"]), tf3=search_tf3(reg["TF-3"]))
