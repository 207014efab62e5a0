"""What the benchmarks share: the repository on ``sys.path`` (they run as scripts: ``import common`` first) and
the audit's model and text, loaded as the audit loads them."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from fixtures.catalogue import DEFAULT_MODEL  # noqa: E402
from fixtures.data import wikitext_sequences  # noqa: E402
from fixtures.models import load_model, resolve  # noqa: E402
from suite.options import RunOptions, resolve_data_dir  # noqa: E402


def proc_status(key: str) -> int:
    """A figure of ``/proc/self/status`` in bytes (Linux): ``VmRSS:`` the resident set, ``VmHWM:`` its peak."""
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) << 10  # kB → bytes
    raise RuntimeError(key)


def reset_peak_rss() -> None:
    """Set the peak-RSS mark (VmHWM) back to the current RSS (Linux ``clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def audit_arguments(ap):
    """The audit's data options with its defaults: ``--model --n-seqs --seq-len --batch-size --threads``."""
    for flag, kind, default in (("--model", str, DEFAULT_MODEL), ("--n-seqs", int, 150), ("--seq-len", int, 128),
                                ("--batch-size", int, 8), ("--threads", int, 2)):
        ap.add_argument(flag, type=kind, default=default)
    return ap


def load_audit(a, **load):
    """``(options, spec, model, data)`` of parsed :func:`audit_arguments` (torch's thread count set from them);
    ``load``: :func:`fixtures.models.load_model`'s keywords (dtype, device)."""
    torch.set_num_threads(a.threads)
    opts = RunOptions(models=(a.model,), n_seqs=a.n_seqs, seq_len=a.seq_len, data_dir=resolve_data_dir(None),
                      batch_size=a.batch_size)
    spec = resolve(a.model)
    lm = load_model(spec, **load)
    return opts, spec, lm, wikitext_sequences(opts, lm.tokenizer, spec.label)
