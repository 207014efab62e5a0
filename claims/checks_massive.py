"""Claim logic of the MA family (residual stream / massive activations), from the book chapters: seed 002
ch. 18 §18.2–18.3 (the sink is 'caused by massive activations … that steer attention toward their token')
and seed 000 ch. 40 §40.3–40.4 ('sink = massive activation = compression valley').

MA-1 massive activations at the sink token (Sun et al. 2024 §2's criterion) against the other tokens;
MA-2 their onset at or before the sink's; MA-3 the clamp intervention against a matched null clamp;
MA-4 the compression valley (matrix entropy by depth) where the massive activations and the sink are.

The family follows :mod:`suite.family`: the measurement ``massive`` runs on the run's ``--model`` models (the
registry's ``applies_to`` keeps the softmax-attention ones): :func:`measure` makes one :class:`MassiveMeasurement` of
each — the residual-stream statistics (:func:`fixtures.measure.residual_stats`, read from the real pass), the *sink input*
``{"sink": [L,N,H] mean A[t,0] over t ≥ 1, "lm_gain": nats, "T": int, "provenance": {...}}`` of the audit's
real pass (:func:`sink_input` of :func:`fixtures.measure.measure`) and MA-3's two clamp passes
(:class:`fixtures.residual.ClampResult`, under the plans of :func:`clamp_plans`) — and every ``@check``
is ``check(claim, record) -> ClaimResult``, a pure function (no pytest). Statistics from
:mod:`probes.stats`; constants from ``claims/registry/massive.toml``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fixtures.measure import measure as attention_pass
from fixtures.measure import residual_stats
from fixtures.residual import clamp_measurement
from fixtures.targets import model_targets
from probes import residual
from probes.stats import least_lm_gain, pearson, sem, uniform_sink_mass
from suite.family import Target, check, measurement
from suite.provenance import collect
from suite.registry import Claim, registry
from suite.results import Check, ClaimResult, evaluate

#: MA-1's report lists at most this many of the recorded top-k coordinates per massive stream (display only)
COORDS_SHOWN = 8


# ----------------------------------------------------------------------------- the measurement record
@dataclass(frozen=True)
class MassiveMeasurement:
    """What MA-1..4 read on one model: the residual-stream statistics (``stats``, a
    :class:`fixtures.residual.ResidualStats` or any object with its arrays), the sink input of the audit's
    real pass (``sink``, :func:`sink_input`), and for MA-3 the two clamp passes (``None`` when there is no
    massive coordinate to clamp), the plans' info (:func:`clamp_plans`) and the unclamped pass's loss."""

    label: str
    stats: Any
    sink: dict
    seed: int = 0
    clamp_massive: Any = None
    clamp_null: Any = None
    plan_info: dict | None = None
    base_nll: float | None = None
    # Sun et al.'s own contrasts on the same coordinates and streams (reported beside MA-3, not deciding):
    # each massive value replaced by its mean at position 0 over the sequences (keeps the value, removes its
    # variation), and set to zero (removes it)
    clamp_sun_mean: Any = None
    clamp_zero: Any = None


# ----------------------------------------------------------------------------- shared summaries
def sink_input(meas) -> dict:
    """The sink quantities of the audit's real pass (:func:`fixtures.measure.measure`)."""
    return {"sink": meas.sink_mass(), "lm_gain": meas.lm_gain(), "T": int(meas.colsum.shape[-1]),
            "provenance": dict(meas.provenance or {})}


def _same_windows(stats, sink: dict):
    a = (getattr(stats, "provenance", None) or {}).get("data_ids_sha256")
    b = (sink.get("provenance") or {}).get("data_ids_sha256")
    if a and b and a != b:
        raise ValueError(f"the residual pass and the attention pass read different windows (data sha {a[:12]} vs "
                         f"{b[:12]}): the claims pair them sequence by sequence")


