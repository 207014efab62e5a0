"""What a verdict stands on: the one place a result row is labelled *the paper's model*, *another
pretrained model* (variant, quantisation), *trained here* (tokens seen, and whether the claim's regime
was reached) or *no model* (the algebra). The report header, its tables, the compare page and the
README use these words. DEVELOPERS: "Say what it stands on … A stand-in that never enters the regime
cannot refute."

A refutation worth citing stands on the paper's own model, or on a stand-in that reached the claim's
regime: the family's premises hold (``[[policy]]`` in ``claims/registry/premises.toml``) and, where the
regime is the claim's own prediction (registry ``regime_check``), that check passed too."""
from __future__ import annotations

#: what a row outside its claim's regime adds to its label (a not-reproduced verdict there stands, as measured on the
#: stand-in, and is no refutation of the paper's claim about the models it measured)
OUTSIDE = ": a stand-in outside the claim's regime, its verdict does not speak for the paper's models"
PAPER, PRETRAINED, TRAINED, ALGEBRA, MIXED = (
    "the paper's model", "another pretrained model", "trained here", "no model (algebra)", "several models")


def premise_id(check) -> str:
    """``premise <id>: <statement>`` → ``<id>``."""
    return check.name.split(":")[0].removeprefix("premise ").strip()


def regime(result, regime_check: str = "", regime_premises=()) -> tuple[bool | None, str]:
    """(reached, why) from the row's family premises (``regime_premises``: the ids of its family's policy;
    a claim's other premises — headroom, censoring, an intervention that breaks the model — are not about
    the model's regime and stay in the verdict) and its claim's ``regime_check``; None without either."""
    pre = [c for c in result.preconditions if hasattr(c, "passed") and premise_id(c) in set(regime_premises)]
    failed = [c for c in pre if not c.passed]
    if failed:
        return False, "; ".join(f"{premise_id(c)} {c.measured:.4g} "
                                f"{'≤' if c.comparator in ('>', '>=') else '≥'} {c.reference:.4g}" for c in failed)
    if regime_check:
        own = [c for c in result.checks if getattr(c, "name", "").startswith(regime_check)]
        if own and not all(c.passed for c in own):
            return False, f"the claim's own regime: {own[0].describe()}"
    if not pre and not regime_check:
        return None, ""
    return True, "premises hold" + (" and the claim's regime check passes" if regime_check else "")


def stands_on(result, *, trained_here: bool, paper_models=(), tokens: dict | None = None,
              regime_check: str = "", regime_premises=(), models: list | None = None) -> dict:
    """``{"kind", "text", "regime_reached"}`` for one result row."""
    prov = result.provenance or {}
    label = result.model
    if label == "algebra" or (not trained_here and not prov.get("source") and not prov.get("hub_id")
                              and not models and "arm" not in prov and "model" not in prov):
        return {"kind": ALGEBRA, "text": ALGEBRA, "regime_reached": None}
    if models:
        return {"kind": MIXED, "text": f"{MIXED}: {', '.join(models)} (each labelled in its own rows)",
                "regime_reached": None}
    reached, why = regime(result, regime_check, regime_premises)
    if trained_here or "arm" in prov:
        if "arm" in prov:
            what = f"GAT against a GCN control on WebKB {label.removeprefix('webkb-')}, {prov.get('runs', '?')} runs"
        else:
            toks = tokens or {}
            tk = sorted(set(toks.values()))
            amount = ("; ".join(f"{e} {t / 1e6:.2f} M" for e, t in sorted(toks.items())) + " tokens") if len(tk) > 1 \
                else (f"{tk[0] / 1e6:.2f} M tokens" if tk else "tokens not recorded")
            what = f"{label.removeprefix('zoo-').removeprefix('zoo: ')}, {amount}"
        state = ("" if reached is None else "; regime reached" if reached else f"; regime NOT reached ({why}){OUTSIDE}")
        return {"kind": TRAINED, "text": f"{TRAINED}: {what}{state}", "regime_reached": reached}
    hub = prov.get("hub_id") or prov.get("model") or label
    if hub in paper_models and not prov.get("quantisation"):
        return {"kind": PAPER, "text": f"{PAPER}: {hub} ({prov.get('dtype', '?')})", "regime_reached": reached}
    variant = prov.get("converted_dtype") or prov.get("dtype", "?")
    quant = prov.get("quantisation")
    text = f"{PRETRAINED}: {hub}" + (f", {quant}" if quant else "") + f", {variant}"
    if reached is False:
        text += f"; regime NOT reached ({why}){OUTSIDE}"
    return {"kind": PRETRAINED, "text": text, "regime_reached": reached}
