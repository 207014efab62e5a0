"""Probe correctness on tiny random-init GPT-2, GPT-NeoX, Llama and Qwen3 (QK-norm) models,
saved to a temp dir and loaded through the same local-directory path users take."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures.measure import run_pass
from fixtures.models import load_model, resolve
from probes.attention import diagonal_means
from probes.capture import attention_modules, attn_info, run_with_cache
from probes.geometry import ve_at_r
from tests.synthetic import tiny_model_dir

ATTN_ATOL = 1e-6  # float32 softmax of identical scores: differences are round-off only
KINDS = ["gpt2", "gpt_neox", "llama", "qwen3", "gemma3"]


@pytest.fixture(scope="module", params=KINDS)
def tiny(request, tmp_path_factory):
    d = tiny_model_dir(request.param, tmp_path_factory.mktemp(request.param))
    lm = load_model(resolve(str(d)))
    return request.param, lm


def ids(n=3, t=24, seed=0):
    return torch.randint(0, 256, (n, t), generator=torch.Generator().manual_seed(seed))


def test_local_dir_resolves_and_loads(tiny):
    kind, lm = tiny
    assert lm.spec.source == "local" and lm.provenance["weights_sha256"]
    assert attn_info(lm.model.config).model_type == {"gemma3": "gemma3_text"}.get(kind, kind)


def test_captured_qk_reproduce_the_models_own_attention(tiny):
    """softmax(q kᵀ/√d + causal mask) from captured post-RoPE q, k == returned weights."""
    kind, lm = tiny
    info = attn_info(lm.model.config)
    _, cache = run_with_cache(lm.model, ids())
    mods = attention_modules(lm.model)
    for li in range(info.n_layers):
        q, k, a = cache["q_post"][li], cache["k_post"][li], cache["attn"][li]
        k = k.repeat_interleave(info.group, dim=1)
        scale = getattr(mods[li], "scaling", None) or info.head_dim ** -0.5
        s = (q @ k.transpose(-1, -2)) * scale
        T = s.shape[-1]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        window = getattr(mods[li], "sliding_window", None)
        if window:  # Gemma3 local layers: keys older than the window are masked
            mask |= torch.tril(torch.ones(T, T, dtype=torch.bool), -window)
        s = s.masked_fill(mask, float("-inf"))
        torch.testing.assert_close(s.softmax(-1), a, atol=ATTN_ATOL, rtol=0)


def test_pre_and_post_rope_keys_relate_by_the_models_rotary(tiny):
    kind, lm = tiny
    info = attn_info(lm.model.config)
    _, cache = run_with_cache(lm.model, ids())
    pre, post = cache["k_pre"][0], cache["k_post"][0].transpose(1, 2)  # both [B,T,Hk,d]
    torch.testing.assert_close(pre.norm(dim=-1), post.norm(dim=-1), atol=1e-5, rtol=1e-5)  # rotation = isometry
    if not info.rope:
        torch.testing.assert_close(pre, post)
        return
    rd = info.rotary_dim
    torch.testing.assert_close(pre[..., rd:], post[..., rd:])  # pass-through dims untouched (Pythia: 75 %)
    torch.testing.assert_close(pre[:, 0], post[:, 0], atol=1e-6, rtol=1e-6)  # position 0: rotation by angle 0
    assert not torch.allclose(pre[:, 1:, :, :rd], post[:, 1:, :, :rd])


@pytest.mark.parametrize("kind", ["qwen3", "gemma3"])  # k_norm before / after the head transpose
def test_qk_norm_keys_are_the_k_norm_output(tmp_path, kind):
    lm = load_model(resolve(str(tiny_model_dir(kind, tmp_path))))
    _, cache = run_with_cache(lm.model, ids())
    raw, normed = cache["k_raw"][0], cache["k_pre"][0]
    attn = lm.model.model.layers[0].self_attn
    expect = attn.k_norm(raw)
    torch.testing.assert_close(normed, expect)
    post = cache["k_post"][0].transpose(1, 2)
    torch.testing.assert_close(normed[:, 0], post[:, 0], atol=1e-6, rtol=1e-6)  # RoPE at position 0 is identity


def test_run_pass_reductions_match_direct_computation(tiny):
    kind, lm = tiny
    x = ids(5, 32, seed=1)
    m = run_pass(lm.model, x, batch_size=2, label=kind, progress=False)
    _, cache = run_with_cache(lm.model, x)
    for li in range(m.n_layers):
        a = cache["attn"][li].double()
        np.testing.assert_allclose(m.colsum[li], a.sum(-2).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(m.last_row[li], a[..., -1, :].numpy(), rtol=1e-5, atol=1e-7)
        k = cache["k_pre"][li].double()
        np.testing.assert_allclose(m.key_norms_pre[li], k.norm(dim=-1).numpy(), rtol=1e-5)
        ve8 = ve_at_r(k.permute(0, 2, 1, 3), 8).numpy()
        np.testing.assert_allclose(m.ve_pre[li][..., 7], ve8, rtol=1e-9)
    np.testing.assert_allclose(m.max_share().max(), m.max_share().max())  # finite


def test_diagonal_means_oracle():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 10, 10, generator=g).tril()
    got = diagonal_means(a)
    for d in range(10):
        want = torch.stack([a[..., t, t - d] for t in range(d, 10)], -1).mean(-1)
        torch.testing.assert_close(got[..., d], want)


def test_nan_activations_give_a_clear_error(tmp_path):
    from suite.errors import ActivationError

    lm = load_model(resolve(str(tiny_model_dir("llama", tmp_path))))
    with torch.no_grad():
        lm.model.model.layers[1].self_attn.k_proj.weight[0, 0] = float("nan")
    with pytest.raises(ActivationError, match="non-finite values .*--dtype float32"):
        run_pass(lm.model, ids(), label="nan-model", progress=False)


def test_model_fixture_gives_same_numbers_as_second_load(tmp_path):
    """Determinism: two loads of the same directory measure identically (cache keys are sound)."""
    d = tiny_model_dir("gpt_neox", tmp_path)
    m1 = run_pass(load_model(resolve(str(d))).model, ids(), label="a", progress=False)
    m2 = run_pass(load_model(resolve(str(d))).model, ids(), label="b", progress=False)
    np.testing.assert_array_equal(m1.colsum, m2.colsum)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_one_non_finite_value_is_caught_through_the_reduced_statistics(bad):
    """Finiteness is checked on what each hook reduces to (issue 26: a full isfinite pass per tensor cost 6 %
    of the real pass): one NaN or ±inf anywhere in a key, an attention row or a residual stream still ends
    in the one-line error."""
    from fixtures.measure import Reducer
    from fixtures.residual import StatsReducer
    from probes.capture import AttnInfo
    from suite.errors import ActivationError

    info = AttnInfo(model_type="llama", n_layers=1, n_heads=2, n_kv_heads=1, head_dim=8, rope=False, rotary_dim=0,
                    rope_theta=None, max_positions=16, qk_norm=False)
    red = Reducer(info, 2, 10, "m", "float32")
    red.sl = slice(0, 2)
    keys = torch.randn(2, 10, 1, 8)
    red.on_key_pre(0, "k_pre", keys)  # finite: no error
    keys[1, 3, 0, 2] = bad
    with pytest.raises(ActivationError, match="keys"):
        red.on_key_pre(0, "k_pre", keys)
    ared = Reducer(info, 2, 10, "m", "float32", keys=False)
    ared.sl = slice(0, 2)
    w = torch.softmax(torch.randn(2, 2, 10, 10), -1)
    ared.on_attention(0, None, None, w)
    w[0, 1, 4, 2] = bad
    with pytest.raises(ActivationError, match="attention weights"):
        ared.on_attention(0, None, None, w)
    sred = StatsReducer(2, 6, 2, 2, "m")
    sred.sl = slice(0, 2)
    h = torch.randn(2, 6, 5)
    sred.on_stream(0, h)
    h[1, 2, 3] = bad
    with pytest.raises(ActivationError, match="residual stream 0"):
        sred.on_stream(0, h)
    # the logits (and a clamp pass's attention weights) are read from their min and max, not a full mask
    from fixtures.residual import check_finite

    logits = torch.randn(2, 7, 50)
    check_finite(logits, "logits", "m", "float32")
    check_finite(logits[:0], "logits", "m", "float32")  # nothing to check
    logits[1, 6, 49] = bad
    with pytest.raises(ActivationError, match="logits"):
        check_finite(logits, "logits", "m", "float32")
