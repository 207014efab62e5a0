"""User-facing error messages, kept as constants (TransformerLens style).

Every message is one line and says what to do. They are raised as
:class:`UsageError`, which ``conftest.py`` turns into a one-line pytest usage
error instead of a traceback.
"""
from __future__ import annotations

import difflib


class UsageError(Exception):
    """Bad input from the user: unknown model, missing data, unsupported architecture..."""


class DiskFull(UsageError):
    """The disk filled up while a cache entry or a report was written (nothing half-written is left)."""


class ActivationError(UsageError):
    """Non-finite activations (NaN/inf) in a captured tensor."""


class WeightsUnavailable(Exception):
    """The model's weights cannot be had here (offline hub, a missing package): the test skips with this reason,
    which says how to run it."""


UNKNOWN_MODEL_OFFLINE = (
    "model {model!r} is neither a local directory nor in the local hub cache, and the hub is "
    "unreachable (offline){hint}. Pass a local directory with config.json, or run where "
    "huggingface.co is reachable."
)
UNKNOWN_MODEL_ALIAS = "unknown model alias {model!r}{hint}. Known aliases: {known}."
NO_CONFIG = (
    "{path!r} is not a model directory (no config.json): point --model at a directory written by "
    "`save_pretrained` (config.json + weights), a .gguf file, an embedded alias or a hub id."
)
GGUF_MISSING = "GGUF file {path!r} not found: pass the path of an existing .gguf file to --model."
QNOISE_NOT_QUANTISED = (
    "{model!r}: @qnoise<SEED> (--perturb-weights) perturbs weights at their quantisation step, and {base!r} is "
    "not a GGUF-quantised model; use it on an embedded alias or a .gguf file"
)
QNOISE_UNSUPPORTED = (
    "cannot perturb {path!r} at its quantisation step: {problem}; run without --perturb-weights (the panel then "
    "lists that alternative as not run)"
)
PANEL_FROM_BAD = (
    "--panel-from {path!r}: {problem}; pass the latest.json of a run with --perturb-weights on the same model"
)
GGUF_UNREADABLE = (
    "cannot read GGUF file {path!r}: {problem}. Re-download or re-copy it (a truncated copy reads "
    "like this), or pass a directory written by `save_pretrained`."
)
GGUF_UNSUPPORTED = (
    "GGUF file {path!r} holds architecture {arch!r}, which transformers cannot convert from GGUF; "
    "convert it elsewhere and pass the `save_pretrained` directory. transformers reads: {supported}."
)
UNSUPPORTED_ARCH = (
    "architecture {arch!r} of model {model!r} is not supported by the {what} probe; supported: "
    "{supported}."
)
SEQ_TOO_LONG = (
    "--seq-len {seq_len} exceeds the {max_pos} positions of model {model!r}: lower --seq-len to "
    "at most {max_pos}."
)
MISSING_DATA_DIR = (
    "data directory {path!r} not found (or it lacks {want}): pass --data-dir, set "
    "COLLAPSE_CLAIMS_DATA, or place the WikiText-103 files under ../shared/data/wikitext-103."
)
NOT_ENOUGH_TEXT = (
    "the data at {path!r} gives only {have} sequences of {seq_len} tokens for model {model!r}; "
    "ask for fewer with --n-seqs or shorter ones with --seq-len."
)
DATA_TOO_SHORT = (
    "evaluation text {path!r}: {what} ({n} sequences × {t} tokens): restore the WikiText-103 file, point "
    "--data-dir at one, or ask for fewer tokens with --n-seqs / --seq-len."
)
DATA_UNREADABLE = "evaluation text {path!r} cannot be read: {problem}; restore the WikiText-103 file or point --data-dir at one."
NON_FINITE = (
    "non-finite values ({what}) in {where} of model {model!r} at dtype {dtype}: try --dtype "
    "float32, or check the weights."
)
FLOAT16_OVERFLOW = (
    "non-finite values ({what}) in {where} of model {model!r} at dtype float16: float16 overflows above 65504 "
    "(Gemma-3's massive activations reach ~2e5): use --dtype bfloat16 (float32's exponent range) or float32."
)
BAD_OPTION = "{option}: {problem}"
DISK_FULL = (
    "no space left on the device while writing {entry} under {root} (nothing half-written was kept): free "
    "space there — or point COLLAPSE_CLAIMS_CACHE (measurements) or --report-dir (reports) at a larger disk — "
    "and run again."
)
NO_BOS_TOKEN = "--bos always: the tokenizer of model {model!r} has no BOS token; use --bos auto or --bos never."
UNKNOWN_CLAIM = "unknown claim id {claim!r}{hint}."
REGISTRY_INVALID = "claim registry {path}: {problem}"
GRAPH_ROOT_MISSING = (
    "graph root {path!r} has no WebKB graph {name!r} (expected {path}/{name}/raw/"
    "out1_graph_edges.txt): pass --graph-root, set COLLAPSE_CLAIMS_GRAPHS, or place the WebKB "
    "data under ../shared/data/webkb."
)


def did_you_mean(name: str, candidates) -> str:
    """`` (did you mean 'x'?)`` for the closest candidates, or empty string."""

    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
