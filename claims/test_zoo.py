"""Claims on the trained-here zoo (fixtures/zoo.py): PR-1, SC-1, AR-1, AR-2, AR-3; and the same claims
on the open hub checkpoints where they can be had (AttnRes 0.6B, PolyPythias seed twins).

The zoo trains once per machine (``make zoo``: ≈23 min on 2 cores, then cached under
``fixtures.models.cache_root()/zoo``); ``--retrain`` forces it, ``--zoo smoke`` reads the self-tests' cut.
"""
from __future__ import annotations

import pytest

from claims import checks_zoo
from suite.outcome import conclude

HUB_ATTNRES = "wdlctc/open-attnres-0.6b-block"
# PolyPythias (van der Wal et al. 2025): 160M Pythia retrained with other seeds
HUB_TWINS = {"base": "EleutherAI/pythia-160m", "weight": "EleutherAI/pythia-160m-weight-seed1",
             "data": "EleutherAI/pythia-160m-data-seed1", "both": "EleutherAI/pythia-160m-seed1"}


@pytest.mark.zoo
@pytest.mark.claim("PR-1")
def test_pr1_brake_ordering(claim, options, record_claim):
    from fixtures.zoo import training_curves
    from fixtures.zoo_measure import transformer_measurement

    from fixtures import zoo

    c = claim("PR-1")
    schemes = {k: transformer_measurement(k, options) for k in c.param("order")}
    sweep = {float(s): transformer_measurement("alibi", options, slope_scale=float(s)).max_share()
             for s in c.param("slope_scales")}
    # the hard null of training chance: the RoPE entry and its seed twins (the SC-1 measurements)
    family = [zoo.TWIN_BASE, *zoo.TWINS.values()]
    seed_family = {n: transformer_measurement(n, options).max_share() for n in family}
    prov = {k: {"recipe_hash": m.provenance.get("recipe_hash"), "val_loss": m.provenance.get("val_loss"),
                "unigram_loss": m.provenance.get("unigram_loss"), "nll_measured": m.nll} for k, m in schemes.items()}
    base = dict(schemes["rope"].provenance)
    base["entries"] = prov
    result = record_claim(checks_zoo.check_pr1(c, {k: m.max_share() for k, m in schemes.items()}, sweep, seed_family,
                                               {k: checks_zoo.measurement_gain(m) for k, m in schemes.items()},
                                               seed=options.seed, provenance=base, curves=training_curves(options)))
    conclude(result)


@pytest.mark.zoo
@pytest.mark.claim("SC-1")
def test_sc1_seed_twins_same_geometry_other_direction(claim, options, record_claim):
    from fixtures import zoo
    from fixtures.zoo_measure import transformer_measurement, twin_cross_moments

    c = claim("SC-1")
    r = c.param("rank")
    base = transformer_measurement(zoo.TWIN_BASE, options)
    twins, gains = {}, {zoo.TWIN_BASE: checks_zoo.measurement_gain(base)}
    for typ, name in zoo.TWINS.items():
        m = transformer_measurement(name, options)
        twins[typ] = (m.ve(r), m.key_covariance())
        gains[name] = checks_zoo.measurement_gain(m)
    moments = twin_cross_moments(zoo.TWIN_BASE, list(zoo.TWINS.values()), options)
    align = {typ: moments[name] for typ, name in zoo.TWINS.items()}
    prov = dict(base.provenance)
    prov["twins"] = {t: n for t, n in zoo.TWINS.items()}
    result = record_claim(checks_zoo.check_sc1(c, base.ve(r), base.key_covariance(), twins, gains, align,
                                               base.info.rotary_dim, seed=options.seed, provenance=prov))
    conclude(result)


@pytest.mark.zoo
@pytest.mark.claim("AR-1")
def test_ar1_attnres_concentrates_with_normalised_keys(claim, options, record_claim):
    from fixtures.zoo_measure import routing_measurement

    c = claim("AR-1")
    rm = routing_measurement("attnres", options, null_probes=c.param("null_probes"), null_seed=c.param("null_seed"))
    result = record_claim(checks_zoo.check_ar1(c, rm))
    conclude(result)


@pytest.mark.zoo
@pytest.mark.claim("AR-3")
def test_ar3_attnres_hubs_by_depth(claim, options, record_claim):
    from fixtures.zoo_measure import routing_measurement

    c = claim("AR-3")  # AR-1's measurement (same null parameters): no second pass
    rm = routing_measurement("attnres", options, null_probes=c.param("null_probes"), null_seed=c.param("null_seed"))
    result = record_claim(checks_zoo.check_ar3(c, rm))
    conclude(result)