def massive_profile(stats, ratio: float, z: float, pos: int = 0) -> dict:
    """Per stream: log10 of Sun et al.'s statistic at the sink token and at the other tokens.

    ``lr0 [S,N]`` log10(top-1 |h[pos]| / median |h|); ``rest [S,N]`` per sequence the mean over t ≠ pos of
    the same; ``massive [S]`` mean lr0 − z·SEM ≥ log10 ratio."""
    lr = np.log10(np.maximum(np.asarray(stats.pos_top, float), np.finfo(np.float32).tiny)
                  / np.maximum(np.asarray(stats.median, float)[..., None], np.finfo(np.float32).tiny))
    lr0 = lr[:, :, pos]
    others = np.delete(lr, pos, axis=2)
    rest = others.mean(-1)
    m0, s0 = lr0.mean(1), sem(lr0, axis=1)
    mr, sr = rest.mean(1), sem(rest, axis=1)
    crit = float(np.log10(ratio))
    massive = m0 - z * s0 >= crit
    return {"lr0": lr0, "rest": rest, "mean": m0, "sem": s0, "rest_mean": mr, "rest_sem": sr,
            "rest_max": others.max(-1).mean(1), "rest_frac_massive": (others >= crit).mean((1, 2)),
            "massive": massive, "criterion": crit, "lower": m0 - z * s0,
            "top1_sink": np.asarray(stats.pos_top, float)[:, :, pos].mean(1),
            "median": np.asarray(stats.median, float).mean(1)}


def sink_profile(sink: dict, z: float) -> dict:
    """Per attention layer: head-mean sink mass per sequence ``[L,N]``, its mean, SEM, and 'formed'
    (above uniform causal attention's sink level by z·SEM)."""
    s = np.asarray(sink["sink"], float).mean(-1)  # [L,N]
    u = uniform_sink_mass(int(sink["T"]))
    m, se = s.mean(1), sem(s, axis=1)
    return {"seq": s, "mean": m, "sem": se, "uniform": u, "formed": m - z * se > u}


def premises(stats, sink: dict, ratio: float, z: float) -> dict:
    """Premise quantities: the sink (mean over layers, heads, sequences; SEM over sequences), the model's
    LM gain, and the peak massive statistic at the sink token (with its SEM)."""
    s = np.asarray(sink["sink"], float).mean((0, 2))
    mp = massive_profile(stats, ratio, z)
    j = int(np.argmax(mp["lower"]))
    return {"sink_mass": float(s.mean()), "sink_mass_se": float(sem(s)), "uniform_sink_mass": uniform_sink_mass(int(sink["T"])),
            "lm_gain_nats": float(sink["lm_gain"]), "massive_log10_ratio_peak": float(mp["mean"][j]),
            "massive_log10_ratio_peak_se": float(mp["sem"][j])}


def _prov(stats, sink, **kw):
    return collect(**(getattr(stats, "provenance", None) or {}), attention_pass=(sink.get("provenance") or {}).get("data_ids_sha256"),
                   **kw)


def _streams(mask) -> list:
    return np.flatnonzero(np.asarray(mask, bool)).tolist()


def _inputs(claim: Claim, m: "MassiveMeasurement"):
    """The record's statistics and sink passes (checked to be on the same windows), its label, and the
    claim's massive ratio and z: what every MA check starts from."""
    _same_windows(m.stats, m.sink)
    return m.stats, m.sink, m.label, float(claim.param("massive_ratio")), float(claim.param("z"))


