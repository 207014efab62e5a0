"""Speed and peak memory of the Mamba hidden-attention reconstruction (probes/mamba.py).

One mamba-130m-sized layer of one sequence: D=1536 channels, N=16 states, T=128 tokens. Compares
``routing_matrix`` (channel-chunked, blocked bmm; never [T,T,D,N]) with the straightforward reference
(a Python loop over (t, s) pairs, vectorised over channels and states), on a channel subset for the
reference (extrapolated linearly in D, which is exact for a loop vectorised over D).

    .venv/bin/python benchmarks/bench_recurrent.py [--threads 1] [--dtype float64] [--ref-channels 192]

Targets: >= 20x faster than the loop; peak memory < 2 GiB (measured as the peak-RSS (VmHWM) increase of a
child process over its RSS just before the reconstruction; Linux /proc).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import common
import torch

from probes import mamba as pm

TARGET_SPEEDUP = 20.0
TARGET_PEAK_GIB = 2.0


def inputs(D, N, T, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    dt = torch.nn.functional.softplus(torch.randn(T, D, generator=g, dtype=torch.float64) - 2).to(dtype)
    A = -torch.arange(1, N + 1, dtype=dtype).expand(D, N).contiguous()
    return dt, A, torch.randn(T, N, generator=g, dtype=torch.float64).to(dtype), \
        torch.randn(T, N, generator=g, dtype=torch.float64).to(dtype)


def _child(D, N, T, dtype):
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    dt, A, B, C = inputs(D, N, T, getattr(torch, dtype))
    common.reset_peak_rss()
    base = common.proc_status("VmRSS:")
    pm.routing_matrix(dt, A, B, C)
    print((common.proc_status("VmHWM:") - base) / 2**30)  # GiB


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--D", type=int, default=1536)
    ap.add_argument("--N", type=int, default=16)
    ap.add_argument("--T", type=int, default=128)
    ap.add_argument("--ref-channels", type=int, default=192)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return _child(a.D, a.N, a.T, a.dtype)
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    dt, A, B, C = inputs(a.D, a.N, a.T, dtype)
    pm.routing_matrix(dt, A, B, C)  # warm-up
    times, cpu_times = [], []
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        R = pm.routing_matrix(dt, A, B, C)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    t_fast, c_fast = min(times), min(cpu_times)
    rc = min(a.ref_channels, a.D)
    t0, c0 = time.perf_counter(), time.process_time()
    ref = pm.hidden_attention_reference(dt[:, :rc], A[:rc], B, C)
    t_ref = (time.perf_counter() - t0) * a.D / rc
    c_ref = (time.process_time() - c0) * a.D / rc
    fast_sub = pm.routing_matrix(dt[:, :rc], A[:rc], B, C)
    err = float((fast_sub - ref.abs().mean(0)).abs().max() / ref.abs().mean(0).abs().max())
    env = dict(os.environ, BENCH_THREADS=str(a.threads))
    out = subprocess.run([sys.executable, __file__, "--child", "--D", str(a.D), "--N", str(a.N), "--T", str(a.T),
                          "--dtype", a.dtype], capture_output=True, text=True, env=env, check=True)
    peak = float(out.stdout.strip().splitlines()[-1])
    sp = t_ref / t_fast
    print(f"layer: D={a.D}, N={a.N}, T={a.T}, {a.dtype}, {a.threads} thread(s); R = mean_d |alpha| of one sequence")
    print(f"reference loop  : {t_ref:8.3f} s/layer (timed on {rc} channels, x{a.D / rc:.1f})")
    print(f"reconstruction  : {t_fast:8.3f} s/layer (best of {a.repeats})")
    print(f"speed-up        : {sp:8.1f}x  (target >= {TARGET_SPEEDUP:.0f}x: {'met' if sp >= TARGET_SPEEDUP else 'NOT met'})")
    print(f"peak memory     : {peak:8.3f} GiB above baseline  (target < {TARGET_PEAK_GIB} GiB: "
          f"{'met' if peak < TARGET_PEAK_GIB else 'NOT met'})")
    print(f"max rel. error vs reference on the timed channels: {err:.2e}; R sum {float(R.sum()):.4g}")
    # CPU time of this process (less sensitive than wall time to other jobs on a shared machine)
    print(f"cpu-time ratio  : {c_ref / c_fast:8.1f}x  (reference {c_ref:.3f} s, reconstruction {c_fast:.3f} s of CPU)")
    print(f"block length    : {pm._block_len(dt, A, None)} (guarded for {a.dtype}); channel tile "
          f"{pm.TILE_BYTES >> 10} KiB")
    if dtype != torch.float64:
        R64 = pm.routing_matrix(*(x.double() for x in (dt, A, B, C)))
        print(f"{a.dtype} R vs float64 R (whole layer): max rel. error {float((R.double() - R64).abs().max() / R64.max()):.2e}")


if __name__ == "__main__":
    main()
