"""Speed of the fast CPU selective scan (fixtures/mamba_scan.py) against transformers' reference path.

Workload = one training step (forward + backward + nothing else) of the zoo's Mamba entry:
6 layers, width 128, state 16, expand 2, vocab 4096, batch 16 x 128 tokens, float32.

    .venv/bin/python benchmarks/bench_mamba_scan.py [--threads 2] [--ref-steps 1] [--fast-steps 5]

Prints seconds per step for both paths, tokens/s and the speed-up (target >= 30x), plus the
max relative difference of the loss and of the gradients between the two paths on the same batch.
"""

from __future__ import annotations

import argparse
import time

import common  # noqa: F401  (the repository on sys.path)
import torch
from transformers import MambaConfig, MambaForCausalLM
from transformers.utils import logging as hf_logging

from fixtures.mamba_scan import patch_fast_scan, unpatch_fast_scan

TARGET_SPEEDUP = 30.0


def step(model, ids):
    model.zero_grad(set_to_none=True)
    loss = model(ids, labels=ids).loss
    loss.backward()
    return loss.detach()


def timed(model, ids, n):
    step(model, ids)  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        loss = step(model, ids)
    return (time.perf_counter() - t0) / n, loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ref-steps", type=int, default=1)
    ap.add_argument("--fast-steps", type=int, default=5)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=128)
    a = ap.parse_args(argv)
    hf_logging.set_verbosity_error()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = MambaConfig(vocab_size=4096, hidden_size=a.width, state_size=16, num_hidden_layers=a.layers,
                      expand=2)
    model = MambaForCausalLM(cfg).train()
    ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq_len))
    ntok = a.batch * a.seq_len

    t_ref, loss_ref = timed(model, ids, a.ref_steps)
    g_ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    patch_fast_scan(model)
    t_fast, loss_fast = timed(model, ids, a.fast_steps)
    g_fast = {n: p.grad.clone() for n, p in model.named_parameters()}
    unpatch_fast_scan(model)
    grad_rel = max(((g_fast[k] - g_ref[k]).norm() / g_ref[k].norm().clamp_min(1e-30)).item() for k in g_ref)

    print(f"workload: {a.layers} layers, width {a.width}, D={cfg.intermediate_size}, N={cfg.state_size}, "
          f"batch {a.batch}x{a.seq_len}, float32, {a.threads} threads")
    print(f"reference path : {t_ref:8.3f} s/step  {ntok / t_ref:9.0f} tokens/s  ({a.ref_steps} steps)")
    print(f"fast scan      : {t_fast:8.3f} s/step  {ntok / t_fast:9.0f} tokens/s  ({a.fast_steps} steps)")
    speedup = t_ref / t_fast
    print(f"speed-up       : {speedup:8.1f}x  (target >= {TARGET_SPEEDUP:.0f}x: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})")
    print(f"float32 agreement: |loss diff| = {abs(loss_fast - loss_ref).item():.2e}, "
          f"max grad rel diff = {grad_rel:.2e}")


if __name__ == "__main__":
    main()
