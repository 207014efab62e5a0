"""Cross-model page: one Markdown and one HTML page from several reports.

    python -m suite.compare reports/*/latest.json [--out reports/compare]

Written automatically at the end of a run with several models. It holds, read from the
reports' recorded results only (nothing is re-measured):

* a claims × models matrix of verdicts and headline numbers (lm-evaluation-harness style):
  the claims about each model, not the paper-wide ones (those are the same in every report);
* the paper's Figure 1 redrawn across the models: max share against normalised depth (TF-5,
  and the recurrent routers' MB-1 / RW-2 profiles), one distinguishable line per model;
* per claim family with measurements, one figure across the models (TF: key-norm CV and VE@8
  by depth against their nulls; BK: γ and sink mass over the θ sweep);
* γ against sink mass per model at the native θ (book ch. 002: "distinct axes"), with CIs.
"""
from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

import numpy as np

from suite.plots import decorate, pyplot, save_figure
from suite.results import claim_order, fmt_value

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
Z95 = 1.959963984540054  # two-sided 95 % normal quantile, for ±SEM bands


def load_reports(paths) -> list[dict]:
    """Each report JSON, newest per model (a model given twice keeps the later report)."""
    docs: dict[str, dict] = {}
    for p in paths:
        p = Path(p)
        try:
            doc = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SystemExit(f"cannot read report {p}: {type(exc).__name__}: {exc}; pass reports/<model>/latest.json files")
        if "results" not in doc or "model" not in doc:
            raise SystemExit(f"{p} is not a collapse-claims report (no 'model' / 'results'); pass reports/<model>/latest.json")
        if doc["model"] not in docs or doc.get("created", "") >= docs[doc["model"]].get("created", ""):
            docs[doc["model"]] = doc
    return list(docs.values())


def model_rows(doc) -> dict[str, dict]:
    """The rows about the report's own model (older reports without ``scope``: by model label)."""
    out = {}
    for r in doc["results"]:
        if r.get("model") == doc["model"] and r.get("scope", "model") == "model":
            out[r["claim"]] = r
    return out


def headline(row) -> str:
    """The first scalar the check measured (its headline number), or nothing."""
    m = row.get("measured")
    if isinstance(m, dict):
        for k, v in m.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return f"{k} {fmt_value(v)}"
        return ""
    if isinstance(m, (int, float)) and not isinstance(m, bool):
        return fmt_value(m)
    return ""


SHORT = {"reproduced": "✓ reproduced", "not reproduced": "✗ not reproduced", "inconclusive": "? inconclusive",
         "not applicable": "n/a", "skipped": "skipped", "error": "error", "pending": "pending"}


def not_applicable_anywhere(docs) -> list[str]:
    per = [model_rows(d) for d in docs]
    claims = {c for rows in per for c in rows}
    return sorted((c for c in claims if all(rows.get(c, {}).get("verdict") == "not applicable" for rows in per)),
                  key=claim_order)


def matrix(docs) -> tuple[list[str], list[list[str]]]:
    per = [model_rows(d) for d in docs]
    na = set(not_applicable_anywhere(docs))  # folded into one line below the table
    claims = sorted({c for rows in per for c in rows} - na, key=claim_order)
    header = ["Claim"] + [d["model"] for d in docs]
    body = []
    for c in claims:
        cells = [c]
        for rows in per:
            r = rows.get(c)
            if r is None:
                cells.append("—")
                continue
            v = SHORT.get(r["verdict"], r["verdict"])
            h = headline(r) if r["verdict"] in ("reproduced", "not reproduced", "inconclusive") else ""
            mark = (r.get("robustness") or {}).get("mark")
            kind = (r.get("stands_on") or {}).get("kind")
            tags = [t for t in (h, "⚠ fragile" if mark == "fragile" else "", kind or "") if t]
            cells.append(v + (f" ({'; '.join(tags)})" if tags else ""))
        body.append(cells)
    return header, body


def gamma_sink(docs) -> tuple[list[str], list[list[str]]]:
    """γ (all pairs, with its bootstrap CI from BK-2; last query) and the sink mass (±1.96 SEM)
    at the native θ of every model with a BK-1 measurement."""
    header = ["Model", "γ all pairs [95 % CI]", "γ last query", "sink mass ± 1.96 SEM", "sink of uniform attention",
              "LM gain (nats)"]
    body = []
    for d in docs:
        rows = model_rows(d)
        bk1 = rows.get("BK-1")
        if not bk1 or not bk1.get("extra") or "factor" not in bk1["extra"]:
            continue
        ex, me = bk1["extra"], bk1["measured"]
        i = int(np.argmin(np.abs(np.log(np.asarray(ex["factor"], float)))))  # θ × 1
        ci = ""
        bk2 = rows.get("BK-2")
        if bk2 and (bk2.get("extra") or {}).get("gamma_lo") and bk2["extra"].get("gamma_protocol") == "all_pairs":
            ci = f" [{bk2['extra']['gamma_lo'][i]:.3f}, {bk2['extra']['gamma_hi'][i]:.3f}]"
        gain = (ex["unigram_nll"] - ex["nll"][i]) if ex.get("nll") and ex.get("unigram_nll") is not None else None
        body.append([d["model"], f"{me['gamma_all_pairs'][i]:.3f}{ci}", f"{me['gamma_last_query'][i]:.3f}",
                     f"{ex['sink'][i]:.3f} ± {Z95 * ex['sink_sem'][i]:.3f}", f"{ex['sink_uniform_level']:.4f}",
                     fmt_value(gain)])
    return header, body


