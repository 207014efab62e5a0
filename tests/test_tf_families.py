"""Self-tests of the family claims TF-9..TF-14 (paper §4.2–4.3) on synthetic families: the same
check functions the audit runs with ``--paper-models`` (``check(claim, record)``), fed records of
synthetic measurements (tests.synthetic) on which each claim holds (reproduced), its hard null
(not reproduced), and a broken model (inconclusive); and the family's cross-model targets."""
from __future__ import annotations

import numpy as np
import torch

from claims import checks_tf
from probes import stats
from suite.family import CHECKS
from suite.registry import registry
from tests.synthetic import causal_uniform, cv_share_measurement, measurement_from_tensors, sink_profile_measurement

REG = registry()
TF5 = REG["TF-5"]
FULL_SAMPLE_RTOL = 1e-5  # TF-12's r on the all-ones resample vs TF-6's r (float32 norms summed two ways)


def one(m):
    """The audit's single-model record (TF-5, TF-6, TF-11) of a synthetic measurement."""
    return checks_tf.ModelRecord(label=m.label, real=m)


def group(family, ms, n_params, refs=(), shuffled=None, label=None):
    """The audit's cross-model record (claims.checks_tf.FamilyRecord): ``ms`` in the run's order,
    their sizes and refs, the shuffled re-runs where the claim reads them."""
    shuffled = shuffled or [None] * len(ms)
    models = tuple(checks_tf.ModelRecord(label=m.label, real=m, shuffled=s) for m, s in zip(ms, shuffled))
    return checks_tf.FamilyRecord(label=label or family or "+".join(m.label for m in ms), models=models,
                                  n_params=tuple(n_params), refs=tuple(refs), family=family)


def pairs_group(family, pairs, n_params):
    return group(family, [p[0] for p in pairs], n_params, shuffled=[p[1] for p in pairs])


def _profile(L, onset_frac, lstar_frac, peak=0.7, final=None):
    """A depth profile of L layers: 0.1 before the onset layer, 0.3 from it, ``peak`` from the L*
    layer on (layer indices ceil(frac·L)); the last layer ``final`` if given."""
    k_on, k_ls = int(np.ceil(onset_frac * L)), int(np.ceil(lstar_frac * L))
    y = np.full(L, 0.1)
    y[k_on - 1:] = 0.3
    y[k_ls - 1:] = peak
    if final is not None:
        y[-1] = final
    return y


def _family(specs, seed=0, **kw):
    return [sink_profile_measurement(_profile(*sp), seed=seed + i, label=f"m{i}", **kw) for i, sp in enumerate(specs)]


# Pythia-like: quick lock-in, earlier with scale (onset 25 % → 10 %, L* 33 % → 15 %)
PYTHIA_LIKE = [(12, 0.25, 0.33), (16, 0.19, 0.25), (20, 0.10, 0.15)]
# GPT-2-like: onset stays early, L* moves late (gap 8 % → 45 %)
GPT2_LIKE = [(12, 0.17, 0.25), (16, 0.19, 0.38), (20, 0.15, 0.60)]


# ---------------------------------------------------------------- crossings reuse TF-5
def test_crossings_are_tf5s_onset_and_lstar():
    m = sink_profile_measurement(_profile(12, 0.25, 0.5), seed=3)
    c = checks_tf.crossings(m, TF5, reps=50, seed=0)
    r5 = checks_tf.check_tf5(TF5, one(m))
    assert c["onset"] == r5.measured["onset"] and c["lstar"] == r5.measured["L*"]
    assert (c["onset_layer"], c["lstar_layer"]) == (3, 6)


def test_never_crossing_is_later_than_any_layer():
    m = sink_profile_measurement(np.full(8, 0.1), seed=4)
    c = checks_tf.crossings(m, TF5, reps=20, seed=0)
    assert c["onset_layer"] is None and c["onset"] == 9 / 8


