"""Audit tests of the recurrent routers: MB-1..5 (Mamba), RW-1..6 (RWKV-4) and TF-8 (all routers). MB-4/5 and
RW-5/6 (the low-rank and norm legs of the signature, Fig. 3 / §3) read the same cached pass as the others.

Targets, each a separate parametrisation:
* every ``--model`` (``model_spec``) whose config is Mamba or RWKV (others: "not applicable");
* the trained-here zoo's ``mamba`` and ``rwkv`` entries (``@pytest.mark.zoo``);
* TF-8 compares each recurrent router with the run's *pretrained* transformers (the default SmolLM2 and
  every ``--model`` transformer), as the paper's Table 2 compares pretrained checkpoints; the zoo
  transformers are not pretrained and are not part of that comparison;
* the paper's hub checkpoints (``@pytest.mark.hub``): run when they are in the local HF cache or when
  ``COLLAPSE_CLAIMS_HUB_RECURRENT=1`` (online); otherwise skipped with a reason that says how to run them.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from claims import checks_recurrent as cr
from fixtures.models import WeightsUnavailable, load_config, resolve
from fixtures.recurrent import mamba_measurement, router_kind, rwkv_measurement
from suite.errors import UsageError
from suite.outcome import conclude

HUB_MAMBA = ("state-spaces/mamba-130m-hf", "state-spaces/mamba-370m-hf", "state-spaces/mamba-790m-hf",
             "state-spaces/mamba-1.4b-hf")
HUB_RWKV = ("RWKV/rwkv-4-169m-pile",)
HUB_ENV = "COLLAPSE_CLAIMS_HUB_RECURRENT"

MB_CHECKS = {"MB-1": cr.check_mb1, "MB-2": cr.check_mb2, "MB-3": cr.check_mb3, "MB-4": cr.check_mb4,
             "MB-5": cr.check_mb5}
RW_CHECKS = {"RW-1": cr.check_rw1, "RW-2": cr.check_rw2, "RW-3": cr.check_rw3, "RW-4": cr.check_rw4,
             "RW-5": cr.check_rw5, "RW-6": cr.check_rw6}
SEEDED = {"MB-4", "MB-5", "RW-5", "RW-6"}  # simulated null / bootstrap: seeded by --seed
MB = [pytest.param(c, marks=pytest.mark.claim(c), id=c) for c in MB_CHECKS]
RW = [pytest.param(c, marks=pytest.mark.claim(c), id=c) for c in RW_CHECKS]


# ----------------------------------------------------------------------------- targets
def _kind_or_skip(spec, want: str):
    try:
        config = load_config(spec)
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))
    kind = router_kind(config)
    if kind != want:
        pytest.skip(f"not applicable: {spec.label} is a {getattr(config, 'model_type', '?')} model, "
                    f"not a {'selective SSM (Mamba)' if want == 'mamba' else 'RWKV-4'} router")
    return spec


def _zoo_spec(name, options):
    try:
        from fixtures.zoo import zoo_entry_dir
    except ImportError as exc:  # the zoo module is part of the suite; its absence is an error, not a skip
        raise RuntimeError(f"fixtures.zoo is needed for the zoo targets: {exc}") from None
    from fixtures.models import ModelSpec

    path = zoo_entry_dir(name, options)
    return ModelSpec(label=f"zoo-{name}", source="local", ref=str(path))


def _hub_spec(ref):
    from fixtures.models import in_local_hub_cache

    if not (in_local_hub_cache(ref) or os.environ.get(HUB_ENV) == "1"):
        pytest.skip(f"weights for {ref!r} are not available offline (not in the local Hugging Face cache): run "
                    f"`{HUB_ENV}=1 pytest claims/test_recurrent.py -m hub` on a machine that reaches huggingface.co, "
                    f"or `pytest claims/test_recurrent.py --model {ref}`")
    return resolve(ref)


# ----------------------------------------------------------------------------- measurements
def _mamba(spec, options, claim):
    try:
        return mamba_measurement(spec, options, claim("MB-1").param("n_seqs"))
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))


def _rwkv(spec, options, claim):
    p = claim("RW-3")
    scales = list(p.param("decay_scales")) + [math.inf]  # the sweep, then the killed carry
    try:
        return rwkv_measurement(spec, options, p.param("n_seqs"), scales, p.param("n_late_queries"),
                                p.param("no_decay_time_decay"), p.param("kill_time_decay"))
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))


def _run_mb(cid, spec, options, claim, record_claim):
    m = _mamba(spec, options, claim)
    result = MB_CHECKS[cid](claim(cid), m, spec.label, **({"seed": options.seed} if cid in SEEDED else {}))
    record_claim(result)
    conclude(result)


def _run_rw(cid, spec, options, claim, record_claim):
    m = _rwkv(spec, options, claim)
    result = RW_CHECKS[cid](claim(cid), m, spec.label, **({"seed": options.seed} if cid in SEEDED else {}))
    record_claim(result)
    conclude(result)


def _transformer_profiles(options) -> dict:
    """``{label: {"conc": [L,N] head-averaged max share, "uniform": H_T/T, "lm_gain": nats}}`` of the
    run's pretrained transformers (the default model and every ``--model`` transformer)."""
    from fixtures.measure import measure
    from fixtures.models import DEFAULT_MODEL
    from probes.capture import attn_info
    from probes.mamba import uniform_share

    specs = [resolve(DEFAULT_MODEL)]
    for ref in options.models:
        s = resolve(ref)
        if s in specs:
            continue
        try:
            attn_info(load_config(s), s.label)
        except (UsageError, WeightsUnavailable):  # not a transformer, or offline: not part of the comparison
            continue
        specs.append(s)
    out = {}
    for s in specs:
        try:
            m = measure(s, options)
        except WeightsUnavailable:
            continue
        out[s.label] = {"conc": np.asarray(m.max_share(), float).mean(-1),  # [L,N,H] → [L,N]
                        "uniform": uniform_share(m.colsum.shape[-1]), "lm_gain": m.lm_gain()}
    return out


