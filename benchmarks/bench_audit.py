"""Speed and memory of the token-axis audit on the default model (issue 2 targets).

Prints, for one run on the embedded SmolLM2-135M at 150 × 128 (override with flags):

* overhead ratio = wall time of the audit's two measurement passes (real + token-shuffled,
  with every capture and reduction, as :func:`fixtures.measure.measure` runs them: the real
  pass also computes the validation loss, keeps A[t,0], being BK-1's native-θ point, and reduces every
  residual stream for MA-1/2/4, so no second pass over its windows) plus
  all TF claim checks, divided by the wall time of the two bare forward passes they need
  (same model, same batches, eager attention, no hooks; the real one with the LM head, since
  its loss is needed) — target ≤ 1.2 (issue 26);
* clamp ratio = wall time of MA-3's four clamp passes (massive, null, Sun-mean, zero; the layers before the
  first clamped stream run once and are replayed, :class:`fixtures.residual.Prefix`) divided by four bare
  forward passes with the LM head (each clamp pass needs its loss) — the floor is the bare passes; below 1
  is the shared prefix;
* peak RSS of the process — target ≤ 4 GiB.

Run: ``.venv/bin/python benchmarks/bench_audit.py [--n-seqs 150 --seq-len 128 --threads 2]``
"""
from __future__ import annotations

import argparse
import resource
import time

import common
import torch

from claims import checks_massive, checks_tf
from fixtures.data import shuffle_tokens
from fixtures.measure import STREAM_TOP_K, run_pass, stream_stats
from fixtures.residual import Prefix, clamp_pass
from suite.family import CHECKS
from suite.registry import registry

TARGET_RATIO = 1.2  # issue 26 (was 1.5, issue 2): the real pass now also reduces every residual stream
TARGET_RSS_GIB = 4.0


def main():
    a = common.audit_arguments(argparse.ArgumentParser()).parse_args()
    _, _, lm, data = common.load_audit(a)
    variants = [data.input_ids, shuffle_tokens(data.input_ids, 0)]

    def bare_pass(ids, head=False):
        target = lm.model if head else lm.model.base_model
        with torch.no_grad():
            for s in range(0, ids.shape[0], a.batch_size):
                target(input_ids=ids[s:s + a.batch_size], use_cache=False)

    bare_pass(variants[0][: a.batch_size])  # warm-up (allocator, kernels)
    reg = registry()
    bare = audit = 0.0
    measured = []
    # interleave bare and instrumented passes so both see the same machine load
    for real_variant, ids in zip((True, False), variants):
        t0 = time.perf_counter()
        bare_pass(ids, head=real_variant)
        bare += time.perf_counter() - t0
        t0 = time.perf_counter()
        measured.append(run_pass(lm.model, ids, a.batch_size, compute_nll=real_variant, label=a.model, progress=False,
                                 keep_first_col=real_variant, stream_top_k=STREAM_TOP_K if real_variant else None))
        audit += time.perf_counter() - t0
    real, shuf = measured
    t0 = time.perf_counter()
    rec = checks_tf.ModelRecord(label=a.model, real=real, shuffled=shuf, seed=0)
    for cid in ("TF-1", "TF-2", "TF-5", "TF-6", "TF-7"):  # the audit's check(claim, record) for each claim
        CHECKS[cid](reg[cid], rec)
    audit += time.perf_counter() - t0
    # MA-3's clamp passes on the plan the audit makes from this real pass's streams
    stats = stream_stats(real, int(reg["MA-1"].param("top_k")))
    plan, null, _ = checks_massive.clamp_plans(reg["MA-3"], stats, 0)
    plans = [plan, null, *checks_massive.contrast_plans(stats, plan)] if plan else []
    clamp_bare = clamp = 0.0
    prefix = Prefix(min(plan)) if plan else None
    for p in plans:
        t0 = time.perf_counter()
        bare_pass(variants[0], head=True)
        clamp_bare += time.perf_counter() - t0
        t0 = time.perf_counter()
        clamp_pass(lm.model, variants[0], p, a.batch_size, a.model, progress=False, prefix=prefix)
        clamp += time.perf_counter() - t0
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    ratio = audit / bare
    print(f"model {a.model}, {a.n_seqs}×{a.seq_len}, batch {a.batch_size}, {a.threads} threads")
    print(f"bare forward passes (real + shuffled): {bare:.1f} s")
    print(f"audit passes + TF checks:              {audit:.1f} s")
    print(f"overhead ratio audit/bare: {ratio:.2f}  (target ≤ {TARGET_RATIO}) {'OK' if ratio <= TARGET_RATIO else 'MISSED'}")
    if plans:
        print(f"MA-3 clamp passes ({len(plans)}, layers < {prefix.j0} shared): {clamp:.1f} s against {clamp_bare:.1f} s "
              f"of bare passes with the LM head: ratio {clamp / clamp_bare:.2f} (floor 1 without the shared prefix)")
    else:
        print("MA-3 clamp passes: none (no massive coordinate in this model's streams)")
    print(f"peak RSS: {rss_gib:.2f} GiB  (target ≤ {TARGET_RSS_GIB}) {'OK' if rss_gib <= TARGET_RSS_GIB else 'MISSED'}")


if __name__ == "__main__":
    main()