@pytest.mark.zoo
@pytest.mark.claim("AR-2")
def test_ar2_recency_offset_relocates(claim, options, record_claim):
    from fixtures.zoo_measure import routing_measurement

    c = claim("AR-2")
    nulls = {"null_probes": c.param("null_probes"), "null_seed": c.param("null_seed")}
    sweep = {float(d): routing_measurement("attnres", options, offset=float(d), **(nulls if d == 0 else {}))
             for d in c.param("offsets")}
    result = record_claim(checks_zoo.check_ar2(c, sweep))
    conclude(result)


# ----------------------------------------------------------------------------- hub checkpoints
def _hub_or_skip(repo: str, trust_remote_code: bool = False):
    """Load a hub model, or skip with a reason that says how to run it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fixtures.models import in_local_hub_cache, hub_reachable

    if not in_local_hub_cache(repo) and not hub_reachable():
        pytest.skip(f"weights for {repo!r} are not available offline; run "
                    f"`pytest claims/test_zoo.py -m hub` on a machine that reaches huggingface.co")
    # reachable or cached: any loading error is a real error, not a skip
    model = AutoModelForCausalLM.from_pretrained(repo, dtype=torch.float32, attn_implementation="eager",
                                                 trust_remote_code=trust_remote_code).eval()
    tok = AutoTokenizer.from_pretrained(repo, trust_remote_code=trust_remote_code)
    return model, tok


@pytest.mark.hub
@pytest.mark.claim("AR-1", "AR-2", "AR-3")
def test_ar_on_open_attnres_checkpoint(claim, options, record_claim):
    from fixtures.data import wikitext_sequences
    from fixtures.zoo_measure import run_routing
    from suite.provenance import collect

    model, tok = _hub_or_skip(HUB_ATTNRES, trust_remote_code=True)
    data = wikitext_sequences(options, tok, HUB_ATTNRES)
    ids = data.input_ids
    c2 = claim("AR-2")
    sweep = {}
    for d in c2.param("offsets"):
        nulls = {"null_probes": c2.param("null_probes"), "null_seed": c2.param("null_seed")} if d == 0 else {}
        m = run_routing(model, ids, options.batch_size, offset=float(d), label=HUB_ATTNRES, **nulls)
        # functioning-model premise: the measured NLL against the unigram of the same windows
        m.provenance = collect(model=HUB_ATTNRES, revision=getattr(model.config, "_commit_hash", None),
                               dtype="float32", device="cpu", recency_offset=float(d), n_seqs=int(ids.shape[0]),
                               unigram_loss=data.unigram_nll, **nulls)
        sweep[float(d)] = m
    r1 = record_claim(checks_zoo.check_ar1(claim("AR-1"), sweep[0.0], HUB_ATTNRES))
    r2 = record_claim(checks_zoo.check_ar2(c2, sweep, HUB_ATTNRES))
    r3 = record_claim(checks_zoo.check_ar3(claim("AR-3"), sweep[0.0], HUB_ATTNRES))
    conclude(r1, r2, r3)


@pytest.mark.hub
@pytest.mark.claim("SC-1")
def test_sc1_on_polypythias(claim, options, record_claim):
    from fixtures.data import wikitext_sequences
    from fixtures.measure import measure
    from fixtures.models import WeightsUnavailable, load_model, resolve
    from fixtures.zoo_measure import key_cross_moments_many

    c = claim("SC-1")
    r = c.param("rank")
    ms = {}
    for typ, repo in HUB_TWINS.items():
        try:
            ms[typ] = measure(resolve(repo), options)
        except WeightsUnavailable as exc:
            pytest.skip(f"{exc} — for this test: `pytest claims/test_zoo.py -m hub -k polypythias` where "
                        f"huggingface.co is reachable")
    gains = {HUB_TWINS[t]: checks_zoo.measurement_gain(m) for t, m in ms.items()}
    base = ms.pop("base")
    twins = {t: (m.ve(r), m.key_covariance()) for t, m in ms.items()}
    # the hard null needs both models' keys on the same tokens (the four share one tokenizer)
    lb = load_model(resolve(HUB_TWINS["base"]))
    ids = wikitext_sequences(options, lb.tokenizer, HUB_TWINS["base"]).input_ids
    names = list(twins)
    moments = key_cross_moments_many(lb.model, [load_model(resolve(HUB_TWINS[t])).model for t in names], ids,
                                     options.batch_size)  # one pass of the base for all twins
    align = dict(zip(names, moments))
    result = record_claim(checks_zoo.check_sc1(c, base.ve(r), base.key_covariance(), twins, gains, align,
                                               base.info.rotary_dim, seed=options.seed,
                                               model_label="PolyPythias pythia-160m seed twins",
                                               provenance=dict(base.provenance)))
    conclude(result)