def _style(i):
    return dict(color=f"C{i % 10}", marker=MARKERS[i % len(MARKERS)], ms=4)


def _depth(n):
    return (np.arange(n) + 1) / n


def fig_depth(docs, out: Path):
    """Paper Fig. 1 across the models."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    drawn, threshold = 0, None
    for i, d in enumerate(docs):
        rows = model_rows(d)
        for cid, key, what in (("TF-5", "max_share", "attention"), ("MB-1", "concentration", "Mamba |α|"),
                               ("RW-2", "learned", "RWKV WKV")):
            pl = (rows.get(cid) or {}).get("per_layer") or {}
            if key not in pl:
                continue
            y = np.asarray(pl[key], float)
            x = _depth(y.size)
            ax.plot(x, y, label=f"{d['model']} ({what})", **_style(i))
            se = pl.get(f"{key}_se")
            if se is not None:
                se = np.asarray(se, float)
                ax.fill_between(x, y - Z95 * se, y + Z95 * se, color=f"C{i % 10}", alpha=0.15)
            ex = rows[cid].get("extra") or {}
            threshold = ex.get("onset_threshold", threshold)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    if threshold is not None:
        ax.axhline(threshold, ls="--", color="grey", lw=1, label=f"onset threshold {threshold:g}")
    decorate(ax, "normalised depth k/L", "max share (mean over heads and queries)",
             "Routing concentration against depth, every model (paper Fig. 1)")
    return _save(fig, out, "fig1-depth")


def fig_tf(docs, out: Path):
    """TF family: key-norm CV (TF-1) and VE@8 (TF-2) by depth, each against its null."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    drawn = 0
    for i, d in enumerate(docs):
        rows = model_rows(d)
        tf1, tf2 = rows.get("TF-1") or {}, rows.get("TF-2") or {}
        if "norm_cv" in (tf1.get("per_layer") or {}):
            y = np.asarray(tf1["per_layer"]["norm_cv"], float)
            a1.plot(_depth(y.size), y, label=d["model"], **_style(i))
            base = (tf1.get("extra") or {}).get("baseline")
            if base is not None:
                a1.axhline(base, color=f"C{i % 10}", ls=":", lw=1, label=f"{d['model']}: 1/sqrt(2 d_h)")
            drawn += 1
        if "ve8" in (tf2.get("per_layer") or {}):
            y = np.asarray(tf2["per_layer"]["ve8"], float)
            a2.plot(_depth(y.size), y, label=d["model"], **_style(i))
            sh = tf2["per_layer"].get("ve8_shuffle")
            if sh is not None:
                a2.plot(_depth(len(sh)), np.asarray(sh, float), color=f"C{i % 10}", ls="--", lw=1,
                        label=f"{d['model']}: shuffle null")
            g = (tf2.get("extra") or {}).get("gauss_null")
            if g is not None:
                a2.axhline(g, color=f"C{i % 10}", ls=":", lw=1, label=f"{d['model']}: Gaussian null")
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    decorate(a1, "normalised depth k/L", "key-norm CV", "TF-1: key norms are not uniform")
    decorate(a2, "normalised depth k/L", "VE@8 of the keys", "TF-2: keys are low-rank beyond the nulls")
    return _save(fig, out, "tf")


def fig_bk(docs, out: Path):
    """BK family: γ and sink mass over the θ sweep, and γ against sink at the native θ."""
    plt = pyplot()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 4))
    drawn = 0
    for i, d in enumerate(docs):
        rows = model_rows(d)
        bk1 = rows.get("BK-1") or {}
        ex, me = bk1.get("extra") or {}, bk1.get("measured") or {}
        if "factor" not in ex:
            continue
        f = np.asarray(ex["factor"], float)
        st = _style(i)
        a1.plot(f, me["gamma_all_pairs"], label=d["model"], **st)
        s, se = np.asarray(ex["sink"], float), np.asarray(ex["sink_sem"], float)
        a2.errorbar(f, s, yerr=Z95 * se, capsize=3, label=d["model"], **st)
        a2.axhline(ex["sink_uniform_level"], color=st["color"], ls=":", lw=1)
        k = int(np.argmin(np.abs(np.log(f))))
        bk2 = (rows.get("BK-2") or {}).get("extra") or {}
        g = me["gamma_all_pairs"][k]
        gerr = None
        if bk2.get("gamma_lo") and bk2.get("gamma_protocol") == "all_pairs":
            gerr = [[g - bk2["gamma_lo"][k]], [bk2["gamma_hi"][k] - g]]
        a3.errorbar([s[k]], [g], xerr=[Z95 * se[k]], yerr=gerr, capsize=3, label=d["model"], **st)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    decorate(a1, "θ / native θ", "γ (all pairs)", "BK-1: γ over the θ sweep", xscale="log")
    decorate(a2, "θ / native θ", "sink mass (±1.96 SEM; dotted: uniform)", "BK-1: sink mass over the θ sweep",
             xscale="log")
    decorate(a3, "sink mass at native θ", "γ at native θ (95 % CI)", "γ against sink: distinct axes?")
    return _save(fig, out, "bk")


