"""Speed of the BK-1 θ sweep (target: a 6-point sweep on SmolLM2-135M at the audit's data size,
150 × 128 tokens, in under 10 minutes on 2 CPU cores; one forward pass per θ feeds γ, sink mass
and perplexity).

    .venv/bin/python benchmarks/bench_book.py [--threads 2] [--n-seqs 150] [--seq-len 128] [--model smollm2-135m]

Prints the time of each verified pass, the probe/summary time and the total. No cache is used.
"""
from __future__ import annotations

import argparse
import math
import time

import common

from claims import checks_book
from fixtures.rope import ThetaSweep, native_theta, sweep_points
from suite.family import CHECKS
from suite.registry import registry

TARGET_S = 600.0


def main(argv=None):
    args = common.audit_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0])).parse_args(argv)
    bk1 = registry()["BK-1"]
    factors = bk1.param("theta_factors")
    t0 = time.perf_counter()
    _, spec, lm, data = common.load_audit(args)
    t_load = time.perf_counter() - t0
    print(f"model+data load: {t_load:.1f} s  ({args.n_seqs}×{args.seq_len} tokens, {args.threads} threads)")
    pts = []
    for f in factors:
        t = time.perf_counter()
        pts += sweep_points(lm.model, data.input_ids, [f], args.batch_size, spec.label, progress=False)
        print(f"θ×{f:<7g} θ'={native_theta(lm.model) * f:<10g} pass {time.perf_counter() - t:6.1f} s   "
              f"ppl {pts[-1].nll and math.exp(pts[-1].nll):.3f}")
    t = time.perf_counter()
    summ = checks_book.summarise_sweep(bk1, ThetaSweep(spec.label, native_theta(lm.model), args.seq_len, pts,
                                                       unigram_nll=data.unigram_nll))
    res = CHECKS["BK-1"](bk1, checks_book.BookMeasurement(label=spec.label, summary=summ))
    t_probe = time.perf_counter() - t
    total = time.perf_counter() - t0
    print(f"probes + check: {t_probe:.1f} s")
    print(f"total: {total:.1f} s  (target < {TARGET_S:.0f} s on 2 cores: {'met' if total < TARGET_S else 'NOT met'})")
    print(res.message())


if __name__ == "__main__":
    main()
