"""Reproducibility report: ``reports/<model>/<timestamp>.json`` (typed schema, see
``suite.results.ClaimResult``) and its Markdown rendering with the table
``Claim | Model | Measured | Null | Threshold | Paper | Verdict`` plus PNG figures.

Rows come from recorded results; tests that skipped or errored before recording, and
registry claims never run, still get a row (skipped / not applicable / error / pending),
so a report always lists every claim in the registry.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import shutil
from pathlib import Path

from suite import provenance
from suite.cache import write_atomic
from suite.compare import write_compare
from suite.plots import SECTIONS, draw_all
from suite.registry import registry
from suite.results import SCHEMA_VERSION, claim_order, fmt_value
from suite.robustness import mark_text

SHARED_MODELS_PREFIXES = ("algebra", "webkb", "zoo")
UNSETTLED = ("error",)  # verdicts that leave a report incomplete ("pending" is a registry state, not a failure)
DTYPE_RANK = {"float64": 2, "float32": 1}  # a 16-bit run stands lower than a float32 one
NOT_SELECTED = "not selected in this run"  # the summary of a registry claim a narrowed selection left out


def _rows(results, outcomes, scoped: bool = False):
    """One row per (claim, model): recorded results first, then outcomes that recorded none
    (skips, errors), then, in a full audit, every registry claim never run. Each row carries its
    ``scope``: ``model`` (about the audited model) or ``paper`` (the same whatever the model)."""
    reg = registry()
    rows = {(r["claim"], r["model"]): r for r in results}
    for o in outcomes:
        recorded = {tuple(x) for x in o["recorded"]}
        for cid in o["claims"]:
            model = o["model"] or "—"
            if (cid, model) in rows or any(c == cid for c, _ in recorded):
                continue
            if o["outcome"] == "skipped":
                na = o["reason"].startswith("not applicable")
                verdict = "not applicable" if na else "skipped"
            elif o["outcome"] == "failed":
                verdict = "error"
            else:
                continue
            rows[(cid, model)] = {
                "claim": cid, "model": model, "verdict": verdict, "summary": o["reason"],
                "claim_version": reg[cid].version, "schema_version": SCHEMA_VERSION,
                "expected_verdict": reg[cid].expected_verdict(model), "scope": o.get("scope", "paper"),
            }
    seen = {c for c, _ in rows}
    for cid, claim in reg.items():
        if cid not in seen and not scoped:
            verdict, summary = {
                "pending": ("pending", "implemented by later work"),
                "recorded": ("recorded", f"{claim.kind}, not tested here: {claim.not_tested}"),
            }.get(claim.status, ("skipped", NOT_SELECTED))
            rows[(cid, "—")] = {
                "claim": cid, "model": "—", "verdict": verdict, "summary": summary,
                "claim_version": claim.version, "schema_version": SCHEMA_VERSION, "scope": "paper",
            }
    return sorted(rows.values(), key=lambda r: (claim_order(r["claim"]), r["model"]))


def split_rows(rows, label: str, labels):
    """(rows about model ``label``, the paper's other rows). A model-scoped row that names no
    model of the run (a family comparison such as TF-4) belongs to every model's report."""
    mine = [r for r in rows if r.get("scope") == "model" and (r["model"] == label or r["model"] not in labels)]
    paper = [r for r in rows if r.get("scope") != "model"]
    return mine, paper


def count_verdicts(rows) -> dict:
    counts: dict = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def _counts_text(counts) -> str:
    return ", ".join(f"{v} {n}" for v, n in sorted(counts.items())) or "none"


def markdown_table(rows) -> str:
    reg = registry()
    head = ("| Claim | Model | Stands on | Measured | Null | Threshold | Paper | Verdict | Robustness |\n"
            "|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    na = {}
    for r in rows:
        if r["verdict"] == "not applicable":  # folded into one line below the table
            na.setdefault(r["model"], []).append(r["claim"])
            continue
        claim = reg[r["claim"]]
        thr = r.get("threshold", claim.threshold)
        null = r.get("null")
        if null is None and r.get("verdict") in ("pending", "skipped", "not applicable", "error", "recorded"):
            null = None
        verdict = r["verdict"]
        if r.get("expected_verdict") and r["expected_verdict"] != verdict:
            verdict += f" (registry expects: {r['expected_verdict']})"
        elif r.get("expected_verdict") == verdict == "not reproduced":
            verdict = "**not reproduced** (recorded disagreement)"
        elif verdict == "not reproduced":
            verdict = "**not reproduced**"
        elif verdict == "inconclusive":
            bad = [c for c in r.get("preconditions") or [] if not c.get("passed")]
            verdict = "*inconclusive* (premise not met: " + "; ".join(
                f"{c['name'].removeprefix('premise ').split(':')[0]} {fmt_value(c['measured'], 3)}, needs "
                f"{c['comparator']} {fmt_value(c['reference'], 3)}" for c in bad) + ")"
        elif verdict in ("skipped", "not applicable", "error", "pending", "recorded") and r.get("summary"):
            # the whole reason: it ends with the command that un-skips the claim (never cut mid-command)
            verdict += f" ({fmt_value(r['summary'])})"
        stand = (r.get("stands_on") or {}).get("text", "")
        lines.append(
            f"| {r['claim']} | {r['model']} | {stand} | {fmt_value(r.get('measured'))} | {fmt_value(null)} | "
            f"{fmt_value(thr)} | {fmt_value(r.get('paper') if r.get('paper') is not None else (claim.paper_values or None))}"
            f" | {verdict} | {mark_text(r.get('robustness'))} |"
        )
    for model, ids in na.items():
        lines.append("")
        lines.append(f"Not applicable to {model} (architecture): {', '.join(ids)}.")
    return "\n".join(lines)


def _details(rows) -> str:
    reg = registry()
    out = []
    for r in rows:
        if not r.get("checks") and not r.get("summary"):
            continue
        c = reg[r["claim"]]
        out.append(f"### {r['claim']} — {r['model']}: {r['verdict']}")
        out.append(f"*{c.statement}* ({c.source}; claim v{r.get('claim_version', c.version)})  ")
        if (r.get("stands_on") or {}).get("text"):
            out.append(f"Stands on: {r['stands_on']['text']}.  ")
        out.append(f"Quantity: {c.quantity}. Tolerance: {c.tolerance.value} {c.tolerance.unit} "
                   f"({c.tolerance.provenance}).")
        if r.get("summary"):
            out.append("")
            out.append(str(r["summary"]))
        pre = r.get("preconditions") or []
        if c.intervention is not None:
            out.append("")
            out.append(f"Intervention ({c.intervention.kind}): {c.intervention.what}.")
        if pre:
            out.append("")
            out.append("Premises (evaluated first; a failed one makes the verdict inconclusive):")
            for ch in pre:
                ok = "holds" if ch.get("passed") else "**does not hold**"
                out.append(f"- {ch['name']}: {fmt_value(ch['measured'], 4)} {ch['comparator']} "
                           f"{fmt_value(ch['reference'], 4)} (margin {fmt_value(ch.get('margin'), 3)}): {ok} — source: {ch.get('note', '')}")
            out.append("")
            out.append("Checks" + (" (not deciding: a premise does not hold):" if r["verdict"] == "inconclusive" else ":"))
        for ch in r.get("checks") or []:
            ok = "ok" if ch.get("passed") else "**fails**"
            note = f" — {ch['note']}" if ch.get("note") else ""
            out.append(f"- {ch['name']}: {fmt_value(ch['measured'], 4)} {ch['comparator']} "
                       f"{fmt_value(ch['reference'], 4)} (margin {fmt_value(ch.get('margin'), 3)}): {ok}{note}")
        if r.get("expected_verdict"):
            why = c.expected.get(r["model"], {}).get("reason", "")
            out.append(f"- recorded expectation for this model: {r['expected_verdict']} — {why}")
        rob = r.get("robustness") or {}
        if rob.get("alternatives"):
            out.append("")
            out.append(f"Robustness panel ({mark_text(rob)}; the verdict above is the registry's rule, these "
                       "are the declared alternatives, recomputed on the same measurement):")
            for a in rob["alternatives"]:
                got = a.get("verdict") and (a["verdict"] + (f" (read from {a['from']})" if a.get("from") else ""))
                out.append(f"- {a['name']}: " + (got or f"not run ({a.get('not_run')})") + f" — {a['why']}")
        out += _changelog_lines(c)
        out.append("")
    return "\n".join(out)


def _changelog_lines(c) -> list[str]:
    """The claim's pre-registration record: every change of its decision rule, with the verdict seen
    under the rule before it."""
    if not c.changelog:
        return []
    out = ["", f"Decision-rule history (claim v{c.version}):"]
    for e in c.changelog:
        tag = f"v{e.version}" if e.bumped else f"within v{e.version}, not bumped at the time"
        out.append(f"- {tag} ({e.date}{', ' + e.commit if e.commit else ''}): {e.change} Why: {e.why} "
                   f"Verdict seen before: {e.verdict_seen}.")
    return out


def model_use_line(prov: dict) -> str:
    """How the model was fed and whether it works on the text: the BOS handling and the
    perplexity on the measured windows beside their unigram baseline (the functioning-model
    premise of every behavioural claim)."""

    parts = []
    if prov.get("bos_mode"):  # the data's provenance (bos_id is absent where None: suite.provenance.collect)
        parts.append(f"input: {provenance.bos_words(prov.get('bos_id'), prov['seq_len'])} per window "
                     f"(--bos {prov['bos_mode']})")
    nll, uni = prov.get("nll"), prov.get("unigram_nll")
    gate = next((p for c in registry().values() for p in c.preconditions if p.id == "functioning-model"), None)
    if nll is not None and uni is not None:
        need = f"; the functioning-model premise needs {gate.comparator} {gate.threshold:.2f}" if gate else ""
        parts.append(f"perplexity on the measured windows {math.exp(nll):.1f} vs their unigram baseline "
                     f"{math.exp(uni):.1f} (gain {uni - nll:.2f} nats/token{need})")
    return ("Model as used — " + "; ".join(parts) + ".") if parts else ""


PAPER_WIDE = "the algebra, the WebKB graphs, the trained-here zoo and the paper's hub checkpoints"


def scope_line(options, not_run) -> str:
    if options.scope != "model" or not not_run:
        return ""
    return (f"Model-scoped run: the paper-wide claims ({PAPER_WIDE}) were not run — {', '.join(not_run)}. "
            "Run `pytest claims/` (the full audit) or add `--all-claims` for them.")


def lock_lines(env: dict) -> list[str]:
    """The report's warning when the installed libraries are not the locked ones (requirements.lock)."""
    diff = env.get("lock_differs") or {}
    if not diff:
        return []
    items = ", ".join(f"{k} {v['installed'] or 'missing'} (locked {v['locked']})" for k, v in sorted(diff.items()))
    return [f"**Environment differs from requirements.lock:** {items}. The committed reports were made with the "
            "locked versions; `make venv` installs them.", ""]


def completeness(doc: dict) -> str | None:
    """Why a report is not a complete run (None when it is): the run's own ``partial`` (a narrowed
    selection, a session that did not end normally), a row that errored, or a registry claim the
    selection left out."""
    if doc.get("partial"):
        return doc["partial"]
    bad = sorted({r["claim"] for r in doc.get("results", []) if r.get("verdict") in UNSETTLED})
    if bad:
        return f"{len(bad)} claim(s) errored ({', '.join(bad[:4])})"
    unselected = [r["claim"] for r in doc.get("results", []) if r.get("summary") == NOT_SELECTED]
    if unselected:
        return f"{len(unselected)} claim(s) not selected"
    return None


def _n_panel_from(value) -> int:
    return 1 if isinstance(value, str) else len(value or [])


def _standing(doc: dict) -> tuple:
    opts = doc.get("options") or {}
    return (doc.get("scope") == "all", opts.get("zoo") == "full", opts.get("n_seqs") or 0, opts.get("seq_len") or 0,
            DTYPE_RANK.get(opts.get("dtype") or "float32", 0),
            not opts.get("zoo_seed"),  # a --zoo-seed run (another draw of the zoo) never replaces the zoo's own
            _n_panel_from(opts.get("panel_from")))  # a panel that read more of its on-request rows


def keeps_latest(new: dict, latest: Path) -> str | None:
    """Why ``latest`` must stay (None: ``new`` may replace it). A complete report is replaced only by
    a complete one that stands at least as high in every respect: scope (the full audit over a
    model-scoped one), zoo scale, sequences, tokens per sequence, dtype, the zoo's own seeds over
    another draw (``--zoo-seed``), a robustness panel that read more on-request reports (``--panel-from``). An incomplete or unreadable
    latest is always replaced."""
    try:
        old = json.loads(latest.read_text())
    except (OSError, ValueError):
        return None
    if completeness(old) is not None:
        return None
    why = completeness(new)
    if why is not None:
        return f"this run is incomplete ({why})"
    if any(n < o for n, o in zip(_standing(new), _standing(old))):
        return f"it is a complete {_describe(old)} and this run stands lower ({_describe(new)})"
    return None


def _describe(doc: dict) -> str:
    opts = doc.get("options") or {}
    return (f"{'full' if doc.get('scope') == 'all' else 'model-scoped'} audit (zoo {opts.get('zoo')}, "
            f"{opts.get('n_seqs')} × {opts.get('seq_len')} tokens, {opts.get('dtype') or 'float32'})")


def write_reports(results, outcomes, options, specs, deselected=(), partial: str | None = None) -> list[dict]:
    """Write one report per model under test: its own claims first, then (in a full audit) the
    paper's other claims; with several models, also the cross-model page. ``partial``: why the run
    is not complete (a narrowed selection, an interrupted session), recorded in the report.
    ``<model>/latest.{json,md}`` move to this run only where :func:`keeps_latest` allows."""

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    labels = [s.label for s in specs]
    scoped = options.scope == "model"
    rows_all = _rows(results, outcomes, scoped=scoped)
    ran = {r["claim"] for r in rows_all}
    not_run = sorted(set(deselected) - ran, key=claim_order) if scoped else []
    if scoped:  # registry claims with no test collected at all are listed too
        not_run = sorted(set(not_run) | (set(registry()) - ran), key=claim_order)
    written, docs = [], []
    sections = {n: sec.data(rows_all, options) for n, sec in SECTIONS.items()}  # the same for every model's report
    for spec in specs:
        mine, paper = split_rows(rows_all, spec.label, labels)
        rows = mine + paper
        outdir = Path(options.report_dir) / spec.label
        outdir.mkdir(parents=True, exist_ok=True)
        figs = []
        fig_error = None
        try:
            figs = draw_all(rows, outdir, stamp)
            for n, sec in SECTIONS.items():
                if sections[n]:
                    figs += sec.figures(sections[n], outdir, stamp)
        except Exception as exc:  # figures must not hide the numbers; say so in the report
            fig_error = f"{type(exc).__name__}: {exc}"
        doc = {
            "schema_version": SCHEMA_VERSION,
            "created": stamp,
            "model": spec.label,
            "model_ref": spec.ref,
            "scope": options.scope,
            "partial": partial,
            "not_run": not_run,
            "options": {k: getattr(options, k) for k in ("device", "device_map", "dtype", "n_seqs", "seq_len", "data_dir", "seed", "bos", "zoo", "zoo_seed")} | {"panel_from": list(options.panel_from)},
            "environment": provenance.environment(),
            "results": rows,
            "figures": [{"caption": c, "path": Path(p).name} for c, p in figs],
            **{n: sec.record(sections[n]) for n, sec in SECTIONS.items()},
        }
        jpath = outdir / f"{stamp}.json"
        doc = provenance.portable(doc)  # no machine paths in a report that is cited or committed
        jpath.write_text(json.dumps(doc, indent=1, default=str))
        docs.append((jpath, doc))
        table = markdown_table(mine) if mine else f"(no claim test about {spec.label} ran)"
        paper_table = markdown_table(paper) if paper else ""
        counts, paper_counts = count_verdicts(mine), count_verdicts(paper)
        env = doc["environment"]
        verdict_line = f"Verdicts on {spec.label}: " + _counts_text(counts) + "."
        if paper:
            verdict_line += " On the paper's other claims: " + _counts_text(paper_counts) + "."
        md = [
            f"# collapse-claims reproducibility report — {spec.label}",
            "",
            f"Paper: *All Routes Lead to Collapse* (arXiv 2606.22325) and the two book chapters on "
            f"attention sinks. Model `{spec.ref}` ({spec.source}); {options.n_seqs} sequences × "
            f"{options.seq_len} tokens of WikiText-103 validation; dtype {options.dtype}; device "
            f"{options.device}; seed {options.seed}; git {env['git_commit']}; torch "
            f"{env['versions']['torch']}, transformers {env['versions']['transformers']}. Generated {stamp}.",
            "",
            *lock_lines(env),
            verdict_line,
            "A claim is *reproduced* only if its premises hold and every check passes beyond its margin; "
            "*not reproduced* means the premises held, the test ran on real weights and the claim failed; "
            "*inconclusive* means a premise of the claim (registry `preconditions`, each from the seed's own "
            "wording) does not hold on this model, so the test cannot speak either way (the numbers are below).",
            "",
            *([f"Robustness panel: on-request rows read from {', '.join(f'`{x}`' for x in options.panel_from)} "
               f"(`--perturb-weights` / `--zoo-seed` runs).", ""] if options.panel_from else []),
            *([f"Trained-here zoo: another draw of every recipe (`--zoo-seed {options.zoo_seed}`: weight and data seeds "
               f"shifted by {options.zoo_seed * 100}); these rows feed another run's robustness panel.", ""]
              if options.zoo_seed else []),
            f"## Claims about {spec.label}",
            "",
            table,
            "",
        ]
        sl = scope_line(options, not_run)
        if paper:
            md += [f"## The paper's other claims ({PAPER_WIDE})", "",
                   "The same whatever model is audited; they decide the full audit's exit status, not this model's.", "",
                   paper_table, ""]
        elif sl:
            md += ["## The paper's other claims", "", sl, ""]
        for n, sec in SECTIONS.items():
            if sections[n]:
                md += sec.markdown(sections[n], options)
        if fig_error:
            md += [f"**Figures failed to render:** {fig_error}", ""]
        if figs:
            md.append("## Figures")
            for cap, p in figs:
                md += [f"![{cap}]({Path(p).name})", f"*{cap}*", ""]
        md += ["## Details", "", _details(rows)]
        prov = next((r.get("provenance") for r in rows if r["model"] == spec.label and r.get("provenance")), None) or {}
        ident = [f"{k}: `{prov[k]}`" for k in ("hub_id", "package", "gguf_file", "gguf_sha256", "quantisation", "converted_dtype",
                                               "revision", "weights_sha256", "architecture", "data_file_sha256") if prov.get(k)]
        head = []
        if ident:
            head.append("Model provenance — " + "; ".join(ident) + ".")
        own = next((r["stands_on"]["text"] for r in mine if (r.get("stands_on") or {}).get("kind")), None)
        if own:
            head.append(f"What the verdicts on {spec.label} stand on — {own.split('; regime')[0]}. The paper's "
                        "own models are fp32 base checkpoints; a verdict here is the paper's claim tested on a "
                        "stand-in, labelled in every row (column *Stands on*).")
        lm = model_use_line(prov)
        if lm:
            head.append(lm)
        made = sorted({(p.get("host") or "?", p.get("device") or "?", p.get("dtype") or "?")
                       for r in mine for p in [r.get("provenance") or {}] if p.get("host")})
        if made:
            head.append("Measured on — " + "; ".join(f"host `{h}`, device {d}, dtype {t}" for h, d, t in made)
                        + " (each measurement's provenance: a cached measurement may come from another machine).")
        fragile = [f"{r['claim']} on {r['model']} ({mark_text(r.get('robustness'))})" for r in rows
                   if (r.get("robustness") or {}).get("mark") == "fragile"]
        head.append("Robustness: each verdict is recomputed under the alternative choices its registry record "
                    "declares (column *Robustness*; a mark beside the verdict, never a change of it). "
                    + (f"Fragile: {'; '.join(fragile)}." if fragile else "No verdict flips under a declared alternative."))
        for i, line in enumerate(head):
            md[4 + 2 * i:4 + 2 * i] = [line, ""]
        mpath = outdir / f"{stamp}.md"
        mpath.write_text("\n".join(md))
        kept = keeps_latest(doc, outdir / "latest.json")
        if kept is None:
            for src, name in ((mpath, "latest.md"), (jpath, "latest.json")):
                write_atomic(outdir / name, lambda tmp, src=src: shutil.copyfile(src, tmp))
        written.append({"json": str(jpath), "markdown": str(mpath), "table": table, "paper_table": paper_table,
                        "counts": counts, "paper_counts": paper_counts, "scope_line": sl,
                        "latest_kept": f"{outdir / 'latest.json'} kept: {kept}" if kept else None})
    if len(docs) > 1:  # several models: the cross-model page beside their reports
        page = write_compare([d for _, d in docs], Path(options.report_dir) / "compare")
        for w in written:
            w["compare"] = page["html"]
    return written