def _save(fig, out: Path, name: str) -> Path:
    return save_figure(fig, out.parent / f"{out.name}-{name}.png")


FIGURES = (
    ("The paper's Figure 1 across the models: max share against normalised depth (bands: ±1.96 SE over sequences).", fig_depth),
    ("TF family: key-norm CV (TF-1, dotted: the 1/√(2 d_h) baseline) and VE@8 (TF-2, dashed: shuffle null, dotted: Gaussian null) by depth.", fig_tf),
    ("BK family: γ and sink mass over the θ sweep (BK-1), and γ against sink mass at the native θ.", fig_bk),
)


def _md_table(header, body) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return "\n".join(lines)


def _html_table(header, body) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def write_compare(docs, out: Path) -> dict:
    """Write ``<out>.md``, ``<out>.html`` and ``<out>-*.png``; returns their paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    docs = sorted(docs, key=lambda d: d["model"])
    mh, mb = matrix(docs)
    gh, gb = gamma_sink(docs)
    figs = [(cap, fn(docs, out)) for cap, fn in FIGURES]
    figs = [(c, p) for c, p in figs if p is not None]
    src = ", ".join(f"{d['model']} ({d.get('created', '?')}, git {str(d.get('environment', {}).get('git_commit', '?'))[:12]})"
                    for d in docs)
    intro = ("Claims about each model (the paper-wide claims — algebra, graphs, trained-here zoo — are the same in "
             "every report and are not repeated). Cell: verdict (headline number; ⚠ fragile when a declared alternative choice flips it; what the verdict stands on). Read from: " + src + ".")
    stands = [f"{d['model']}: {t}" for d in docs
              for t in [next((r["stands_on"]["text"].split("; regime")[0] for r in model_rows(d).values()
                              if (r.get("stands_on") or {}).get("kind")), "")] if t]
    if stands:
        intro += " What each stands on — " + "; ".join(stands) + "."
    na = not_applicable_anywhere(docs)
    na_line = f"Not applicable to any of these models (architecture): {', '.join(na)}." if na else ""
    md = ["# collapse-claims — cross-model comparison", "", intro, "", "## Verdicts", "", _md_table(mh, mb), "", na_line, ""]
    h = ["<!doctype html><html><head><meta charset='utf-8'><title>collapse-claims — cross-model comparison</title>",
         "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}th{background:#eee}img{max-width:100%}</style>",
         "</head><body><h1>collapse-claims — cross-model comparison</h1>", f"<p>{html.escape(intro)}</p>",
         "<h2>Verdicts</h2>", _html_table(mh, mb), f"<p>{html.escape(na_line)}</p>"]
    if gb:
        note = ("Book ch. 002: 'a model can have high γ and little sink, or the other way around' — γ (the decay "
                "exponent of attention with distance) and the sink mass side by side, at each model's native θ.")
        md += ["## γ against sink mass", "", note, "", _md_table(gh, gb), ""]
        h += ["<h2>γ against sink mass</h2>", f"<p>{html.escape(note)}</p>", _html_table(gh, gb)]
    if figs:
        md.append("## Figures")
        h.append("<h2>Figures</h2>")
        for cap, p in figs:
            md += [f"![{cap}]({p.name})", f"*{cap}*", ""]
            h += [f"<figure><img src='{html.escape(p.name)}'><figcaption>{html.escape(cap)}</figcaption></figure>"]
    h.append("</body></html>")
    mpath, hpath = out.with_suffix(".md"), out.with_suffix(".html")
    mpath.write_text("\n".join(md))
    hpath.write_text("\n".join(h))
    return {"markdown": str(mpath), "html": str(hpath), "figures": [str(p) for _, p in figs]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m suite.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+", help="report JSON files, e.g. reports/*/latest.json")
    ap.add_argument("--out", default=None, help="output stem (default: <dir of the first report>/../compare)")
    a = ap.parse_args(argv)
    docs = load_reports(a.reports)
    out = Path(a.out) if a.out else Path(a.reports[0]).resolve().parent.parent / "compare"
    paths = write_compare(docs, out)
    print(f"cross-model page for {len(docs)} models: {paths['markdown']} and {paths['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