# ---------------------------------------------------------------- TF-9
def test_tf9_earlier_with_scale_is_reproduced():
    ms = _family(PYTHIA_LIKE)
    r = checks_tf.check_tf9(REG["TF-9"], group("pythia", ms, [1, 2, 3]))
    assert r.verdict == "reproduced", r.message()


def test_tf9_hard_null_same_profiles_in_reversed_scale_order():
    """The same three profiles with the size order reversed: the crossings now move later with
    scale, so 'earlier as they scale' must fail."""
    ms = _family(PYTHIA_LIKE)
    r = checks_tf.check_tf9(REG["TF-9"], group("pythia", ms, [3, 2, 1]))
    assert r.verdict == "not reproduced", r.message()


def test_tf9_hard_null_one_depth_on_every_grid():
    """A common normalised profile (onset and L* at 25 % / 50 % at every size): no trend."""
    ms = _family([(8, 0.25, 0.5), (12, 0.25, 0.5), (16, 0.25, 0.5)])
    r = checks_tf.check_tf9(REG["TF-9"], group("pythia", ms, [1, 2, 3]))
    assert r.verdict == "not reproduced", r.message()


def test_tf9_broken_model_is_inconclusive():
    ms = _family(PYTHIA_LIKE[:2])
    ms.append(sink_profile_measurement(_profile(*PYTHIA_LIKE[2]), seed=9, label="broken", nll=6.0, unigram_nll=6.1))
    r = checks_tf.check_tf9(REG["TF-9"], group("pythia", ms, [1, 2, 3]))
    assert r.verdict == "inconclusive" and "functioning-model" in r.premise_text(), r.message()


# ---------------------------------------------------------------- TF-10
def test_tf10_gap_grows_with_scale_is_reproduced():
    r = checks_tf.check_tf10(REG["TF-10"], group("gpt2", _family(GPT2_LIKE), [1, 2, 3]))
    assert r.verdict == "reproduced", r.message()
    assert r.extra["lstar"][-1] == 0.6


def test_tf10_hard_null_scale_order_shuffled():
    r = checks_tf.check_tf10(REG["TF-10"], group("gpt2", _family(GPT2_LIKE), [3, 1, 2]))
    assert r.verdict == "not reproduced", r.message()


def test_tf10_fails_on_pythia_like_quick_lock_in():
    r = checks_tf.check_tf10(REG["TF-10"], group("gpt2", _family(PYTHIA_LIKE), [1, 2, 3]))
    assert r.verdict == "not reproduced", r.message()


# ---------------------------------------------------------------- TF-11
def test_tf11_sharp_final_drop_is_reproduced():
    m = sink_profile_measurement(_profile(12, 0.17, 0.4, final=0.3), seed=5)
    r = checks_tf.check_tf11(REG["TF-11"], one(m))
    assert r.verdict == "reproduced", r.message()


def test_tf11_hard_null_final_drop_within_noise():
    """The last layer equals the one before in expectation; only the per-sequence jitter
    differs, so the fall is within its SE."""
    m = sink_profile_measurement(_profile(12, 0.17, 0.4), seed=6, jitter=0.05)
    r = checks_tf.check_tf11(REG["TF-11"], one(m))
    assert r.verdict == "not reproduced" and not r.checks[0].passed, r.message()


def test_tf11_hard_null_final_drop_not_the_steepest():
    """A real but small final fall after a much larger fall mid-depth is not 'sharply'."""
    y = _profile(12, 0.17, 0.4)
    y[6:] = 0.35  # falls 0.7 → 0.35 at layer 6→7
    y[-1] = 0.30  # final fall 0.05
    r = checks_tf.check_tf11(REG["TF-11"], one(sink_profile_measurement(y, seed=7, jitter=0.01)))
    assert r.checks[0].passed and not r.checks[1].passed and r.verdict == "not reproduced", r.message()