# ----------------------------------------------------------------------------- MA-1
@check("MA-1")
def check_ma1(claim: Claim, m: MassiveMeasurement) -> ClaimResult:
    """Sun et al.'s criterion at the sink token at some stream, and not at the other tokens there."""
    stats, sink, model_label, ratio, z = _inputs(claim, m)
    pos = int(claim.param("sink_position"))
    mp = massive_profile(stats, ratio, z, pos)
    j = int(np.argmax(mp["lower"]))
    c1 = Check(f"log10(top-1 |h| / median |h|) at the sink token, best stream {j}", float(mp["mean"][j]), ">=",
               mp["criterion"], margin=float(z * mp["sem"][j]),
               note=f"ratio {10 ** mp['mean'][j]:.3g} (geometric mean over sequences) vs Sun et al.'s {ratio:g}")
    idx = np.flatnonzero(mp["massive"])
    c2 = Check("non-sink tokens at the massive streams: mean over t ≥ 1 of log10 ratio", mp["rest_mean"][idx], "all<",
               mp["criterion"], margin=z * mp["rest_sem"][idx],
               note=f"{idx.size} massive streams {idx.tolist()}" if idx.size else "no massive stream")
    top_abs = float(np.abs(np.asarray(stats.top_vals, float)[:, :, 0]).mean(1).max())
    sun_abs = claim.param("massive_abs")
    coords = {int(s): np.unique(np.asarray(stats.top_idx)[s, :, 0]).tolist()[:COORDS_SHOWN] for s in idx}
    summ = (f"Sink token: top-1 |h| / median |h| peaks at {10 ** mp['mean'].max():.3g}× (stream {int(np.argmax(mp['mean']))}, "
            f"largest |h| {top_abs:.4g}; Sun et al.'s absolute {sun_abs:g} {'met' if top_abs > sun_abs else 'NOT met'}, "
            f"not deciding); massive streams (≥ {ratio:g}× by z·SEM): {idx.tolist() or 'none'} of 0..{mp['mean'].size - 1}. "
            f"Other tokens there: typical ratio {10 ** mp['rest_mean'][idx].max():.3g}× at most" if idx.size else
            f"Sink token: top-1 |h| / median |h| peaks at {10 ** mp['mean'].max():.3g}× (stream {int(np.argmax(mp['mean']))}, "
            f"largest |h| {top_abs:.4g}); no stream meets Sun et al.'s {ratio:g}× by z·SEM")
    if idx.size:
        summ += f", fraction of other tokens meeting the criterion ≤ {mp['rest_frac_massive'][idx].max():.3g}."
    per_layer = {"log10_ratio_sink": mp["mean"], "log10_ratio_sink_sem": mp["sem"], "log10_ratio_rest": mp["rest_mean"],
                 "log10_ratio_rest_max": mp["rest_max"],
                 "rest_frac_massive": mp["rest_frac_massive"], "top1_sink": mp["top1_sink"], "median": mp["median"]}
    return evaluate(
        claim, model_label, [c1, c2], measured={"log10_ratio_sink": mp["mean"]}, null={"log10_ratio_rest": mp["rest_mean"]},
        summary=summ, per_layer=per_layer, premises=premises(stats, sink, ratio, z),
        extra={"massive_streams": idx.tolist(), "criterion_log10": mp["criterion"], "sun_abs_met": top_abs > sun_abs,
               "largest_abs": top_abs, "top_coords_by_stream": coords, "n_streams": int(mp["mean"].size)},
        provenance=_prov(stats, sink, statistic="top-1 |h| over coordinates / median |h| over the sequence's hidden state"))


# ----------------------------------------------------------------------------- MA-2
@check("MA-2")
def check_ma2(claim: Claim, m: MassiveMeasurement) -> ClaimResult:
    """First massive stream ≤ first attention layer with a formed sink."""
    stats, sink, model_label, ratio, z = _inputs(claim, m)
    mp, sp = massive_profile(stats, ratio, z), sink_profile(sink, z)
    j_ma, j_sink = residual.first_true(mp["massive"]), residual.first_true(sp["formed"])
    diff = float("nan") if j_ma is None or j_sink is None else float(j_ma - j_sink)
    chk = Check("first massive stream − first layer with a formed sink", diff, "<=", 0.0,
                note=f"massive from stream {j_ma}, sink formed from layer {j_sink} (uniform {sp['uniform']:.4f})")
    peak = float(sp["mean"].max())
    strict = sp["mean"] > sp["uniform"] + float(claim.param("strict_sink_fraction")) * (peak - sp["uniform"])
    j_strict = residual.first_true(strict)
    L = sp["mean"].size
    ma_in = mp["massive"][:L]
    both = int((ma_in & sp["formed"]).sum())
    r = pearson(mp["mean"][:L], sp["mean"])[0]
    summ = (f"Massive activations at the sink token from stream {j_ma} (streams {_streams(mp['massive'])}); sink formed "
            f"(> uniform {sp['uniform']:.4f} by z·SEM) from layer {j_sink} (layers {_streams(sp['formed'])}); stricter "
            f"'half the peak excess' onset: layer {j_strict}. Not deciding: {both}/{L} layers read a massive stream and "
            f"have a formed sink; r(log10 ratio, sink mass) over layers = {r:.2f}.")
    return evaluate(
        claim, model_label, [chk], measured={"first_massive_stream": j_ma, "first_sink_layer": j_sink},
        summary=summ, premises=premises(stats, sink, ratio, z),
        per_layer={"log10_ratio_sink": mp["mean"], "sink_mass": sp["mean"], "sink_mass_sem": sp["sem"]},
        extra={"first_massive_stream": j_ma, "first_sink_layer": j_sink, "first_sink_layer_strict": j_strict,
               "uniform_sink": sp["uniform"], "massive_streams": _streams(mp["massive"]),
               "sink_layers": _streams(sp["formed"]), "r_ratio_sink_over_layers": r},
        provenance=_prov(stats, sink))


