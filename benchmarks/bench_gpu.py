"""The GPU check of issue 25, one prepared script (a few minutes on one H100-class GPU): for SmolLM2-135M and
gemma-3-270m, the model-scoped audit on ``cuda`` in float32 and bfloat16 — its wall time, the ratio of that to
one bare forward pass over the audit's windows, its verdicts against the committed CPU report
(``reports/<model>/latest.json``) — and the zoo's training tokens/s on the GPU.

Each audit runs in a fresh measurement cache (the converted models are shared), so the figures are cold
measurements. From the bare-pass throughput it prints an estimate of the paper's nine models' audit time
(GPT-2 small…XL, Pythia 160M…2.8B), scaled by parameter count, on one GPU and on a node of eight.

    .venv/bin/python benchmarks/bench_gpu.py --workdir /tmp/gpu [--models smollm2-135m,gemma-3-270m]
        [--dtypes float32,bfloat16] [--skip-zoo]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common
import torch

from fixtures.data import wikitext_sequences
from fixtures.models import load_model, resolve
from suite.cache import cache_root
from suite.options import RunOptions, resolve_data_dir

# parameters of the paper's nine transformers (§4, Table 1), for the time estimate
PAPER_PARAMS = {"gpt2": 124e6, "gpt2-medium": 355e6, "gpt2-large": 774e6, "gpt2-xl": 1.56e9, "pythia-160m": 162e6,
                "pythia-410m": 405e6, "pythia-1b": 1.01e9, "pythia-1.4b": 1.41e9, "pythia-2.8b": 2.78e9}
TARGET_NODE_MIN = 10.0  # the nine on a node of eight GPUs


def bare_pass_seconds(model_ref: str, dtype: str, n_seqs: int, seq_len: int, batch: int) -> tuple[float, int]:
    """Seconds of one forward pass (with the LM head) over the audit's windows on cuda, and the parameter count."""
    spec = resolve(model_ref)
    lm = load_model(spec, device="cuda", dtype=dtype)
    ids = wikitext_sequences(RunOptions(models=(model_ref,), n_seqs=n_seqs, seq_len=seq_len,
                                        data_dir=resolve_data_dir(None)), lm.tokenizer, spec.label).input_ids.cuda()
    with torch.no_grad():
        lm.model(input_ids=ids[:batch], use_cache=False)  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for s in range(0, ids.shape[0], batch):
            lm.model(input_ids=ids[s:s + batch], use_cache=False)
        torch.cuda.synchronize()
    return time.perf_counter() - t0, sum(p.numel() for p in lm.model.parameters())


def audit(model: str, dtype: str, workdir: Path) -> tuple[float, dict, int]:
    """Wall seconds of ``pytest claims/ --model <model> --device cuda --dtype <dtype>`` in a fresh measurement cache;
    its verdicts ``{(claim, model): verdict}``; its exit status."""
    root = workdir / f"{model}-{dtype}"
    cache = root / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for sub in ("models", "gguf"):  # the one-time GGUF conversion is shared; measurements are not
        if not (cache / sub).exists() and (cache_root() / sub).exists():
            (cache / sub).symlink_to(cache_root() / sub)
    env = dict(os.environ, COLLAPSE_CLAIMS_CACHE=str(cache), HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "claims/", "--model", model,
                        "--device", "cuda", "--dtype", dtype, "--report-dir", str(root / "reports")],
                       cwd=common.ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    found = sorted((root / "reports").glob("*/latest.json"))
    if not found:
        print(p.stdout[-3000:], p.stderr[-2000:])
        return wall, {}, p.returncode
    doc = json.loads(found[0].read_text())
    return wall, {(r["claim"], r["model"]): r["verdict"] for r in doc["results"]}, p.returncode


def cpu_verdicts(model: str) -> dict:
    path = common.ROOT / "reports" / model / "latest.json"
    if not path.is_file():
        return {}
    return {(r["claim"], r["model"]): r["verdict"] for r in json.loads(path.read_text())["results"]
            if r.get("scope") == "model"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--models", default="smollm2-135m,gemma-3-270m")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--n-seqs", type=int, default=150)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--skip-zoo", action="store_true")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this is the GPU check (run it where one is available)")
    print(f"device {torch.cuda.get_device_name(0)}, torch {torch.__version__}, {a.n_seqs} × {a.seq_len} tokens", flush=True)
    tokens_per_s = []
    for model in a.models.split(","):
        cpu = cpu_verdicts(model)
        for dtype in a.dtypes.split(","):
            bare, n_params = bare_pass_seconds(model, dtype, a.n_seqs, a.seq_len, a.batch_size)
            tokens_per_s.append((n_params, a.n_seqs * a.seq_len / bare))
            wall, verdicts, rc = audit(model, dtype, a.workdir)
            same = [k for k in verdicts if cpu.get(k) == verdicts[k]]
            differ = {f"{c} on {m}": (cpu.get((c, m)), v) for (c, m), v in verdicts.items() if (c, m) in cpu and cpu[(c, m)] != v}
            print(f"{model} cuda {dtype}: audit {wall:.0f} s (exit {rc}); one bare forward pass {bare:.2f} s "
                  f"({a.n_seqs * a.seq_len / bare:.0f} tokens/s): ratio {wall / bare:.0f}; verdicts equal to the CPU "
                  f"report's: {len(same)}/{len([k for k in verdicts if k in cpu])}"
                  + (f"; differ (CPU, GPU): {differ}" if differ else ""), flush=True)
    if not a.skip_zoo:
        z = subprocess.run([sys.executable, str(common.ROOT / "benchmarks" / "bench_zoo.py"), "--device", "cuda",
                            "--steps", "20", "--warmup", "3"], capture_output=True, text=True)
        print("zoo training on cuda:\n" + z.stdout[-3000:] + (z.stderr[-1000:] if z.returncode else ""))
    # estimate: the audit costs `ratio` bare passes; a bare pass scales with parameters at fixed tokens
    ratio = max(wall / bare, 1.0)
    n_ref, tps = max(tokens_per_s)  # the largest model measured: the closest throughput regime
    per_model = {m: ratio * a.n_seqs * a.seq_len / (tps * n_ref / n) for m, n in PAPER_PARAMS.items()}
    one = sum(per_model.values())
    longest = max(per_model.values())
    node = max(longest, one / 8)
    print(f"estimate, the paper's nine models (audit = {ratio:.0f} bare passes, throughput scaled by parameters from "
          f"{n_ref / 1e6:.0f}M at {tps:.0f} tokens/s): one GPU {one / 60:.1f} min; a node of eight {node / 60:.1f} min "
          f"(target ≤ {TARGET_NODE_MIN:g} min: {'met' if node / 60 <= TARGET_NODE_MIN else 'NOT met'}); longest model "
          f"{max(per_model, key=per_model.get)} {longest / 60:.1f} min")


if __name__ == "__main__":
    main()