def test_tf11_broken_model_is_inconclusive():
    m = sink_profile_measurement(_profile(12, 0.17, 0.4, final=0.3), seed=5, nll=6.0, unigram_nll=6.2)
    assert checks_tf.check_tf11(REG["TF-11"], one(m)).verdict == "inconclusive"


# ---------------------------------------------------------------- TF-12
REFS = ["EleutherAI/pythia-160m", "EleutherAI/pythia-410m", "EleutherAI/pythia-1b"]


def _r_family(couplings, seed=10):
    return [cv_share_measurement(c, seed=seed + i, label=f"m{i}") for i, c in enumerate(couplings)]


def test_tf12_gpt2_r_grows_is_reproduced_and_reversed_is_not():
    ms = _r_family([0.3, 0.6, 1.0])
    r = checks_tf.check_tf12(REG["TF-12"], group("gpt2", ms, [1, 2, 3], ["gpt2", "gpt2-medium", "gpt2-large"]))
    assert r.verdict == "reproduced", r.message()
    # hard null: the same models, scale order reversed
    r2 = checks_tf.check_tf12(REG["TF-12"], group("gpt2", ms, [3, 2, 1], ["gpt2", "gpt2-medium", "gpt2-large"]))
    assert r2.verdict == "not reproduced", r2.message()


def test_tf12_pythia_decays_with_410m_not_significant():
    ms = _r_family([0.6, 0.0, 0.3])
    stat = [checks_tf.tf6_statistic(m) for m in ms]
    assert stat[1][1] >= REG["TF-6"].param("alpha")  # the fixture's premise: 410M-like r is n.s.
    r = checks_tf.check_tf12(REG["TF-12"], group("pythia", ms, [1, 2, 3], REFS))
    assert r.verdict == "reproduced", r.message()
    assert any("pythia-410m" in c.name or "m1" in c.name for c in r.checks[1:])


def test_tf12_pythia_hard_null_shuffled_order_and_significant_410m():
    ms = _r_family([0.6, 0.0, 0.3])
    # the weakest model is now the smallest: |r| grows smallest → largest
    r = checks_tf.check_tf12(REG["TF-12"], group("pythia", ms, [2, 1, 3], REFS))
    assert r.verdict == "not reproduced", r.message()
    ms2 = _r_family([0.6, 1.0, 0.3])  # 410M strongly significant
    r2 = checks_tf.check_tf12(REG["TF-12"], group("pythia", ms2, [1, 2, 3], REFS))
    assert r2.verdict == "not reproduced" and not r2.checks[-1].passed, r2.message()


def test_tf12_bootstrap_matches_tf6_on_the_full_sample():
    """TF-12 resamples TF-6's statistic; with every sequence once, it is TF-6's r."""
    m = cv_share_measurement(0.5, seed=2)
    w = np.ones((1, m.colsum.shape[1]))
    cv = stats.cv_replicates(m.key_norms_pre, w)[0]
    share = np.einsum("rn,lnh->rlh", w, m.max_share())[0] / w.sum()
    from probes.stats import pearson

    r_full = pearson(*checks_tf.norm_share_points(m.info, cv, share))[0]
    assert abs(r_full - checks_tf.check_tf6(REG["TF-6"], one(m)).measured["r"]) < FULL_SAMPLE_RTOL


# ---------------------------------------------------------------- TF-13
def test_tf13_different_depths_are_reproduced():
    ms = _family([(12, 0.17, 0.25), (16, 0.25, 0.62), (20, 0.10, 0.15)])
    r = checks_tf.check_tf13(REG["TF-13"], group(None, ms, [1] * len(ms)))
    assert r.verdict == "reproduced", r.message()


