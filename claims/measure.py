"""``python -m claims.measure``: the expensive stage of an audit alone — every forward pass, sweep and training
run its claims read, into the cache (``$COLLAPSE_CLAIMS_CACHE``, which may be on a shared filesystem) — so that
``pytest claims/`` with the same options then finds every measurement cached and only decides (issue 25:
measure once, decide anywhere). The cache keys name the weights and the text by content or public id and leave
out the device (:func:`fixtures.data.measurement_key`), so the decision may run on another machine than the
measurement; each measurement's provenance records where it was made (host, device, dtype).

One job is one (measurement, subject) pair of the audit's plan (:func:`suite.family.measurement_jobs`), run
  * in this process, one after the other (``--executor none``, the default);
  * as a Slurm array through submitit (``--executor slurm``: one array task per job, at most
    ``--array-parallelism`` at once, each with ``--gpus-per-job`` GPUs), or through submitit's local executor
    (``--executor local``: a subprocess per job, the same code path without a cluster).
A job receives the run's options and the names of its measurement and subject, never a loaded model: it builds
the plan again and runs its own entry. The merge is the decision: ``pytest claims/ <the same options>``, then
``python -m suite.compare reports/*/latest.json``.

    python -m claims.measure --paper-models --device cuda --dtype bfloat16 --executor slurm \\
        --folder logs/ --partition gpu --array-parallelism 16
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import claims
from fixtures.session import run_options
from suite import errors
from suite.cache import cache_root
from suite.family import audit_cases, load_families, measurement_jobs
from suite.options import CLI_OPTIONS, RunOptions, validate
from suite.progress import note
from suite.registry import registry

EXECUTORS = ("none", "local", "slurm", "debug")


def plan(options: RunOptions) -> list:
    """The run's ``(measurement, target)`` jobs in run order: those of the tests ``pytest claims/`` runs with the
    same options (a model-scoped run: the given models' only)."""
    load_families(claims)
    cases = [c for c in audit_cases(options) if options.scope != "model" or c.target.scope == "model"]
    return measurement_jobs(cases, registry())


def job_names(options: RunOptions) -> list[tuple[str, str]]:
    """:func:`plan` as ``(measurement name, subject label)`` pairs: what travels to a cluster job (a pair once:
    two claims' targets of one family share a label and a record)."""
    return list(dict.fromkeys((m.name, t.label) for m, t in plan(options)))


def run_job(options: RunOptions | dict, measurement: str, subject: str, cache: str | None = None) -> dict:
    """One job, in this process: the plan's entry ``(measurement, subject)`` measured into the cache (``cache``:
    its folder, for a job that runs elsewhere). Returns what it did, for the submitter's log."""
    if cache:
        os.environ["COLLAPSE_CLAIMS_CACHE"] = cache
    if isinstance(options, dict):  # checked here, on the node that runs it (its GPUs, its data)
        options = validate(RunOptions(**{k: tuple(v) if k in ("models", "panel_from") else v
                                         for k, v in options.items()}))
    found = [(m, t) for m, t in plan(options) if m.name == measurement and t.label == subject]
    if not found:
        raise errors.UsageError(f"no job {measurement!r} on {subject!r} in this run's plan: were the options changed "
                                "between submitting and running?")
    meas, target = found[0]
    t0 = time.monotonic()
    meas.measure(target, options)
    return {"measurement": measurement, "subject": subject, "seconds": round(time.monotonic() - t0, 1),
            "host": os.uname().nodename, "device": options.device}


def submit(options: RunOptions, executor: str, folder: str | Path, device: str | None = None, **params) -> list[dict]:
    """Every job of :func:`plan` through submitit's ``executor`` (``slurm``, ``local`` or ``debug``); waits for
    them and returns their :func:`run_job` results. ``device``: the jobs' ``--device`` where it differs from
    ``options.device`` (a GPU the submitting machine lacks). ``params``: submitit's ``update_parameters``
    keywords (``timeout_min``, ``gpus_per_node``, ``slurm_partition``, ``slurm_array_parallelism``, ...). The
    local executor starts every job at once and hides the GPUs unless ``gpus_per_node`` asks for them."""
    try:
        import submitit
    except ImportError:
        raise errors.UsageError("--executor slurm/local needs submitit: pip install 'collapse-claims[cluster]' "
                                "(or `make test`, which installs it)") from None
    jobs = job_names(options)
    if not jobs:
        return []
    ex = submitit.AutoExecutor(folder=str(folder), cluster=None if executor == "slurm" else executor)
    ex.update_parameters(**params)
    opts = dataclasses.asdict(options) | ({"device": device} if device else {})
    cache = str(cache_root())
    submitted = ex.map_array(run_job, [opts] * len(jobs), [m for m, _ in jobs], [s for _, s in jobs],
                             [cache] * len(jobs))
    note(f"submitted {len(submitted)} jobs ({executor}); logs in {folder}")
    return [j.result() for j in submitted]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m claims.measure", description=__doc__.split("\n\n")[0])
    for flag, kw in CLI_OPTIONS:
        ap.add_argument(flag, **kw)
    g = ap.add_argument_group("where the jobs run")
    g.add_argument("--executor", default="none", choices=EXECUTORS,
                   help="none: here, one after the other (default); slurm: a Slurm array (submitit); local: "
                        "a subprocess per job (submitit's local executor); debug: submitit in this process")
    g.add_argument("--folder", default="measure-logs", help="submitit's folder for job logs and pickles")
    g.add_argument("--partition", default=None, help="Slurm partition")
    g.add_argument("--gpus-per-job", type=int, default=0, help="GPUs per array task (Slurm)")
    g.add_argument("--cpus-per-job", type=int, default=None, help="CPUs per array task")
    g.add_argument("--array-parallelism", type=int, default=64, help="array tasks running at once (Slurm)")
    g.add_argument("--timeout-min", type=int, default=120, help="time limit of each task (minutes)")
    g.add_argument("--list", action="store_true", help="print the jobs and exit")
    return ap


def main(argv=None) -> int:
    a = _parser().parse_args(argv)
    def get(flag):
        v = getattr(a, flag.lstrip("-").replace("-", "_"))
        # the jobs check their device where they run: a login node that submits to GPU nodes has none
        return "cpu" if flag == "--device" and a.executor == "slurm" else v

    try:
        options = run_options(get)
        jobs = job_names(options)
        if a.list:
            print("\n".join(f"{m}\t{s}" for m, s in jobs))
            return 0
        print(f"{len(jobs)} measurement jobs for {', '.join(options.models)} ({options.scope} scope); "
              f"cache {cache_root()}", flush=True)
        if a.executor == "none":
            results = [run_job(options, m, s) for m, s in jobs]
        else:
            params = {"timeout_min": a.timeout_min, "gpus_per_node": a.gpus_per_job,
                      "slurm_array_parallelism": a.array_parallelism}
            if a.partition:
                params["slurm_partition"] = a.partition
            if a.cpus_per_job:
                params["cpus_per_task"] = a.cpus_per_job
            results = submit(options, a.executor, a.folder, device=a.device, **params)
    except errors.UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in results:
        print(f"{r['measurement']} on {r['subject']}: {r['seconds']} s on {r['host']} ({r['device']})")
    print("measured; decide with: pytest claims/ " + " ".join(run_args(sys.argv[1:] if argv is None else argv)))
    return 0


def run_args(argv: list[str]) -> list[str]:
    """``argv``'s run options (:data:`suite.options.CLI_OPTIONS`) without the device: what the deciding
    ``pytest claims/`` repeats (the cache keys leave the device out, so the decision runs anywhere)."""
    keep = {f for f, _ in CLI_OPTIONS} - {"--device", "--device-map"}
    bare = {f for f, kw in CLI_OPTIONS if kw.get("action") == "store_true"} | {"--list"}  # flags without a value
    out, value_of = [], None  # value_of: the flag whose value comes next (kept with it or dropped with it)
    for arg in argv:
        if value_of is not None:
            if value_of in keep:
                out.append(arg)
            value_of = None
            continue
        flag = arg.split("=", 1)[0]
        if flag in keep:
            out.append(arg)
        if "=" not in arg and flag not in bare:
            value_of = flag
    return out


if __name__ == "__main__":
    sys.exit(main())