# ----------------------------------------------------------------------------- MA-3
def clamp_plans(claim: Claim, stats, seed: int) -> tuple[dict, dict, dict]:
    """``(massive plan, null plan, info)``; a plan is ``{stream: (coords, values)}`` at position 0.

    Massive: the coordinates massive at position 0 (in at least ``min_seq_frac`` of the sequences) at any
    massive stream (MA-1's criterion), set to their mean at the other tokens at every stream from the first
    massive one through L−1 (the last one an attention layer reads) — 'from some layer on': a layer after
    the last clamped stream would otherwise add its own update to a clamped value (in SmolLM2 the last
    layers cancel the massive value, which would leave a massive value of the opposite sign). Null: each
    massive coordinate mapped once (seeded) to a non-massive coordinate of matched typical magnitude at the
    other tokens (among the ``n_match`` nearest), clamped at the same streams the same way."""
    ratio, z = float(claim.param("massive_ratio")), float(claim.param("z"))
    mp = massive_profile(stats, ratio, z)
    S = mp["mean"].size
    per_stream = {}
    for j in np.flatnonzero(mp["massive"][: S - 1]):
        c = residual.massive_coordinates(stats.top_vals[j], stats.top_idx[j], stats.median[j], ratio,
                                         float(claim.param("min_seq_frac")))
        if c.size:
            per_stream[int(j)] = c
    union = np.array(sorted({int(c) for cs in per_stream.values() for c in cs}), dtype=np.int64)
    massive_streams = sorted(per_stream)
    if union.size:
        per_stream = {j: union for j in range(massive_streams[0], S - 1)}
    rng = np.random.default_rng(int(seed) + int(claim.param("null_seed_offset")))
    if union.size:
        typical = np.asarray(stats.coord_absmean_rest, float)[massive_streams].mean(0)
        null_of = dict(zip(union.tolist(), residual.matched_random_coordinates(typical, union, int(claim.param("n_match")), rng).tolist()))
    else:
        null_of = {}
    mean_rest = np.asarray(stats.coord_mean_rest, float)
    real = {j: (c, mean_rest[j, c]) for j, c in per_stream.items()}
    null = {}
    for j, c in per_stream.items():
        nc = np.array([null_of[int(x)] for x in c], dtype=np.int64)
        null[j] = (nc, mean_rest[j, nc])
    info = {"streams": sorted(per_stream), "massive_streams": massive_streams, "coords": union.tolist(),
            "null_of": null_of, "typical_massive": {int(c): float(np.asarray(stats.coord_absmean_rest)[massive_streams][:, c].mean())
                                                    for c in union},
            "typical_null": {int(v): float(np.asarray(stats.coord_absmean_rest)[massive_streams][:, v].mean())
                             for v in null_of.values()}}
    return real, null, info


