"""Self-tests of the trained-here zoo (fixtures/zoo.py, alibi.py, attnres.py, tokenizer.py) and
negative/positive controls of PR-1, SC-1, AR-1, AR-2 (claims/checks_zoo.py).

Everything here uses tiny models (2 layers, width 32, a few steps) trained in a temporary cache,
except the ``zoo``-marked test at the end, which needs the real zoo.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from claims import checks_zoo
from fixtures import zoo
from fixtures.alibi import GPTNeoXAlibiConfig, GPTNeoXAlibiForCausalLM, alibi_slopes
from fixtures.attnres import AttnResConfig, AttnResForCausalLM, capture_routing, recency_offset, source_counts
from suite.registry import registry

TINY = dict(n_layers=2, width=32, heads=2, ffn=64, steps=6, batch=4)
ANGLE_TOL = 1e-4  # degrees: float64 round-off of identical subspaces
LOGIT_TOL = 1e-5  # float32 round-off of logits


@pytest.fixture(scope="module")
def _tiny_root(tmp_path_factory):
    return tmp_path_factory.mktemp("zoo-cache")


@pytest.fixture
def tiny_cache(_tiny_root, monkeypatch):
    """A private cache root (shared by this module's tests) for the tiny trained models; only the
    tests that ask for it see it, so the ``zoo`` tests below use the real cache."""
    monkeypatch.setenv("COLLAPSE_CLAIMS_CACHE", str(_tiny_root))


def _tiny(name, **kw):
    return zoo.ZOO_ENTRIES[name].replace(**{**TINY, **kw})


def _cfg_kwargs(**kw):
    return dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                max_position_embeddings=64, **kw)


# ----------------------------------------------------------------------------- tokenizer / recipe / cache
def test_tokenizer_is_deterministic():
    from fixtures import tokenizer as ztok
    from suite.options import resolve_data_dir

    path = ztok.train_corpus_path(resolve_data_dir(None))
    a, b = ztok.train_bpe(path, 512), ztok.train_bpe(path, 512)
    assert ztok.tokenizer_json_hash(a) == ztok.tokenizer_json_hash(b)
    assert a.get_vocab_size() == 512


def test_recipes_differ_only_where_the_claim_needs():
    base = zoo.ZOO_ENTRIES["rope"]
    fields = lambda r: {k: v for k, v in r.__dict__.items()}  # noqa: E731
    for name, changed in {"nope": {"rotary"}, "alibi": {"arch", "rotary"}, "rope-seedw": {"weight_seed"},
                          "rope-seedd": {"data_seed"}, "rope-seedwd": {"weight_seed", "data_seed"}}.items():
        diff = {k for k, v in fields(zoo.ZOO_ENTRIES[name]).items() if fields(base)[k] != v}
        assert diff == changed, name


def test_entry_trains_once_then_loads_from_cache(tiny_cache, monkeypatch):
    r = _tiny("rope")
    d = zoo.zoo_entry_dir("rope-tiny", recipe=r, progress=False)
    info = zoo.entry_info(d)
    assert len(info["curve"]) == r.steps and info["val_loss"] > 0 and info["unigram_loss"] > 0

    def boom(*a, **k):
        raise AssertionError("retrained although cached")

    monkeypatch.setattr(zoo, "train_model", boom)
    assert zoo.zoo_entry_dir("rope-tiny", recipe=r, progress=False) == d
    monkeypatch.delenv("PYTEST_XDIST_TESTRUNUID", raising=False)
    monkeypatch.setattr(zoo, "_RUN_TOKEN", "a-later-session")
    with pytest.raises(AssertionError, match="retrained"):
        zoo.zoo_entry_dir("rope-tiny", recipe=r, retrain=True, progress=False)


def test_training_is_deterministic_and_seeds_matter(tiny_cache):
    from fixtures.zoo import _load_tok, tokenizer_dir, train_model

    ids = np.load(tokenizer_dir(4096) / "train_ids.npy")
    r = _tiny("rope", steps=3)
    a, ca, _ = train_model(r, ids, progress=False)
    b, cb, _ = train_model(r, ids, progress=False)
    c, cc, _ = train_model(r.replace(data_seed=1), ids, progress=False)
    assert ca == cb and ca != cc
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), ka
    assert _load_tok(tokenizer_dir(4096)) is not None


def test_unknown_entry_is_a_usage_error():
    from suite.errors import UsageError

    with pytest.raises(UsageError, match="unknown zoo entry 'rop'.*did you mean"):
        zoo.entry_recipe("rop")


# ----------------------------------------------------------------------------- positional schemes
def _last_logits_under_prefix_permutation(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 64, (1, 12), generator=g)
    perm = torch.cat([torch.randperm(11, generator=g), torch.tensor([11])])
    with torch.no_grad():
        a = model(input_ids=ids).logits[0, -1]
        b = model(input_ids=ids[:, perm]).logits[0, -1]
    return (a - b).abs().max().item()


def _shifted_positions_change(model):
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(1))
    pos = torch.arange(12)[None]
    with torch.no_grad():
        a = model(input_ids=ids, position_ids=pos).logits
        b = model(input_ids=ids, position_ids=pos * 3 + 5).logits  # not a shift: RoPE is shift-invariant
    return (a - b).abs().max().item()


@pytest.mark.parametrize("n_layers", [1, 2])
def test_nope_carries_no_position_signal(n_layers):
    """Proof that the NoPE entry's recipe carries no position signal: (a) its logits do not depend
    on the position ids at all (RoPE's do); (b) a one-layer NoPE model is a *set* function of the
    prefix — the last position's output is invariant under any permutation of the earlier tokens
    (RoPE's is not); deeper layers see position only through the causal mask's prefix structure."""
    nope = zoo.build_model(_tiny("nope").replace(vocab=64, n_layers=n_layers), attn="eager").eval()
    rope = zoo.build_model(_tiny("rope").replace(vocab=64, n_layers=n_layers), attn="eager").eval()
    assert all(layer.attention.rotary_ndims == 0 for layer in nope.gpt_neox.layers)
    assert _shifted_positions_change(nope) == 0.0
    assert _shifted_positions_change(rope) > 10 * LOGIT_TOL
    if n_layers == 1:
        assert _last_logits_under_prefix_permutation(nope) < LOGIT_TOL
        assert _last_logits_under_prefix_permutation(rope) > 10 * LOGIT_TOL


def test_alibi_slopes_are_the_standard_ones():
    assert alibi_slopes(8) == [2.0 ** -(i + 1) for i in range(8)]
    assert alibi_slopes(4) == [2.0 ** -(2 * (i + 1)) for i in range(4)]
    # non-power of two: the 4-head slopes, then every other 8-head slope (Press et al. reference code)
    assert alibi_slopes(6) == alibi_slopes(4) + alibi_slopes(8)[0::2][:2]


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_alibi_bias_reaches_the_attention_weights(scale):
    """With zero query/key weights the scores are the ALiBi bias alone, so each row of attention
    must be softmax(−m·(i−j)) over j ≤ i — read through the suite's own capture."""
    from probes.capture import run_with_cache

    cfg = GPTNeoXAlibiConfig(**_cfg_kwargs(rotary_pct=0.0), alibi_slope_scale=scale)
    cfg._attn_implementation = "eager"
    m = GPTNeoXAlibiForCausalLM(cfg).eval()
    with torch.no_grad():
        for layer in m.gpt_neox.layers:
            w = layer.attention.query_key_value.weight.view(4, 3, 8, 32)
            w[:, :2].zero_()
            layer.attention.query_key_value.bias.zero_()
    _, cache = run_with_cache(m, torch.randint(0, 64, (1, 10)), keep=("attn",))
    a = cache["attn"][0][0]  # [H,T,T]
    slopes = torch.tensor(alibi_slopes(4)) * scale
    i = torch.arange(10)
    dist = (i[:, None] - i[None]).float()
    logits = (-slopes[:, None, None] * dist).masked_fill(dist < 0, float("-inf"))
    assert torch.allclose(a, logits.softmax(-1), atol=1e-6)


def test_alibi_model_refuses_rotary():
    with pytest.raises(ValueError, match="rotary"):
        GPTNeoXAlibiForCausalLM(GPTNeoXAlibiConfig(**_cfg_kwargs(rotary_pct=0.25)))


# ----------------------------------------------------------------------------- AttnRes module
def _attnres(**kw):
    cfg = AttnResConfig(**_cfg_kwargs(rotary_pct=1.0), **kw)
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    return AttnResForCausalLM(cfg).eval()


def _route(m, ids, offset=0.0):
    got = []
    with torch.no_grad(), capture_routing(m, lambda i, n, w, k: got.append((w, k))), recency_offset(m, offset):
        m(input_ids=ids)
    return got


def test_attnres_starts_uniform_with_constant_key_norms():
    m = _attnres(attnres_layers_per_block=1)
    ids = torch.randint(0, 64, (2, 9))
    got = _route(m, ids)
    assert [w.shape[0] for w, _ in got] == source_counts(2, 1) == [2, 2, 3, 3]
    for w, k in got:
        assert torch.allclose(w, torch.full_like(w, 1.0 / w.shape[0]))
        norms = k.double().norm(dim=-1)
        assert (norms.std() / norms.mean()).item() < registry()["AR-1"].param("cv_tolerance")


def test_attnres_routing_capture_matches_the_model():
    """Weights read by the hook, applied to the sources, reproduce the model's own logits."""
    m = _attnres(attnres_layers_per_block=1)
    with torch.no_grad():
        for p in m.parameters():
            if p.ndim == 2 and p.shape[0] == 1:
                p.normal_(0, 0.5)  # non-trivial queries
    ids = torch.randint(0, 64, (2, 9))
    got = _route(m, ids)
    # replay the forward with the captured weights in place of the model's routing
    import fixtures.attnres as ar

    it = iter(got)
    orig = ar.depth_route

    def replay(sources, proj, norm, bias):
        w, _ = next(it)
        return torch.einsum("nbt,nbtd->btd", w, torch.stack(sources, 0))

    try:
        ar.depth_route = replay
        with torch.no_grad():
            replayed = m(input_ids=ids).logits
    finally:
        ar.depth_route = orig
    with torch.no_grad():
        assert (replayed - m(input_ids=ids).logits).abs().max().item() < LOGIT_TOL


def test_recency_offset_is_applied_and_undone():
    m = _attnres(attnres_layers_per_block=1)
    ids = torch.randint(0, 64, (1, 7))
    plus = _route(m, ids, offset=30.0)
    assert all(w[-1].min().item() > 0.999 for w, _ in plus)
    assert all(float(b) == 0.0 for *_, b in __import__("fixtures.attnres", fromlist=["routers"]).routers(m))


def test_attnres_saves_and_loads_through_auto_classes(tmp_path):
    from transformers import AutoModelForCausalLM

    m = _attnres(attnres_layers_per_block=1)
    m.save_pretrained(tmp_path)
    m2 = AutoModelForCausalLM.from_pretrained(tmp_path, attn_implementation="eager").eval()
    ids = torch.randint(0, 64, (1, 7))
    with torch.no_grad():
        assert (m(input_ids=ids).logits - m2(input_ids=ids).logits).abs().max().item() < LOGIT_TOL


# ----------------------------------------------------------------------------- PR-1 controls
def _profile_ms(profile, n=20, h=2, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    p = np.asarray(profile, dtype=float)[:, None, None]
    return np.clip(p + noise * rng.standard_normal((len(profile), n, h)), 0, 1)


def test_onset_depth_interpolates_and_censors():
    assert checks_zoo.onset_depth([0.1, 0.3, 0.6], 0.2) == pytest.approx(1.5)
    assert checks_zoo.onset_depth([0.25, 0.3], 0.2) == 1.0
    assert checks_zoo.onset_depth([0.1, 0.1, 0.1], 0.2) == 4.0


def _pr1_inputs(order_profiles, sweep_profiles):
    schemes = {k: _profile_ms(p, seed=i) for i, (k, p) in enumerate(order_profiles.items())}
    sweep = {s: _profile_ms(p, seed=10 + i) for i, (s, p) in enumerate(sweep_profiles.items())}
    return schemes, sweep


def test_pr1_positive_control():
    early, mid, late = [0.1, 0.4, 0.6, 0.7], [0.1, 0.15, 0.4, 0.6], [0.05, 0.1, 0.15, 0.3]
    schemes, sweep = _pr1_inputs({"nope": early, "rope": mid, "alibi": late}, {0.0: early, 1.0: mid, 8.0: late})
    r = checks_zoo.check_pr1(registry()["PR-1"], schemes, sweep)
    assert r.verdict == "reproduced", r.message()


@pytest.mark.parametrize("case", ["reversed", "tied", "sweep-flat"])
def test_pr1_negative_controls(case):
    early, mid, late = [0.1, 0.4, 0.6, 0.7], [0.1, 0.15, 0.4, 0.6], [0.05, 0.1, 0.15, 0.3]
    prof = {"reversed": {"nope": late, "rope": mid, "alibi": early},
            "tied": {"nope": mid, "rope": mid, "alibi": mid},
            "sweep-flat": {"nope": early, "rope": mid, "alibi": late}}[case]
    sw = {0.0: mid, 1.0: mid, 8.0: mid} if case == "sweep-flat" else {0.0: early, 8.0: late}
    schemes, sweep = _pr1_inputs(prof, sw)
    if case == "sweep-flat":
        sweep = {s: _profile_ms(mid, seed=3) for s in sw}  # identical profiles: the sweep moves nothing
    r = checks_zoo.check_pr1(registry()["PR-1"], schemes, sweep)
    assert r.verdict == "not reproduced", r.message()


# ----------------------------------------------------------------------------- SC-1 controls
def test_random_subspace_baseline_against_exact_moment():
    """Independent oracle: for uniformly random r-dim subspaces of R^d, E[Σ cos²θ_i] = r²/d exactly.
    (The mean angle itself is 72.2° at d=64, r=8 by this simulation; CLAIMS.md quotes ≈74.5°.)"""
    from scipy.linalg import subspace_angles

    rng = np.random.default_rng(0)
    d, r, reps = 64, 8, 400
    c2 = []
    for _ in range(reps):
        a, _ = np.linalg.qr(rng.standard_normal((d, r)))
        b, _ = np.linalg.qr(rng.standard_normal((d, r)))
        c2.append((np.cos(subspace_angles(a, b)) ** 2).sum())
    c2 = np.asarray(c2)
    assert abs(c2.mean() - r * r / d) < 4 * c2.std(ddof=1) / np.sqrt(reps)
    mean, se = checks_zoo.random_subspace_angle(d, r, reps, 0)
    assert 60 < mean < 80 and se < 0.5


def _sc1_synthetic(same_direction: bool, ve_shift: float, seed=0):
    rng = np.random.default_rng(seed)
    L, N, H, d = 3, 20, 2, 16

    def cov():
        a = rng.standard_normal((L, H, d, d))
        return np.einsum("lhij,lhkj->lhik", a, a) + np.diag(np.linspace(50, 1, d))[None, None] * 0

    ve = 0.5 + 0.01 * rng.standard_normal((L, N, H))
    c1 = cov()
    c2 = c1.copy() if same_direction else cov()
    return ve, c1, {"weight": (ve + ve_shift, c2)}


def test_sc1_positive_control():
    ve, c, tw = _sc1_synthetic(False, 0.0)
    r = checks_zoo.check_sc1(registry()["SC-1"], ve, c, tw)
    assert r.verdict == "reproduced", r.message()


def test_sc1_identical_seeds_give_zero_angles(tiny_cache):
    """Negative control on real (tiny) trained models: the same seeds give the same weights, hence
    0° canonical angles — the claim's 'different directions' must fail."""
    from fixtures.data import wikitext_sequences
    from fixtures.measure import run_pass
    from fixtures.zoo import _load_tok, tokenizer_dir, train_model
    from fixtures.zoo_measure import attn_info_for

    ids = np.load(tokenizer_dir(4096) / "train_ids.npy")
    tok = _load_tok(tokenizer_dir(4096))
    from types import SimpleNamespace

    from suite.options import resolve_data_dir

    val = wikitext_sequences(SimpleNamespace(n_seqs=8, seq_len=32, data_dir=resolve_data_dir(None)), tok).input_ids
    r = _tiny("rope", steps=2)
    ms = []
    for _ in range(2):
        model, _, _ = train_model(r, ids, progress=False)
        model.config._attn_implementation = "eager"
        ms.append(run_pass(model, val, 8, label="tiny", info=attn_info_for(model, "tiny"), progress=False))
    a, b = ms
    angles = checks_zoo.mean_canonical_angles(a.key_covariance(), b.key_covariance(), 8)
    assert angles.max() < ANGLE_TOL
    res = checks_zoo.check_sc1(registry()["SC-1"], a.ve(8), a.key_covariance(), {"none": (b.ve(8), b.key_covariance())})
    assert res.verdict == "not reproduced", res.message()


def test_sc1_negative_control_geometry_differs():
    ve, c, tw = _sc1_synthetic(False, 0.3)
    r = checks_zoo.check_sc1(registry()["SC-1"], ve, c, tw)
    assert r.verdict == "not reproduced", r.message()


# ----------------------------------------------------------------------------- AR-1 / AR-2 controls
def _synthetic_routing(shares_fn, counts, cv=0.0, n=30, seed=0, noise=0.01):
    from fixtures.zoo_measure import RoutingMeasurement

    rng = np.random.default_rng(seed)
    shares = []
    for j, c in enumerate(counts):
        s = np.abs(shares_fn(j, c)[None, :] + noise * rng.standard_normal((n, c)))
        shares.append(s / s.sum(1, keepdims=True))
    return RoutingMeasurement(label="synthetic", names=[f"s{j}" for j in range(len(counts))], shares=shares,
                              key_norm_cv=np.full(len(counts), cv), key_norm_mean=np.ones(len(counts)))


COUNTS = source_counts(4, 1)


def _peaked(hub):
    def f(j, c):
        v = np.full(c, 0.2 / max(c - 1, 1))
        v[hub if c > 1 else 0] = 0.8
        return v
    return f


def test_ar1_positive_and_negative_controls():
    claim = registry()["AR-1"]
    assert checks_zoo.check_ar1(claim, _synthetic_routing(_peaked(-1), COUNTS)).verdict == "reproduced"
    uniform = _synthetic_routing(lambda j, c: np.full(c, 1.0 / c), COUNTS, noise=0.0)
    assert checks_zoo.check_ar1(claim, uniform).verdict == "not reproduced"
    unnormalised = _synthetic_routing(_peaked(-1), COUNTS, cv=0.05)  # keys with a norm spread
    assert checks_zoo.check_ar1(claim, unnormalised).verdict == "not reproduced"


def test_ar1_frozen_query_never_concentrates(tiny_cache):
    """A real (tiny) AttnRes trained with its query frozen at zero routes uniformly: AR-1 fails."""
    from fixtures.zoo_measure import run_routing

    r = _tiny("attnres", extra={**zoo.ZOO_ENTRIES["attnres"].extra, "attnres_freeze_query": True}, steps=4)
    d = zoo.zoo_entry_dir("attnres-frozen-tiny", recipe=r, progress=False)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(d), attn_implementation="eager").eval()
    ids = torch.randint(0, 4096, (6, 32), generator=torch.Generator().manual_seed(0))
    rm = run_routing(model, ids, 6, label="frozen")
    res = checks_zoo.check_ar1(registry()["AR-1"], rm)
    assert res.verdict == "not reproduced", res.message()
    sweep = {float(dl): run_routing(model, ids, 6, offset=float(dl), label="frozen") for dl in (-10.0, 0.0, 10.0)}
    res2 = checks_zoo.check_ar2(registry()["AR-2"], sweep)
    assert res2.verdict == "not reproduced", res2.message()  # −δ: uniform over the rest, nothing relocates


def test_ar2_positive_and_negative_controls():
    claim = registry()["AR-2"]

    def with_current(cur, rest_hub=None):
        def f(j, c):
            v = np.full(c, (1 - cur) / max(c - 1, 1))
            if rest_hub is not None and c > 1:
                v[:-1] = (1 - cur) * 0.1 / max(c - 2, 1)
                v[rest_hub] = (1 - cur) * 0.9
            v[-1] = cur if c > 1 else 1.0
            return v / v.sum()
        return f

    good = {-10.0: _synthetic_routing(with_current(0.001, 0), COUNTS, seed=1),
            0.0: _synthetic_routing(with_current(0.4, 1), COUNTS, seed=2),
            10.0: _synthetic_routing(with_current(0.999), COUNTS, seed=3)}
    assert checks_zoo.check_ar2(claim, good).verdict == "reproduced"
    dissolved = dict(good)
    dissolved[-10.0] = _synthetic_routing(with_current(0.001), COUNTS, seed=4, noise=0.0)  # uniform over the rest
    assert checks_zoo.check_ar2(claim, dissolved).verdict == "not reproduced"
    no_push = dict(good)
    no_push[10.0] = _synthetic_routing(with_current(0.4, 1), COUNTS, seed=5)
    assert checks_zoo.check_ar2(claim, no_push).verdict == "not reproduced"


def test_uniform_baseline_of_the_papers_schedule():
    """CLAIMS.md: 4 layers per block over 28 layers (sources 2…8) → 0.2454."""
    assert checks_zoo.uniform_baseline(source_counts(28, 4)) == pytest.approx(0.2454, abs=5e-5)
    assert math.isclose(checks_zoo.uniform_baseline([2, 3], drop_current=True), (1 + 0.5) / 2)


# ----------------------------------------------------------------------------- the real zoo
@pytest.mark.zoo
@pytest.mark.parametrize("name", list(zoo.ZOO_ENTRIES))
def test_zoo_entry_beats_the_unigram_baseline(name):
    info = zoo.entry_info(zoo.zoo_entry_dir(name))
    assert info["val_loss"] < info["unigram_loss"], (
        f"{name}: validation loss {info['val_loss']:.3f} is not below the unigram baseline {info['unigram_loss']:.3f}")
