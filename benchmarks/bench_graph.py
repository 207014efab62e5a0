"""GR-1 speed: the whole claim run (3 WebKB graphs × 10 splits × seeds_per_split × GAT and GCN,
the registry's recipe) from an empty cache, then again from the disk cache.

Target (issue 4): under 5 minutes on 2 CPU cores. Runs are spread over 2 spawned worker
processes with one torch thread each (the graphs have 183-251 nodes: intra-op threads do not
pay). Prints wall time, summed per-run training time, CPU time of the process tree and the
load average (the machine may be shared: a load above the core count inflates wall time).

    .venv/bin/python benchmarks/bench_graph.py [--workers 2] [--seeds-per-split N] [--graph-root DIR]
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import common  # noqa: F401  (the repository on sys.path)


def cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds-per-split", type=int, default=None, help="default: the registry's")
    ap.add_argument("--graph-root", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from fixtures.graphs import GraphRecipe, measure_arms
    from suite.options import resolve_graph_root
    from suite.registry import registry

    claim = registry()["GR-1"]
    over = {} if args.seeds_per_split is None else {"seeds_per_split": args.seeds_per_split}
    recipe = GraphRecipe.from_params(claim.params, **over)
    arms = tuple(claim.param("arms"))
    root = resolve_graph_root(args.graph_root)
    runs = len(claim.param("graphs")) * len(recipe.splits) * recipe.seeds_per_split * len(arms)
    print(f"GR-1 benchmark: {runs} training runs (3 graphs × {len(recipe.splits)} splits × "
          f"{recipe.seeds_per_split} seeds × {len(arms)} arms), recipe {recipe.hash()}, workers {args.workers}, "
          f"os.cpu_count() {os.cpu_count()}, load average at start {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["COLLAPSE_CLAIMS_CACHE"] = cache
        for label in ("cold (empty cache)", "warm (disk cache)"):
            t0, c0 = time.perf_counter(), cpu_seconds()
            train = 0.0
            per_graph = {}
            for g in claim.param("graphs"):
                tg = time.perf_counter()
                m = measure_arms(root, g, arms, recipe, workers=args.workers)
                per_graph[g] = time.perf_counter() - tg
                train += sum(x.train_seconds for x in m.values()) if label.startswith("cold") else 0.0
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            print(f"{label}: wall {wall:.1f} s ({', '.join(f'{g} {t:.1f} s' for g, t in per_graph.items())}); "
                  f"CPU {cpu:.1f} s" + (f"; summed per-run training {train:.1f} s ({train / runs:.2f} s/run)" if train else "")
                  + f"; load average now {os.getloadavg()[0]:.1f}")
            if label.startswith("cold"):
                verdict = "meets" if wall < 300 else "MISSES"
                print(f"  target < 300 s on 2 cores: {verdict} (CPU-bound estimate on 2 idle cores: {cpu / 2:.0f} s)")


if __name__ == "__main__":
    main()