@check("MA-3")
def check_ma3(claim: Claim, m: MassiveMeasurement) -> ClaimResult:
    """The clamp removes ≥ excess_fraction of the sink's excess over uniform, more than the null clamp."""
    stats, sink, model_label, ratio, z = _inputs(claim, m)
    clamp_massive, clamp_null, plan_info, base_nll = m.clamp_massive, m.clamp_null, m.plan_info, m.base_nll
    frac_need = float(claim.param("excess_fraction"))
    base = np.asarray(sink["sink"], float)
    u = uniform_sink_mass(int(sink["T"]))
    streams = sorted(int(j) for j in ((clamp_massive.plan or {}) if clamp_massive is not None else {}))
    L = base.shape[0]
    prem = premises(stats, sink, ratio, z)
    # the intervened model must still predict the text (the functioning-model premise, read on the clamped
    # model): unigram NLL − clamped NLL, the unigram NLL being the unclamped model's NLL + its LM gain
    nll_m = None if clamp_massive is None else clamp_massive.nll
    unigram = None if base_nll is None else float(sink["lm_gain"]) + float(base_nll)
    prem["intervened_lm_gain_nats"] = least_lm_gain(unigram, [nll_m])
    if not streams:
        prem["intervened_lm_gain_nats"] = prem["lm_gain_nats"]  # nothing clamped: the model is the unclamped one
        c1 = Check("fraction of the sink's excess over uniform removed by the clamp", float("nan"), ">=", frac_need,
                   note="no massive stream to clamp")
        c2 = Check("sink drop: massive clamp − matched null clamp (paired)", float("nan"), ">", 0.0)
        return evaluate(claim, model_label, [c1, c2], summary="no massive coordinates to clamp", premises=prem,
                        provenance=_prov(stats, sink))
    j0 = streams[0]
    lay = slice(j0, L)
    b = base[lay].mean((0, 2))
    cm = np.asarray(clamp_massive.sink, float)[lay].mean((0, 2))
    cn = np.asarray(clamp_null.sink, float)[lay].mean((0, 2))
    excess, drop, drop_null = b - u, b - cm, b - cn
    ex = float(excess.mean())
    frac = float(drop.mean() / ex) if ex > 0 else float("nan")
    frac_null = float(drop_null.mean() / ex) if ex > 0 else float("nan")
    c1 = Check(f"fraction of the sink's excess over uniform removed by the massive clamp (layers {j0}..{L - 1})", frac, ">=",
               frac_need, margin=float(z * sem(drop) / ex) if ex > 0 else 0.0,
               note=f"sink {b.mean():.3f} → {cm.mean():.3f} (uniform {u:.4f})")
    d = drop - drop_null
    c2 = Check("sink drop: massive clamp − matched null clamp (paired over sequences)", float(d.mean()), ">", 0.0,
               margin=float(z * sem(d)), note=f"null clamp: sink {b.mean():.3f} → {cn.mean():.3f} ({frac_null:.1%} of the excess)")
    dn_m = np.asarray(clamp_massive.delta_norm, float)[streams].mean(1)
    dn_n = np.asarray(clamp_null.delta_norm, float)[streams].mean(1)
    info = plan_info or {}
    coords = {j: clamp_massive.plan[str(j)]["coords"] for j in streams}
    uniq = sorted({c for cs in coords.values() for c in cs})
    nll_txt = "".join([
        f"; loss: unclamped {base_nll:.3f}" if base_nll is not None else "",
        f", massive clamp {clamp_massive.nll:.3f}" if clamp_massive.nll is not None else "",
        f", null clamp {clamp_null.nll:.3f}" if clamp_null.nll is not None else ""])
    summ = (f"Clamped at {len(streams)} streams ({streams[0]}..{streams[-1]}), coordinates {uniq} at position 0 set to their "
            f"mean at the other tokens: sink over layers {j0}..{L - 1} {b.mean():.3f} → {cm.mean():.3f}, removing "
            f"{frac:.1%} of its excess over uniform ({u:.4f}); matched null clamp (coordinates "
            f"{sorted(set(info.get('null_of', {}).values())) if info else '?'}) → {cn.mean():.3f} ({frac_null:.1%}). "
            f"‖Δh‖ at position 0 per clamp: massive {dn_m.mean():.4g}, null {dn_n.mean():.4g}{nll_txt}.")
    sun, sun_txt = _contrast_text("Sun et al.'s mean-value replacement (the value's mean at position 0 over sequences)",
                                  m.clamp_sun_mean, float(b.mean()), lay, unigram)
    zero, zero_txt = _contrast_text("set to zero", m.clamp_zero, float(b.mean()), lay, unigram)
    if sun_txt or zero_txt:
        summ += " Sun et al.'s contrasts (reported, not deciding) — " + "; ".join(t for t in (sun_txt, zero_txt) if t) + "."
    per_layer = {"sink_base": base.mean((1, 2)), "sink_clamp_massive": np.asarray(clamp_massive.sink, float).mean((1, 2)),
                 "sink_clamp_null": np.asarray(clamp_null.sink, float).mean((1, 2))}
    return evaluate(
        claim, model_label, [c1, c2], measured={"removed_fraction": frac, "removed_fraction_null": frac_null},
        null={"removed_fraction_null": frac_null}, summary=summ, per_layer=per_layer, premises=prem,
        extra={"clamp_streams": streams, "clamp_coords": coords, "first_clamped_stream": j0, "uniform_sink": u,
               "sink_base": float(b.mean()), "sink_clamp_massive": float(cm.mean()), "sink_clamp_null": float(cn.mean()),
               "delta_norm_massive": dn_m, "delta_norm_null": dn_n, "nll_base": base_nll,
               "nll_clamp_massive": clamp_massive.nll, "nll_clamp_null": clamp_null.nll,
               "null_of": {str(k): v for k, v in (info.get("null_of") or {}).items()},
               "typical_massive": info.get("typical_massive"), "typical_null": info.get("typical_null"),
               "sun_mean_contrast": sun, "zero_contrast": zero},
        provenance=_prov(stats, sink, clamp="h[:, 0, coords] = mean of h[:, t ≥ 1, coords] at each massive stream"))


