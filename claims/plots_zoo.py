"""Figures of the trained-here zoo claims (PR-1, SC-1, AR-1, AR-2, AR-3), drawn from recorded JSON only."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fixtures.zoo import ZOO_SCALES, training_curves
from suite.options import RunOptions
from suite.plots import decorate, pyplot, row_plotter, save_figure, section, subplots
from suite.registry import registry


@row_plotter("zoo-PR-1", "PR-1", tag="PR-1")
def plot_pr1(r: dict):
    ex = r.get("extra") or {}
    schemes, sweep = ex.get("schemes") or {}, ex.get("sweep") or {}
    curves = ex.get("training_curves") or {}
    if not schemes:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for name, c in curves.items():
        ax.plot(c["steps"], c["loss"], lw=1, label=f"{name} (val {c['val_loss']:.2f})")
        ax.axhline(c["unigram_loss"], color="grey", ls=":", lw=0.8)
    decorate(ax, "training step", "training loss (nats)", "zoo training curves (dotted: unigram)")
    thr = ex["onset_threshold"]  # PR-1's registry threshold, recorded with the row
    ax = axes[1]
    for name, s in schemes.items():
        prof = s["profile"]
        od = s["onset_depth"]
        lab = "never" if od > len(prof) else f"{od:.2f}"
        ax.plot(range(1, len(prof) + 1), prof, marker="o", label=f"{name} (onset {lab}, peak {s['peak']:.2f})")
    ax.axhline(thr, color="k", ls="--", lw=0.8)
    decorate(ax, "layer", "mean max attention share", "PR-1: depth profile per positional scheme", legend=8)
    ax = axes[2]
    cmap = plt.get_cmap("viridis")
    keys = list(sweep)
    for i, k in enumerate(keys):
        prof = sweep[k]["profile"]
        ax.plot(range(1, len(prof) + 1), prof, color=cmap(i / max(1, len(keys) - 1)), label=f"slopes ×{k}")
    ax.axhline(thr, color="k", ls="--", lw=0.8)
    decorate(ax, "layer", "mean max attention share", "PR-1: ALiBi slope-scale sweep")
    return f"PR-1 ({r['model']}): training curves, depth profiles per positional scheme, ALiBi slope sweep", fig


@row_plotter("zoo-SC-1", "SC-1", tag="SC-1")
def plot_sc1(r: dict):
    pl, ex = r.get("per_layer") or {}, r.get("extra") or {}
    types = ex.get("types") or []
    if "ve_base" not in pl:
        return None
    fig, (a, b) = subplots(1, 2, figsize=(10, 4))
    L = len(pl["ve_base"])
    xs = range(1, L + 1)
    a.plot(xs, pl["ve_base"], "k-o", label="base")
    for t in types:
        a.plot(xs, pl[f"ve_{t}"], marker=".", label=f"{t} reseed")
        b.plot(xs, pl[f"angle_{t}"], marker="o", label=f"{t} reseed")
    b.axhline(ex.get("random_angle", 0), color="grey", ls="--", label="random subspaces")
    decorate(a, "layer", f"VE@{ex.get('rank', 8)}", "SC-1: geometry across seeds", legend=8)
    decorate(b, "layer", "mean canonical angle (°)", "SC-1: direction across seeds", legend=8, ylim=(0, 90))
    return f"SC-1 ({r['model']}): rank-8 VE and canonical angles per layer", fig


@row_plotter("zoo-AR", "AR-1", tag="AR-1")
def plot_ar1(r: dict):
    pl = r.get("per_layer") or {}
    if "max_share" not in pl:
        return None
    fig, ax = subplots(figsize=(7, 4))
    xs = range(1, len(pl["max_share"]) + 1)
    for k, st in (("max_share", "k-o"), ("current", "-s"), ("embeddings", "-^"), ("uniform", "--")):
        ax.plot(xs, pl[k], st, label=k)
    decorate(ax, "sublayer", "share of routing weight", f"AR-1 ({r['model']}): depth routing hubs", legend=8, ylim=(0, 1.02))
    return f"AR-1 ({r['model']}): max share, current block and embeddings per sublayer", fig


@row_plotter("zoo-AR-2", "AR-2", tag="AR-2")
def plot_ar2(r: dict):
    table = (r.get("extra") or {}).get("table") or {}
    if not table:
        return None
    fig, ax = subplots(figsize=(6, 4))
    offs = sorted(table, key=float)
    for k in ("max_share", "current", "embeddings"):
        ax.plot([float(o) for o in offs], [table[o][k] for o in offs], marker="o", label=k)
    decorate(ax, "recency-bias offset δ", "mean share", f"AR-2 ({r['model']}): offset sweep", legend=8, ylim=(0, 1.02))
    return f"AR-2 ({r['model']}): shares under a recency-bias offset", fig


@row_plotter("zoo-AR-3", "AR-3", tag="AR-3")
def plot_ar3(r: dict):
    """Paper Fig. 8: AttnRes hub composition per sublayer — embeddings, current block (with the sources
    identical to it), the best intermediate block, the max share and the uniform level — with the depth
    thirds AR-3 tests shaded and labelled with the role the text assigns them. One figure per model."""
    pl, ex = r.get("per_layer") or {}, r.get("extra") or {}
    if "embeddings" not in pl:
        return None
    fig, ax = subplots(figsize=(8, 4.2))
    n = len(pl["embeddings"])
    xs = list(range(1, n + 1))
    thirds = ex.get("thirds") or {}
    third_of = pl.get("third") or []
    for i, (name, t) in enumerate(thirds.items()):
        idx = [k + 1 for k, v in enumerate(third_of) if v == i]
        if idx:
            ax.axvspan(idx[0] - 0.5, idx[-1] + 0.5, color=("0.93" if i % 2 == 0 else "0.86"), zorder=0)
            ax.text((idx[0] + idx[-1]) / 2, 1.0, f"{name}: {t.get('role')}\n(largest: {t.get('largest_role')})",
                    ha="center", va="top", fontsize=7)
    for key, st in (("max_share", "k-o"), ("embeddings", "-^"), ("current", "-s"), ("intermediate", "-d"),
                    ("null_max_share", ":"), ("uniform", "--")):
        if key in pl:
            ax.plot(xs, [float("nan") if v is None else v for v in pl[key]], st, ms=4, label=key.replace("_", " "))
    ax.set(xlabel="sublayer", ylabel="share of routing weight", ylim=(0, 1.05),
           title=f"AR-3 ({r['model']}, {r['verdict']}): depth-routing hubs by depth (Fig. 8)")
    ax.legend(fontsize=7, loc="center right")
    return f"AR-3 ({r['model']}): hub shares per sublayer by depth third", fig


# ----------------------------------------------------------------------------- training trajectory
def _arch(info: dict) -> str:
    arch = info.get("arch") or (info.get("recipe") or {}).get("arch", "?")
    rot = info.get("rotary", (info.get("recipe") or {}).get("rotary"))
    if arch == "gpt_neox":
        return "RoPE transformer" if rot else "NoPE transformer"
    return {"gpt_neox_alibi": "ALiBi transformer", "attnres": "AttnRes (depth routing)", "mamba": "Mamba",
            "rwkv": "RWKV-4"}.get(arch, arch)


def trajectory_figure(entries: dict, path: Path, onset: float = 0.20) -> Path | None:
    """Peak layer concentration, first-token weight (÷ its uniform level) and LM gain against
    training tokens, one line per zoo entry (seed twins thin), from the entries' recorded
    trajectories (fixtures.zoo_trajectory). ``onset``: the paper's onset threshold (§4.3)."""
    entries = {n: e for n, e in entries.items() if e.get("trajectory")}
    if not entries:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    cmap = plt.get_cmap("tab10")
    kinds = sorted({_arch(e) for e in entries.values()})
    for name, e in entries.items():
        tr = e["trajectory"]
        kind = _arch(e)
        twin = "seed" in name
        col = cmap(kinds.index(kind) % 10)
        style = dict(color=col, lw=0.8 if twin else 1.8, alpha=0.55 if twin else 1.0, marker=None if twin else "o", ms=3)
        x = [p["tokens"] / 1e6 for p in tr]
        lab = None if twin else f"{name} ({kind})"
        axes[0].plot(x, [p["peak"] for p in tr], label=lab, **style)
        if not twin:
            axes[0].plot(x, [p["peak_uniform"] for p in tr], color=col, ls=":", lw=0.9)
        axes[1].plot(x, [p["first"] / p["first_uniform"] for p in tr], label=lab, **style)
        axes[2].plot(x, [e["unigram_loss"] - p["val_loss"] for p in tr], label=lab, **style)
    axes[0].axhline(onset, color="k", ls="--", lw=0.9, label=f"onset threshold {onset:.2f}")
    axes[0].set(xlabel="training tokens (M)", ylabel="peak over layers of the layer max share",
                title="concentration (dotted: each router's uniform level)")
    axes[1].axhline(1.0, color="k", ls="--", lw=0.9, label="uniform level")
    axes[1].set(xlabel="training tokens (M)", ylabel="first-token weight ÷ uniform",
                title="sink: mean A[t,0] (attention), source-0 share (recurrent)")
    axes[2].axhline(0.0, color="k", ls="--", lw=0.9)
    axes[2].set(xlabel="training tokens (M)", ylabel="unigram − validation loss (nats/token)",
                title="the model works on the text (150 × 128 validation windows)")
    for ax in axes:
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def trajectory_table(entries: dict) -> str:
    """One Markdown row per zoo entry: its recipe's tokens, losses and the last trajectory point."""
    rows = ["| Entry | Router | Tokens | Val loss (unigram) | Peak share (layer) vs uniform | First-token weight vs uniform | Train s |",
            "|---|---|---|---|---|---|---|"]
    for name, e in entries.items():
        tr = e.get("trajectory") or []
        if tr:
            p = tr[-1]
            where = "mean over sublayers" if _arch(e).startswith("AttnRes") else f"L{p['peak_layer']}"
            peak = f"{p['peak']:.3f} ({where}) vs {p['peak_uniform']:.3f}"
            first = f"{p['first']:.4f} vs {p['first_uniform']:.4f}"
        else:
            peak = first = "not recorded"
        rows.append(f"| {name} | {_arch(e)} | {e.get('tokens_seen', 0) / 1e6:.2f} M | {e['val_loss']:.3f} "
                    f"({e['unigram_loss']:.3f}) | {peak} | {first} | {e.get('train_seconds', 0):.0f} |")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- the report's zoo section