def _run_tf8(spec, kind, options, claim, record_claim):
    from probes.mamba import uniform_share

    if kind == "mamba":
        m = _mamba(spec, options, claim)
        rec = {"router": "mamba", "conc": m.conc, "uniform": m.uniform_rows, "lm_gain": m.lm_gain(),
               "provenance": m.provenance}
    else:
        m = _rwkv(spec, options, claim)
        rec = {"router": "rwkv", "conc": m.conc[m.index(1.0)], "uniform": uniform_share(m.colshare.shape[-1]),
               "lm_gain": m.lm_gain(1.0), "provenance": m.provenance}
    tfs = _transformer_profiles(options)
    result = cr.check_tf8(claim("TF-8"), rec, tfs, spec.label)
    record_claim(result)
    conclude(result)


# ----------------------------------------------------------------------------- --model targets
@pytest.mark.parametrize("cid", MB)
def test_mamba_claim(cid, model_spec, options, claim, record_claim):
    _run_mb(cid, _kind_or_skip(model_spec, "mamba"), options, claim, record_claim)


@pytest.mark.parametrize("cid", RW)
def test_rwkv_claim(cid, model_spec, options, claim, record_claim):
    _run_rw(cid, _kind_or_skip(model_spec, "rwkv"), options, claim, record_claim)


@pytest.mark.claim("TF-8")
def test_tf8_recurrent_vs_transformers(model_spec, options, claim, record_claim):
    try:
        kind = router_kind(load_config(model_spec))
    except WeightsUnavailable as exc:
        pytest.skip(str(exc))
    if kind is None:
        pytest.skip(f"not applicable: {model_spec.label} is not a recurrent router (TF-8 is tested on each "
                    "recurrent router against the transformers of the run)")
    _run_tf8(model_spec, kind, options, claim, record_claim)


# ----------------------------------------------------------------------------- zoo targets
@pytest.mark.zoo
@pytest.mark.parametrize("cid", MB)
def test_zoo_mamba_claim(cid, options, claim, record_claim):
    _run_mb(cid, _zoo_spec("mamba", options), options, claim, record_claim)


@pytest.mark.zoo
@pytest.mark.parametrize("cid", RW)
def test_zoo_rwkv_claim(cid, options, claim, record_claim):
    _run_rw(cid, _zoo_spec("rwkv", options), options, claim, record_claim)


@pytest.mark.zoo
@pytest.mark.claim("TF-8")
@pytest.mark.parametrize("name", ["mamba", "rwkv"])
def test_zoo_tf8(name, options, claim, record_claim):
    _run_tf8(_zoo_spec(name, options), name, options, claim, record_claim)


# ----------------------------------------------------------------------------- hub checkpoints
@pytest.mark.hub
@pytest.mark.parametrize("ref", HUB_MAMBA)
@pytest.mark.parametrize("cid", MB)
def test_hub_mamba_claim(cid, ref, options, claim, record_claim):
    _run_mb(cid, _kind_or_skip(_hub_spec(ref), "mamba"), options, claim, record_claim)


@pytest.mark.hub
@pytest.mark.parametrize("ref", HUB_RWKV)
@pytest.mark.parametrize("cid", RW)
def test_hub_rwkv_claim(cid, ref, options, claim, record_claim):
    _run_rw(cid, _kind_or_skip(_hub_spec(ref), "rwkv"), options, claim, record_claim)


@pytest.mark.hub
@pytest.mark.claim("TF-8")
@pytest.mark.parametrize("ref", HUB_MAMBA + HUB_RWKV)
def test_hub_tf8(ref, options, claim, record_claim):
    spec = _hub_spec(ref)
    kind = "rwkv" if ref in HUB_RWKV else "mamba"
    _run_tf8(_kind_or_skip(spec, kind), kind, options, claim, record_claim)
