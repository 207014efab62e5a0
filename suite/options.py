"""Run options (the pytest command-line flags), validated once."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from suite import errors

ROOT = Path(__file__).resolve().parent.parent
DTYPES = ("float32", "float64", "bfloat16", "float16")
HALF_DTYPES = ("bfloat16", "float16")  # 8 or 11 significant bits: checks of round-off use their own tolerance
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")


def default_shared_data() -> Path:
    return ROOT.parent / "shared" / "data"


#: ``--bos``: the BOS at position 0 of each window — as the model's tokenizer does by default, always, never
#: (resolved per model by fixtures.data.resolve_bos)
Bos = Literal["auto", "always", "never"]
BOS_MODES: tuple[str, ...] = get_args(Bos)


#: the run's command-line options, ``(flag, argparse keywords)``: pytest's (conftest.py) and the measure command's
#: (``python -m claims.measure``) parsers both read this table
CLI_OPTIONS: tuple[tuple[str, dict], ...] = (
    ("--model", dict(action="append", default=None,
                help="model to audit: embedded alias (smollm2-135m, the default), local directory, or hub id; repeatable")),
    ("--paper-models", dict(action="store_true",
                help="add the paper's nine models (gpt2…gpt2-xl, EleutherAI/pythia-160m…2.8b); need the hub")),
    ("--device", dict(default="cpu", help="cpu (default) or cuda[:N]")),
    ("--dtype", dict(default="float32",
                help="float32 (default, as in the paper), float64, bfloat16, float16; statistics accumulate in float32")),
    ("--device-map", dict(default=None,
                help="auto (or balanced, sequential): spread a model larger than one device over all visible devices (accelerate)")),
    ("--n-seqs", dict(type=int, default=150, help="sequences of WikiText-103 validation (paper: 150)")),
    ("--seq-len", dict(type=int, default=128, help="tokens per sequence (paper: 128)")),
    ("--data-dir", dict(default=None,
                help="dir with wikitext-103/wiki.valid.raw; default $COLLAPSE_CLAIMS_DATA, then ../shared/data, then the hub")),
    ("--report-dir", dict(default=None, help="where reports/<model>/<timestamp>.{json,md} go (default ./reports)")),
    ("--seed", dict(type=int, default=0, help="seed for nulls, shuffles and training")),
    ("--graph-root", dict(default=None, help="WebKB root (default $COLLAPSE_CLAIMS_GRAPHS, then ../shared/data/webkb)")),
    ("--retrain", dict(action="store_true", help="retrain cached trained-here models")),
    ("--zoo", dict(default="full", choices=("full", "smoke"),
                help="trained-here zoo: full (the audit's recipes, `make zoo`) or smoke (the same recipes cut short; self-tests)")),
    ("--batch-size", dict(type=int, default=8, help="sequences per forward batch")),
    ("--all-claims", dict(action="store_true",
                help="with --model: also run the paper-wide claims (algebra, graphs, trained-here zoo, hub checkpoints)")),
    ("--perturb-weights", dict(type=int, default=None, metavar="SEED",
                help="audit each --model (default: the embedded model) with its weights perturbed at their "
                     "quantisation step (GGUF models: <model>@qnoise<SEED>); feed its report to --panel-from")),
    ("--panel-from", dict(action="append", default=None, metavar="REPORT",
                help="latest.json of a --perturb-weights or --zoo-seed run (repeatable): the robustness panel reads "
                     "its verdicts as on-request rows (a verdict that differs marks the row fragile)")),
    ("--zoo-seed", dict(type=int, default=0, metavar="N",
                help="train the zoo again with every entry's weight and data seeds shifted (another draw of each "
                     "recipe, cached apart); use a separate --report-dir and feed its report to --panel-from")),
    ("--bos", dict(default="auto", choices=BOS_MODES,
                help="BOS at position 0 of each window: auto (as the model's tokenizer does by default), always, never")),
)


@dataclass(frozen=True)
class RunOptions:
    models: tuple[str, ...] = ()  # () : the options of a run about no --model (the zoo CLI, a self-test)
    device: str = "cpu"
    dtype: str = "float32"
    n_seqs: int = 150
    seq_len: int = 128
    data_dir: str | None = None  # None -> hub dataset (online) ; resolved in fixtures.data
    report_dir: str = str(ROOT / "reports")
    seed: int = 0
    graph_root: str | None = None
    retrain: bool = False
    zoo: str = "full"  # full | smoke: the trained-here zoo's scale (fixtures.zoo.entry_recipe)
    batch_size: int = 8
    bos: Bos = "auto"
    device_map: str | None = None  # "auto" etc.: spread the model over the visible devices (accelerate)
    scope: str = "all"  # all: the full audit; model: only the claims about the --model models
    panel_from: tuple[str, ...] = ()  # reports of --perturb-weights / --zoo-seed runs: the panel's on-request rows
    zoo_seed: int = 0  # --zoo-seed: every zoo entry's weight and data seeds shifted by ZOO_SEED_STRIDE × this

    def key(self) -> str:
        # "auto" is resolved per model from its tokenizer (the model ref is in every cache key)
        # no device: a measurement made on a GPU node serves a decision anywhere (its provenance says where it was made)
        bos = "" if self.bos == "auto" else f"-bos{self.bos}"
        return f"{self.dtype}-n{self.n_seqs}-T{self.seq_len}-seed{self.seed}{bos}"


def worker_device(device: str, worker_id: str | None, n_gpus: int | None = None) -> str:
    """``--device cuda`` under pytest-xdist with several GPUs: worker ``gwK`` uses ``cuda:K mod n``,
    so ``-n <GPUs> --dist loadgroup`` puts one model on each device. An explicit ``cuda:N``, the
    CPU, or a single GPU are left as given."""
    if device != "cuda" or not worker_id or not worker_id.startswith("gw"):
        return device
    if n_gpus is None:
        import torch

        n_gpus = torch.cuda.device_count()
    if n_gpus <= 1:
        return device
    return f"cuda:{int(worker_id[2:]) % n_gpus}"


def resolve_data_dir(cli_value: str | None) -> str | None:
    """--data-dir, then $COLLAPSE_CLAIMS_DATA, then ../shared/data when present, else None
    (the hub's `wikitext` dataset, online only)."""
    for cand in (cli_value, os.environ.get("COLLAPSE_CLAIMS_DATA")):
        if cand:
            p = Path(cand).expanduser()
            if not p.is_dir():
                raise errors.UsageError(errors.MISSING_DATA_DIR.format(path=str(p), want="wikitext-103/wiki.valid.raw"))
            return str(p.resolve())
    shared = default_shared_data()
    return str(shared) if shared.is_dir() else None


def resolve_graph_root(cli_value: str | None) -> str | None:
    for cand in (cli_value, os.environ.get("COLLAPSE_CLAIMS_GRAPHS")):
        if cand:
            return str(Path(cand).expanduser())
    shared = default_shared_data() / "webkb"
    return str(shared) if shared.is_dir() else None


def validate(opts: RunOptions) -> RunOptions:
    if opts.dtype not in DTYPES:
        raise errors.UsageError(errors.BAD_OPTION.format(option="--dtype", problem=f"{opts.dtype!r} not in {DTYPES}"))
    if opts.bos not in BOS_MODES:
        raise errors.UsageError(errors.BAD_OPTION.format(option="--bos", problem=f"{opts.bos!r} not in {', '.join(BOS_MODES)}"))
    if opts.batch_size < 1:
        raise errors.UsageError(errors.BAD_OPTION.format(option="--batch-size", problem="needs at least 1 sequence per batch"))
    if opts.n_seqs < 2:
        raise errors.UsageError(errors.BAD_OPTION.format(option="--n-seqs", problem="needs at least 2 sequences"))
    if opts.seq_len < 16:
        raise errors.UsageError(errors.BAD_OPTION.format(option="--seq-len", problem="needs at least 16 tokens"))
    if opts.zoo_seed < 0:
        raise errors.UsageError(errors.BAD_OPTION.format(option="--zoo-seed", problem="needs a non-negative integer"))
    if opts.seed < 0:
        raise errors.UsageError(errors.BAD_OPTION.format(option="--seed", problem="needs a non-negative integer"))
    if opts.device_map is not None and opts.device_map not in DEVICE_MAPS:
        raise errors.UsageError(errors.BAD_OPTION.format(
            option="--device-map", problem=f"{opts.device_map!r} not in {', '.join(DEVICE_MAPS)}{errors.did_you_mean(opts.device_map, DEVICE_MAPS)}"))
    if opts.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise errors.UsageError(errors.BAD_OPTION.format(option="--device", problem="CUDA requested but torch sees no GPU; use --device cpu"))
    elif opts.device not in ("cpu", "mps"):
        raise errors.UsageError(errors.BAD_OPTION.format(option="--device", problem=f"unknown device {opts.device!r}; use cpu or cuda[:N]"))
    return opts
