"""Exactness of the fast CPU selective scan (fixtures/mamba_scan.py).

Oracles: (1) transformers' own MambaMixer forward on the same weights (float64, forward and every
parameter gradient); (2) an independent float64 per-step loop written from the recurrence
h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t x_t, y_t = C_t·h_t, for the bare op with several chunk sizes.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.mamba_scan import fast_scan, is_patched, patch_fast_scan, selective_scan, unpatch_fast_scan

REL_TOL = 1e-6  # the float64 exactness bound (relative, forward and gradients)


def _rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def _tiny_mamba(seed=0, layers=2, hidden=16, state=4):
    from transformers import MambaConfig, MambaForCausalLM
    torch.manual_seed(seed)
    cfg = MambaConfig(vocab_size=53, hidden_size=hidden, state_size=state, num_hidden_layers=layers,
                      expand=2, conv_kernel=3, time_step_rank=4)
    m = MambaForCausalLM(cfg).double()
    with torch.no_grad():  # make Δ and A span a wide range so decays are far from 0 and 1
        for layer in m.backbone.layers:
            layer.mixer.dt_proj.bias.add_(torch.randn_like(layer.mixer.dt_proj.bias))
            layer.mixer.A_log.add_(0.5 * torch.randn_like(layer.mixer.A_log))
    return m


def _naive_scan(x, dt, A, B, C):
    b, D, T = x.shape
    h = torch.zeros(b, D, A.shape[-1], dtype=torch.float64)
    ys = []
    for t in range(T):
        h = torch.exp(dt[:, :, t, None] * A) * h + dt[:, :, t, None] * B[:, None, :, t] * x[:, :, t, None]
        ys.append((h * C[:, None, :, t]).sum(-1))
    return torch.stack(ys, -1)


def _model_run(m, ids, w):
    m.zero_grad(set_to_none=True)
    out = m.backbone(ids).last_hidden_state  # float64 (the LM head casts logits to float32)
    (out * w).sum().backward()
    return out.detach().clone(), {n: p.grad.clone() for n, p in m.named_parameters()}


@pytest.mark.parametrize("training", [False, True])
def test_patched_model_matches_reference_forward_and_grads(training):
    m = _tiny_mamba()
    m.train(training)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 53, (3, 37), generator=g)
    w = torch.randn(3, 37, 16, dtype=torch.float64, generator=g)
    names_before = [n for n, _ in m.named_parameters()]
    keys_before = list(m.state_dict())
    o_ref, g_ref = _model_run(m, ids, w)
    patch_fast_scan(m)
    assert is_patched(m)
    o_fast, g_fast = _model_run(m, ids, w)
    assert _rel(o_fast, o_ref) <= REL_TOL
    for n in g_ref:
        assert _rel(g_fast[n], g_ref[n]) <= REL_TOL, n
    # parameter names and state dict unchanged: the trained weights stay an ordinary MambaForCausalLM
    assert [n for n, _ in m.named_parameters()] == names_before
    assert list(m.state_dict()) == keys_before
    unpatch_fast_scan(m)
    assert not is_patched(m)


def test_context_manager_restores_and_cache_path_falls_through(tmp_path):
    m = _tiny_mamba(layers=1)
    ids = torch.randint(0, 53, (1, 9))
    with fast_scan(m):
        assert is_patched(m)
        # generation (with a cache) takes transformers' own path and still agrees
        gen_fast = m.generate(ids, max_new_tokens=4, do_sample=False)
        m.save_pretrained(tmp_path)
    assert not is_patched(m)
    gen_ref = m.generate(ids, max_new_tokens=4, do_sample=False)
    assert torch.equal(gen_fast, gen_ref)
    from transformers import MambaForCausalLM
    re = MambaForCausalLM.from_pretrained(tmp_path)
    assert type(re).__name__ == "MambaForCausalLM"


def test_patch_rejects_non_mamba():
    with pytest.raises(TypeError):
        patch_fast_scan(torch.nn.Linear(2, 2))


@settings(max_examples=12)
@given(b=st.integers(1, 3), D=st.integers(1, 6), T=st.integers(1, 23), N=st.integers(1, 5),
       chunk=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_bare_scan_matches_naive_loop(b, D, T, N, chunk, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, D, T, dtype=torch.float64, generator=g).requires_grad_()
    dt = (torch.rand(b, D, T, dtype=torch.float64, generator=g) * 3).requires_grad_()
    A = (-torch.rand(D, N, dtype=torch.float64, generator=g) * 5 - 1e-3).requires_grad_()
    B = torch.randn(b, N, T, dtype=torch.float64, generator=g).requires_grad_()
    C = torch.randn(b, N, T, dtype=torch.float64, generator=g).requires_grad_()
    w = torch.randn(b, D, T, dtype=torch.float64, generator=g)
    ins = (x, dt, A, B, C)
    y_ref = _naive_scan(*ins)
    g_ref = torch.autograd.grad((y_ref * w).sum(), ins)
    y = selective_scan(*ins, chunk_elements=chunk * b * D * N)
    gr = torch.autograd.grad((y * w).sum(), ins)
    assert _rel(y, y_ref) <= REL_TOL
    for a, r in zip(gr, g_ref):
        assert _rel(a, r) <= REL_TOL


def test_bare_scan_float32_close_and_dtype():
    g = torch.Generator().manual_seed(3)
    b, D, T, N = 2, 8, 50, 4
    args64 = [torch.randn(b, D, T, dtype=torch.float64, generator=g),
              torch.rand(b, D, T, dtype=torch.float64, generator=g),
              -torch.rand(D, N, dtype=torch.float64, generator=g) * 4,
              torch.randn(b, N, T, dtype=torch.float64, generator=g),
              torch.randn(b, N, T, dtype=torch.float64, generator=g)]
    y64 = selective_scan(*args64)
    y32 = selective_scan(*[a.float() for a in args64])
    assert y32.dtype == torch.float32 and y64.dtype == torch.float64
    assert _rel(y32.double(), y64) < 1e-5
