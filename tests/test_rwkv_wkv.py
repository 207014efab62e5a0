"""Exactness of the fast WKV used to train the zoo's RWKV-4 (fixtures/rwkv_wkv.py, issue 26).

Oracles: (1) an independent float64 direct sum of the WKV formula (Peng et al. 2023, eq. 14) with
log-sum-exp, for the bare op, forward and every gradient, at several lengths;
(2) transformers' own CPU recurrence (``rwkv_linear_attention_cpu``, float32 inside) on the same inputs;
(3) a tiny ``RwkvForCausalLM``: loss and every parameter gradient with and without :func:`fast_wkv`.
"""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.models.rwkv import modeling_rwkv

from fixtures import rwkv_wkv
from fixtures.rwkv_wkv import fast_wkv, past_sums, wkv

F64_TOL = 1e-10  # float64 against the float64 oracle (relative norm)
F32_TOL = 1e-5  # float32 against transformers' float32 loop: round-off of T-term sums (measured ≤ 2e-6)


def _rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def _oracle(time_decay, time_first, k, v):
    """wkv_t = softmax_i(E_ti) · v_i with E_ti = -(t-1-i)e^{time_decay} + k_i (i < t), time_first + k_t (i = t)."""
    B, T, C = k.shape
    t = torch.arange(T, dtype=k.dtype)
    dist = t[:, None] - 1 - t[None, :]
    e = -dist.clamp(min=0)[None, None] * torch.exp(time_decay)[None, :, None, None] + k.permute(0, 2, 1)[:, :, None, :]
    diag = (time_first[None, :, None] + k.permute(0, 2, 1))  # [B,C,T]
    e = torch.where(dist[None, None] < 0, torch.full_like(e, -torch.inf), e)
    e = torch.where(torch.eye(T, dtype=torch.bool)[None, None], diag[..., None].expand_as(e), e)
    return torch.einsum("bcti,bic->btc", torch.softmax(e, -1), v)


def _inputs(B, T, C, seed, dtype=torch.float64, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s, sc=1.0: (sc * torch.randn(*s, generator=g, dtype=dtype)).requires_grad_()
    return mk(C), mk(C), mk(B, T, C, sc=scale), mk(B, T, C)


def _grads(out, args, seed):
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=out.dtype)
    return torch.autograd.grad((out * g).sum(), args)


@settings(max_examples=15, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(2, 40), C=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_wkv_matches_float64_oracle_forward_and_grads(B, T, C, seed):
    args = _inputs(B, T, C, seed)
    fast, ref = wkv(*args), _oracle(*args)
    assert fast is not None and fast.dtype == torch.float64
    assert _rel(fast, ref) < F64_TOL
    for name, a, b in zip(("time_decay", "time_first", "key", "value"), _grads(fast, args, seed), _grads(ref, args, seed)):
        assert _rel(a, b) < F64_TOL, name


@pytest.mark.parametrize("T", [1, 2, 7, 8, 9, 33, 64, 128, 130])
def test_past_sums_any_length(T):
    g = torch.Generator().manual_seed(T)
    w = torch.rand(3, generator=g, dtype=torch.float64) * 3
    x = torch.randn(2, T, 3, generator=g, dtype=torch.float64)
    t = torch.arange(T, dtype=torch.float64)
    d = t[:, None] - 1 - t[None, :]
    brute = torch.einsum("tic,zic->ztc", torch.exp(-d.clamp(min=0)[..., None] * w) * (d >= 0)[..., None], x)
    assert _rel(past_sums(w, x), brute) < F64_TOL


def test_float32_matches_transformers_loop():
    args = _inputs(4, 128, 32, seed=3, dtype=torch.float32)
    fast = wkv(*args)
    ref, _ = modeling_rwkv.rwkv_linear_attention_cpu(*args)
    assert fast.dtype == torch.float32 and _rel(fast, ref) < F32_TOL
    for a, b in zip(_grads(fast, args, 3), _grads(ref, args, 3)):
        assert _rel(a, b) < F32_TOL


def test_out_of_range_terms_fall_back_to_the_loop(monkeypatch):
    """Keys spanning more than float32 holds: the fast op declines and the patched call runs the loop."""
    td, tf, k, v = _inputs(1, 16, 2, seed=5, dtype=torch.float32)
    with torch.no_grad():
        k[0, -1] += 200.0  # the last key e^{200} above the rest: every earlier denominator underflows after the shift
    assert wkv(td, tf, k, v) is None
    calls = []
    monkeypatch.setattr(rwkv_wkv, "_REFERENCE", lambda *a, **kw: calls.append(1) or modeling_rwkv.rwkv_linear_attention_cpu(*a, **kw))
    out, _ = rwkv_wkv._fast(td, tf, k, v)
    ref, _ = modeling_rwkv.rwkv_linear_attention_cpu(td, tf, k, v)
    assert calls and torch.equal(out, ref)


def _tiny_rwkv(seed=0):
    from transformers import RwkvConfig, RwkvForCausalLM
    torch.manual_seed(seed)
    m = RwkvForCausalLM(RwkvConfig(vocab_size=61, hidden_size=16, num_hidden_layers=2, attention_hidden_size=16,
                                   intermediate_size=32, context_length=32))
    with torch.no_grad():  # decays and bonuses far from their init, so every term matters
        for blk in m.rwkv.blocks:
            blk.attention.time_decay.normal_(0, 1.5)
            blk.attention.time_first.normal_(0, 1.0)
    return m


def test_patched_model_matches_reference_loss_and_grads():
    m = _tiny_rwkv()
    ids = torch.randint(0, 61, (3, 32), generator=torch.Generator().manual_seed(0))
    params = [p for p in m.parameters() if p.requires_grad]

    def run():
        loss = m(input_ids=ids, labels=ids).loss
        return loss.detach(), torch.autograd.grad(loss, params)

    ref_loss, ref_g = run()
    with fast_wkv():
        assert modeling_rwkv.rwkv_linear_attention is rwkv_wkv._fast
        loss, g = run()
    assert modeling_rwkv.rwkv_linear_attention is rwkv_wkv._REFERENCE  # restored on exit
    assert abs(loss.item() - ref_loss.item()) < F32_TOL * abs(ref_loss.item())
    for (name, _), a, b in zip(((n, p) for n, p in m.named_parameters() if p.requires_grad), g, ref_g):
        assert _rel(a, b) < 10 * F32_TOL, name


def test_stateful_calls_fall_through():
    """Generation (a state, one token) keeps transformers' own path."""
    m = _tiny_rwkv().eval()
    ids = torch.randint(0, 61, (1, 5), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = m(input_ids=ids, use_cache=True)
        with fast_wkv():
            out = m(input_ids=ids, use_cache=True)
    assert torch.equal(out.logits, ref.logits)