def contrast_plans(stats, real_plan: dict) -> tuple[dict, dict]:
    """Sun et al.'s two replacements on MA-3's coordinates and streams: ``(mean at position 0 over the
    sequences, zero)`` — ``{stream: (coords, values)}`` each."""
    first = np.asarray(stats.coord_mean_first, float)
    sun = {j: (c, first[j, np.asarray(c)]) for j, (c, _v) in real_plan.items()}
    zero = {j: (c, np.zeros(len(np.asarray(c)))) for j, (c, _v) in real_plan.items()}
    return sun, zero


def _contrast_text(name, clamp, b_mean, lay, unigram):
    if clamp is None:
        return None, ""
    s = float(np.asarray(clamp.sink, float)[lay].mean())
    gain = None if clamp.nll is None or unigram is None else unigram - float(clamp.nll)
    txt = f"{name}: sink {b_mean:.3f} → {s:.3f}" + ("" if clamp.nll is None else f", loss {clamp.nll:.3f} (LM gain {gain:+.2f} nats)")
    return {"sink": s, "nll": clamp.nll, "lm_gain_nats": gain}, txt


# ----------------------------------------------------------------------------- MA-4
@check("MA-4")
def check_ma4(claim: Claim, m: MassiveMeasurement) -> ClaimResult:
    """An interior entropy minimum, at a massive stream whose attention layer has a formed sink."""
    stats, sink, model_label, ratio, z = _inputs(claim, m)
    mp, sp = massive_profile(stats, ratio, z), sink_profile(sink, z)
    H = np.asarray(stats.entropy, float)
    Hm = H.mean(1)
    S = Hm.size
    L = S - 1
    j = int(np.argmin(Hm))
    d0, dL = H[0] - H[j], H[L] - H[j]
    c0 = Check(f"entropy valley below the embeddings: H[0] − H[{j}]", float(d0.mean()), ">", 0.0, margin=float(z * sem(d0)))
    cL = Check(f"entropy valley below the last layer: H[{L}] − H[{j}]", float(dL.mean()), ">", 0.0, margin=float(z * sem(dL)))
    formed = bool(sp["formed"][j]) if j < L else True
    co = bool(mp["massive"][j]) and formed
    c3 = Check(f"the valley (stream {j}) co-locates: massive stream and formed sink", co, "true", True,
               note=f"stream {j}: massive {bool(mp['massive'][j])}; " + (f"attention layer {j} sink {sp['mean'][j]:.3f} "
                    f"(formed {formed})" if j < L else "last stream (read by no attention layer)"))
    Hn = np.asarray(stats.entropy_nosink, float).mean(1)
    within = _streams(Hm - Hm[j] <= z * sem(H - H[j], axis=1))
    r_ratio = pearson(Hm, mp["mean"])[0]
    r_sink = pearson(Hm[:L], sp["mean"])[0]
    summ = (f"Matrix entropy by depth {Hm.max():.3f} max → valley {Hm[j]:.3f} at stream {j}/{L} (effective rank "
            f"{np.exp(Hm[j]):.2f}; H[0] {Hm[0]:.3f}, H[{L}] {Hm[L]:.3f}); streams within z·SEM of the minimum: {within}. "
            f"Massive streams {_streams(mp['massive'])}; sink formed at layers {_streams(sp['formed'])}. Not deciding: "
            f"without the sink token the entropy's minimum is {Hn.min():.3f} at stream {int(np.argmin(Hn))} (at stream {j}: "
            f"{Hn[j]:.3f}); r(H, log10 massive ratio) = {r_ratio:.2f}, r(H, sink mass) = {r_sink:.2f} over depth.")
    return evaluate(
        claim, model_label, [c0, cL, c3], measured={"valley_stream": j, "entropy": Hm}, summary=summ,
        premises=premises(stats, sink, ratio, z),
        per_layer={"entropy": Hm, "entropy_sem": sem(H, axis=1), "entropy_nosink": Hn, "log10_ratio_sink": mp["mean"],
                   "sink_mass": sp["mean"]},
        extra={"valley_stream": j, "valley_span": within, "massive_streams": _streams(mp["massive"]),
               "sink_layers": _streams(sp["formed"]), "valley_nosink_stream": int(np.argmin(Hn)),
               "r_entropy_ratio": r_ratio, "r_entropy_sink": r_sink, "effective_rank_valley": float(np.exp(Hm[j]))},
        provenance=_prov(stats, sink, entropy="Shannon entropy of σ²/Σσ² of the uncentred hidden states [T,D] per sequence"))