def test_tf13_hard_null_one_depth_sampled_on_different_grids():
    """One continuous profile (onset at 20 %, L* at 45 % of depth) sampled at L = 12, 24, 36:
    the fractions differ (25 %, 21 %, 22 % …) only by the layer grid, so no claim of 'no fixed
    depth' may be read from them."""
    def sampled(L, seed):  # noqa: N803
        x = np.arange(1, L + 1) / L
        y = np.where(x >= 0.45, 0.7, np.where(x >= 0.2, 0.3, 0.1))
        return sink_profile_measurement(y, seed=seed, label=f"L{L}")

    ms = [sampled(12, 1), sampled(24, 2), sampled(36, 3)]
    fr = [checks_tf.crossings(m, TF5, 20, 0)["onset"] for m in ms]
    assert len(set(fr)) > 1  # the naive fractions differ
    r = checks_tf.check_tf13(REG["TF-13"], group(None, ms, [1] * len(ms)))
    assert r.verdict == "not reproduced", r.message()


# ---------------------------------------------------------------- TF-14
L, N, T, HK, D = 2, 10, 32, 1, 32


def _keys(seed, noise, rank=2):
    """Rank-2 key clouds plus isotropic noise: VE@8 falls from ≈0.88 (noise 1) to ≈0.69 (noise 3)."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(L, 1, 1, HK, rank, D, generator=g, dtype=torch.float64)
    coef = torch.randn(L, N, T, HK, rank, generator=g, dtype=torch.float64)
    return torch.einsum("lnthr,lxyhrd->lnthd", coef, basis) + noise * torch.randn(L, N, T, HK, D, generator=g, dtype=torch.float64)


def _pair(seed, real_noise, shuf_noise, label):
    a = causal_uniform(N, HK, T, L)
    real = measurement_from_tensors(_keys(seed, real_noise), a, label=label)
    shuf = measurement_from_tensors(_keys(seed + 100, shuf_noise), a, label=label)
    return real, shuf


def _caveat_family():
    # smallest: the shuffled run nearly as low-rank as the real one (mostly marginal);
    # largest: the real keys well below the shuffle null's VE (content-driven)
    return [_pair(1, 2.0, 2.2, "small"), _pair(2, 1.0, 3.0, "large")]


def test_tf14_marginal_caveat_that_fades_is_reproduced():
    r = checks_tf.check_tf14(REG["TF-14"], pairs_group("pythia", _caveat_family(), [1, 2]))
    assert r.verdict == "reproduced", r.message()


def test_tf14_hard_null_same_models_scale_order_reversed():
    """The content-driven model is now the smallest: it is not mostly marginal, and the ratio
    rises with scale."""
    r = checks_tf.check_tf14(REG["TF-14"], pairs_group("pythia", _caveat_family(), [2, 1]))
    assert r.verdict == "not reproduced" and not any(c.passed for c in r.checks), r.message()


def test_tf14_broken_model_is_inconclusive():
    fam = _caveat_family()
    real, shuf = fam[1]
    real.nll, real.unigram_nll = 6.0, 6.1
    assert checks_tf.check_tf14(REG["TF-14"], pairs_group("pythia", fam, [1, 2])).verdict == "inconclusive"


# ---------------------------------------------------------------- figures from recorded JSON
def test_family_figures_draw_from_recorded_json(tmp_path):
    import json

    from claims.plots_tf import family_crossings, r_with_scale

    res = [checks_tf.check_tf9(REG["TF-9"], group("pythia", _family(PYTHIA_LIKE), [1, 2, 3])),
           checks_tf.check_tf10(REG["TF-10"], group("gpt2", _family(GPT2_LIKE), [1, 2, 3])),
           checks_tf.check_tf12(REG["TF-12"], group("gpt2", _r_family([0.3, 0.6, 1.0]), [1, 2, 3],
                                                    ["gpt2", "gpt2-medium", "gpt2-large"]))]
    rows = [json.loads(json.dumps(r.to_json())) for r in res]
    figs = family_crossings(rows, tmp_path, "t") + r_with_scale(rows, tmp_path, "t")
    assert len(figs) == 2 and all(p.stat().st_size > 0 for _, p in figs)


# ---------------------------------------------------------------- the audit's cross-model targets
PYTHIA_REFS = ["EleutherAI/pythia-160m", "EleutherAI/pythia-410m", "EleutherAI/pythia-1b"]


def _family_targets(monkeypatch, models):
    """The cross-model audit cases of a run of ``models`` (not the --model ones: their configs are hub files)."""
    from suite.options import RunOptions
    from tests import audit

    opts = RunOptions(models=tuple(models))
    names = ("family-passes", "family-shuffled-passes", "named-model-pass", "paper-model-passes")
    return opts, [c for c in audit.cases(checks_tf, opts) if c.measurement.name in names]


def test_family_targets_one_per_family_with_two_models(monkeypatch):
    """Two GPT-2 and two Pythia models: TF-4 and TF-12 one target per family, TF-9/TF-14 Pythia's, TF-10
    GPT-2's, TF-13 one over the four (scope model, mark models, measurable); TF-11's named models absent."""
    _, ts = _family_targets(monkeypatch, ["gpt2", "gpt2-medium"] + PYTHIA_REFS[:2])
    labels = {cid: [c.target.label for c in ts if c.cid == cid and c.target.unavailable is None]
              for cid in ("TF-4", "TF-9", "TF-10", "TF-11", "TF-12", "TF-13", "TF-14")}
    assert labels["TF-4"] == labels["TF-12"] == ["gpt2", "pythia"]
    assert labels["TF-9"] == labels["TF-14"] == ["pythia"] and labels["TF-10"] == ["gpt2"]
    assert len(labels["TF-13"]) == 1 and labels["TF-13"][0].count("+") == 3
    assert labels["TF-11"] == []
    tf11 = [c.target for c in ts if c.cid == "TF-11"]
    assert [t.label for t in tf11] == ["gpt2-large", "gpt2-xl"] and all("--paper-models" in t.unavailable for t in tf11)
    assert all(c.target.scope == "model" and "models" in c.target.marks for c in ts)


def test_tf11_targets_the_named_models_in_the_run(monkeypatch):
    from fixtures.models import resolve

    _, ts = _family_targets(monkeypatch, ["gpt2-large"])
    tf11 = {c.target.label: c.target for c in ts if c.cid == "TF-11"}
    large = resolve("gpt2-large")
    assert tf11[large.label].unavailable is None and tf11[large.label].ref == large
    assert "not in this run" in tf11["gpt2-xl"].unavailable


def test_audit_measures_a_family_from_cached_measurements(monkeypatch):
    """The --paper-models audit path end to end, with fixtures.measure.measure and the config lookup
    replaced by synthetic Pythia-like models (no hub): family grouping, size order, one target and one
    result per family."""
    import types


    by_ref = {ref: sink_profile_measurement(_profile(*sp), seed=i, label=ref.split("/")[-1])
              for i, (ref, sp) in enumerate(zip(PYTHIA_REFS, PYTHIA_LIKE))}
    monkeypatch.setattr(checks_tf, "attention_pass", lambda spec, options, variant="real": by_ref[spec.ref])
    monkeypatch.setattr(checks_tf, "load_config", lambda spec: types.SimpleNamespace(
        num_hidden_layers=PYTHIA_REFS.index(spec.ref) + 1, hidden_size=64))
    # the order of the run is not size order
    opts, ts = _family_targets(monkeypatch, list(reversed(PYTHIA_REFS)) + ["smollm2-135m"])
    tf9 = [c for c in ts if c.cid == "TF-9"]
    assert [c.target.label for c in tf9] == ["pythia"] and tf9[0].target.unavailable is None
    rec = tf9[0].measurement.measure(tf9[0].target, opts)
    assert rec.family == "pythia" and rec.models[0].shuffled is None
    r = CHECKS["TF-9"](REG["TF-9"], rec)
    assert r.model == "pythia" and r.verdict == "reproduced", r.message()
    assert r.extra["models"] == ["pythia-160m", "pythia-410m", "pythia-1b"]
