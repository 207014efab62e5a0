"""Peak memory of the audit's passes against the size of the weights (issue 25: memory that scales with the
model, not with the vocabulary or the sequence count; target on the CPU: peak RSS ≤ weights + 1 GiB).

For each model and dtype, a fresh child process loads the model (the one-time GGUF conversion is done
before, and not counted), then runs the passes a model-scoped audit makes on the audit's text (150 × 128
by default): the real pass (attention, keys, A[t,0], every residual stream, the loss), the token-shuffled
pass, one θ-sweep point (BK-1) and one clamp pass with its loss (MA-3). It reads the peak RSS of those passes
(Linux: the VmHWM mark reset just before them) and, on a GPU, ``torch.cuda.max_memory_allocated``.
``--full-logits`` holds each batch's logits whole, as the loss was computed before the chunked LM head
(:mod:`fixtures.lm_loss`), for the comparison.

    .venv/bin/python benchmarks/bench_memory.py [--model smollm2-135m --model gemma-3-270m]
        [--dtype float32 --dtype bfloat16] [--device cpu] [--full-logits] [--n-seqs 150]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import common
import torch

from fixtures import lm_loss
from fixtures.data import shuffle_tokens
from fixtures.measure import STREAM_TOP_K, run_pass
from fixtures.residual import clamp_pass
from fixtures.rope import sweep_points

TARGET_HEADROOM_GIB = 1.0
MODELS = ("smollm2-135m", "gemma-3-270m")


def child(a) -> dict:
    """The passes in this process; returns the figures as a dict."""
    if a.full_logits:
        lm_loss.CHUNK_BYTES = 1 << 62  # every position of a batch in one chunk: the whole [B, T, V] logits
    _, spec, lm, data = common.load_audit(a, dtype=a.dtype, device=a.device)
    model, ids, cuda = lm.model, data.input_ids, a.device.startswith("cuda")
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    rss_loaded = common.proc_status("VmRSS:")
    common.reset_peak_rss()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    real = run_pass(model, ids, a.batch_size, True, spec.label, a.dtype, keep_first_col=True,
                    stream_top_k=STREAM_TOP_K, progress=False)
    run_pass(model, shuffle_tokens(ids, 0), a.batch_size, False, spec.label, a.dtype, progress=False)
    sweep_points(model, ids, [4.0], a.batch_size, spec.label, a.dtype, progress=False)
    streams = real.streams
    j, coord = streams.top_vals.shape[0] // 2, int(streams.top_idx[streams.top_vals.shape[0] // 2, 0, 0])
    clamp_pass(model, ids, {j: ([coord], [0.0])}, a.batch_size, spec.label, a.dtype, progress=False)
    return {"model": spec.label, "dtype": a.dtype, "device": a.device, "full_logits": a.full_logits,
            "vocab": int(model.get_output_embeddings().weight.shape[0]), "n_seqs": int(ids.shape[0]),
            "seq_len": int(ids.shape[1]), "batch_size": a.batch_size, "weights": weights, "rss_loaded": rss_loaded,
            "peak_rss": common.proc_status("VmHWM:"), "peak_gpu": torch.cuda.max_memory_allocated() if cuda else None,
            "lm_loss": real.provenance.get("lm_loss")}


def main():
    ap = common.audit_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    ap.add_argument("--dtype", action="append", default=None, help="float32 (default), bfloat16, float16; repeatable")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--full-logits", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.set_defaults(model=None)
    a = ap.parse_args()
    if a.child:
        a.dtype = a.dtype[0]
        print(json.dumps(child(a)))
        return
    models = [a.model] if a.model else list(MODELS)
    gib = 2 ** 30
    print(f"{a.n_seqs} × {a.seq_len} tokens, batch {a.batch_size}, {a.threads} threads, {a.device}"
          f"{', whole logits per batch' if a.full_logits else ''}; target: peak RSS ≤ weights + {TARGET_HEADROOM_GIB} GiB")
    for m in models:
        common.load_audit(argparse.Namespace(model=m, n_seqs=1, seq_len=a.seq_len, batch_size=1, threads=a.threads))
        for dtype in a.dtype or ["float32"]:
            cmd = [sys.executable, __file__, "--child", "--model", m, "--dtype", dtype, "--device", a.device,
                   "--n-seqs", str(a.n_seqs), "--seq-len", str(a.seq_len), "--batch-size", str(a.batch_size),
                   "--threads", str(a.threads)] + (["--full-logits"] if a.full_logits else [])
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                print(f"{m} {dtype}: FAILED\n{r.stderr[-2000:]}")
                continue
            f = json.loads(r.stdout.strip().splitlines()[-1])
            limit = f["weights"] + TARGET_HEADROOM_GIB * gib
            verdict = "OK" if f["peak_rss"] <= limit else "MISSED"
            gpu = "" if f["peak_gpu"] is None else f", peak GPU {f['peak_gpu'] / gib:.2f} GiB"
            print(f"{m:14s} {dtype:9s} vocab {f['vocab']:6d}: weights {f['weights'] / gib:.2f} GiB, RSS after load "
                  f"{f['rss_loaded'] / gib:.2f} GiB, peak RSS of the passes {f['peak_rss'] / gib:.2f} GiB = weights + "
                  f"{(f['peak_rss'] - f['weights']) / gib:.2f} GiB ({verdict}){gpu}; loss: {f['lm_loss']}", flush=True)


if __name__ == "__main__":
    main()