# ----------------------------------------------------------------------------- MA-5
@check("MA-5")
def check_ma5(claim: Claim, m: MassiveMeasurement) -> ClaimResult:
    """Paper App. D (citing Kimi Team's AttnRes): 'in a PreNorm residual stream the hidden-state magnitudes grow
    with depth'. Read on the median |h| of each stream (Sun et al.'s reference magnitude, blind to the few
    massive coordinates), per sequence: the last stream above the first read one beyond z·SEM (paired), and
    the depth profile rising (Spearman ρ over streams > rho_min). The keys' half ('the keys inherit that
    inflation') is not tested here: the input norm divides the magnitude out before the key projection."""
    from scipy.stats import spearmanr

    stats, sink, model_label = m.stats, m.sink, m.label
    z = float(claim.param("z"))
    first = int(claim.param("first_stream"))
    med = np.asarray(stats.median, float)[first:]  # [S', N]
    lg = np.log10(np.maximum(med, np.finfo(np.float32).tiny))
    prof = lg.mean(1)
    d = lg[-1] - lg[0]
    rho = float(spearmanr(np.arange(prof.size), prof).statistic) if np.ptp(prof) > 0 else 0.0
    checks = [Check(f"log10 median |h|: last stream − stream {first} (paired over sequences)", float(d.mean()), ">", 0.0,
                    z * float(sem(d)), note=f"×{10 ** float(d.mean()):.3g}"),
              Check(f"the magnitude rises with depth: Spearman ρ(stream, median |h|) over streams {first}..{first + prof.size - 1}",
                    rho, ">", float(claim.param("rho_min")))]
    return evaluate(
        claim, model_label, checks, measured={"growth_factor": float(10 ** d.mean()), "spearman_rho": rho},
        null={"growth_factor": 1.0, "spearman_rho": 0.0},
        summary=(f"median |h| by stream ({first}..{first + prof.size - 1}): {10 ** prof[0]:.3g} → {10 ** prof[-1]:.3g} "
                 f"(×{10 ** float(d.mean()):.3g}, ρ = {rho:+.2f}); largest at stream {first + int(np.argmax(prof))}"),
        per_layer={"median_abs_h": 10 ** prof},
        premises={"lm_gain_nats": float(sink["lm_gain"])},
        provenance=_prov(stats, sink, magnitude="median |h| over (T, D) per sequence and stream, Sun et al.'s reference"))


# ----------------------------------------------------------------------------- the measurement
@measurement("massive", subjects=model_targets)  # the registry's applies_to: not applicable to other architectures
def measure(target: Target, options) -> MassiveMeasurement:
    """One model's record: the residual-stream pass (top-k of MA-1's registry record), the sink input of the
    audit's real pass, and MA-3's massive and matched-null clamp passes (each pass cached on disk by
    :mod:`fixtures.residual` / :mod:`fixtures.measure`). Nothing to clamp (no massive coordinate): no clamp
    pass, and MA-3's premise massive-activations-present decides (inconclusive)."""

    spec = target.ref
    reg = registry()
    stats = residual_stats(spec, options, int(reg["MA-1"].param("top_k")))
    real = attention_pass(spec, options, "real")
    real_plan, null_plan, info = clamp_plans(reg["MA-3"], stats, options.seed)
    massive = null = sun = zero = None
    if real_plan:
        massive = clamp_measurement(spec, options, real_plan, "massive")
        null = clamp_measurement(spec, options, null_plan, "null")
        sun_plan, zero_plan = contrast_plans(stats, real_plan)
        sun = clamp_measurement(spec, options, sun_plan, "sun-mean")
        zero = clamp_measurement(spec, options, zero_plan, "zero")
    return MassiveMeasurement(label=target.label, stats=stats, sink=sink_input(real), seed=options.seed,
                              clamp_massive=massive, clamp_null=null, plan_info=info, base_nll=real.nll,
                              clamp_sun_mean=sun, clamp_zero=zero)