def _zoo_data(rows: list[dict], options) -> dict:
    """The cached trained-here entries (training curves and trajectories) when the report has zoo results."""
    return training_curves(options) if any(str(r.get("model", "")).startswith("zoo") for r in rows) else {}


def _zoo_figures(entries: dict, outdir: Path, stem: str) -> list:
    tf = trajectory_figure(entries, outdir / f"{stem}-zoo-trajectory.png",
                           onset=registry()["PR-1"].param("onset_threshold"))
    return [] if tf is None else [("Trained-here zoo: concentration, sink and LM gain against training tokens "
                                   "(each entry's own checkpoints)", tf)]


def _zoo_markdown(entries: dict, options) -> list[str]:
    return ["## The trained-here zoo", "",
            f"Zoo scale `{options.zoo}` (fixtures/zoo.py; recipe chosen from the training "
            "trajectory by the claims' premises, claims/registry/zoo.toml). Last checkpoint of each entry:", "",
            trajectory_table(entries), ""]


section("zoo", data=_zoo_data, figures=_zoo_figures, markdown=_zoo_markdown,
        record=lambda entries: {n: {k: v for k, v in e.items() if k not in ("steps", "loss")} for n, e in entries.items()})


def main(argv=None) -> int:
    """``python -m claims.plots_zoo OUT.png``: the training-trajectory figure of the cached zoo entries."""
    ap = argparse.ArgumentParser(prog="python -m claims.plots_zoo", description=main.__doc__.split(": ", 1)[1])
    ap.add_argument("out", help="the PNG to write")
    ap.add_argument("--zoo", default="full", choices=ZOO_SCALES)
    ap.add_argument("--steps", type=int, default=None, help="the entries trained with `python -m fixtures.zoo --steps N`")
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args(argv)
    entries = training_curves(RunOptions(data_dir=a.data_dir, zoo=a.zoo), steps=a.steps)
    if trajectory_figure(entries, Path(a.out), onset=registry()["PR-1"].param("onset_threshold")) is None:
        print("error: no trained zoo entry with a trajectory is cached at these recipes; train them first: "
              "python -m fixtures.zoo --train-all" + (f" --steps {a.steps}" if a.steps else ""), file=sys.stderr)
        return 2
    print(f"trajectory figure: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
