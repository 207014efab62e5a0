"""pytest plugin of collapse-claims: options, model parametrisation, result collection and
the reproducibility report (written once, on the controller, in ``pytest_sessionfinish``). The session
fixtures are in ``fixtures/session.py``."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import torch
from hypothesis import settings
from xdist.scheduler import LoadScopeScheduling

pytest.register_assert_rewrite("fixtures.session")  # imported here before pytest_plugins loads it
import claims  # noqa: E402
from fixtures.data import preflight_data  # noqa: E402
from fixtures.session import OPTIONS, RESULT_KEY, run_options  # noqa: E402
from fixtures.targets import preflight, run_specs  # noqa: E402
from suite import errors, plots, progress  # noqa: E402
from suite.family import audit_cases, load_families  # noqa: E402
from suite.options import CLI_OPTIONS  # noqa: E402
from suite.progress import note  # noqa: E402
from suite.registry import registry  # noqa: E402
from suite.report import write_reports  # noqa: E402
from suite.robustness import load_panel_from  # noqa: E402

pytest_plugins = ("fixtures.session",)  # the session fixtures: options, measurements, claims, record_claim
CLAIMS_DIR = Path(__file__).resolve().parent / "claims"
SPECS = pytest.StashKey[list]()
STATE = pytest.StashKey["RunState"]()


# ----------------------------------------------------------------------------- options
def pytest_addoption(parser):
    g = parser.getgroup("collapse-claims")
    for flag, kw in CLI_OPTIONS:
        g.addoption(flag, **kw)

def pytest_configure(config):
    settings.register_profile("ci", deadline=None, derandomize=True, max_examples=60, print_blob=True)
    settings.register_profile("dev", deadline=None, max_examples=200)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    progress.configure(config)
    if getattr(config.option, "maxschedchunk", "absent") is None:
        # xdist's first chunk per worker is a quarter of its share of consecutive tests; a helper worker that
        # prefetches the zoo (suite.family.Measurements) would hold the model's first tests until the zoo is
        # done. Chunks of 2: the helper holds two algebra tests, gw0 decides the model's claims in order.
        config.option.maxschedchunk = 2
    if hasattr(config, "workerinput"):  # xdist: one BLAS thread per worker, no oversubscription
        torch.set_num_threads(max(1, (os.cpu_count() or 2) // int(config.workerinput.get("workercount", 1))))
    config.stash[STATE] = RunState()
    config.pluginmanager.register(ResultCollector(config), "collapse-claims-results")
    try:
        config.stash[OPTIONS] = opts = run_options(config.getoption, getattr(config, "workerinput", {}).get("workerid"))
        registry()  # schema check before anything runs
        config.stash[SPECS] = list(run_specs(tuple(opts.models)))  # resolved once: the families read the same
        if not hasattr(config, "workerinput"):  # once, on the controller
            for spec in config.stash[SPECS]:
                preflight(spec, opts.seq_len)
            load_panel_from(opts.panel_from)  # a bad --panel-from file fails here, with one line
            if audits_claims(config):  # the suite's self-tests (`pytest tests/`) need no evaluation text
                preflight_data(opts.data_dir, opts.n_seqs, opts.seq_len)
    except errors.UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    except errors.WeightsUnavailable as exc:  # of the embedded model, etc.: still one line
        raise pytest.UsageError(str(exc)) from None


def audits_claims(config) -> bool:
    """Whether the command line runs claim tests (a path in or above ``claims/``)."""
    for a in config.args:
        p = Path(a.split("::")[0]).resolve()
        if p == CLAIMS_DIR or CLAIMS_DIR in p.parents or p in CLAIMS_DIR.parents:
            return True
    return False


# ----------------------------------------------------------------------------- parametrisation
def pytest_generate_tests(metafunc):
    if "audit_case" in metafunc.fixturenames:  # claims/test_audit.py: registry × targets
        load_families(claims)
        cases = audit_cases(metafunc.config.stash[OPTIONS])
        metafunc.parametrize("audit_case", [pytest.param(c, id=c.id, marks=_case_marks(c)) for c in cases])


def _case_group(case) -> str | None:
    """The xdist group of an audit test: its target's group, else the model it is about."""
    return case.target.group or (case.target.label if case.target.scope == "model" else None)


def _case_marks(case) -> list:
    marks = [pytest.mark.claim(case.cid)] + [getattr(pytest.mark, m) for m in case.target.marks]
    if _case_group(case):
        marks.append(pytest.mark.xdist_group(name=_case_group(case)))
    return marks


class ModelGroupScheduling(LoadScopeScheduling):
    """``-n N --dist loadgroup``: the tests of one group (one model) go to one worker, so with ``--device cuda``
    one model stays on one GPU (worker gwK takes GPU K). xdist's own loadgroup renames items through
    ``item._nodeid``, which pytest 9 no longer reads, so it does not group; this scheduler reads the groups from
    the run's audit cases, computed on the controller as the workers compute them, by test id."""

    def __init__(self, config, log, groups: dict):
        super().__init__(config, log)
        self.groups = groups

    def _split_scope(self, nodeid: str) -> str:
        test = nodeid.split("::")[-1]
        if test.rfind("@") > test.rfind("]"):  # xdist's group suffix, where it takes effect
            test = test[:test.rfind("@")]
        return self.groups.get(test, nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup" or OPTIONS not in config.stash:
        return None
    load_families(claims)
    groups = {f"test_claim[{c.id}]": _case_group(c) for c in audit_cases(config.stash[OPTIONS]) if _case_group(c)}
    return ModelGroupScheduling(config, log, groups)


# ----------------------------------------------------------------------------- errors
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(errors.UsageError):
        rep.longrepr = f"{call.excinfo.typename}: {call.excinfo.value}"
    ids = [m.args for m in item.iter_markers("claim")]
    rep.user_properties.append(("collapse_claim_ids", [i for a in ids for i in a]))
    spec = getattr(item, "callspec", None)
    label = None
    if spec is not None and "audit_case" in spec.params:
        label = spec.params["audit_case"].target.label
    rep.user_properties.append(("collapse_model", label))
    rep.user_properties.append(("collapse_scope", item_scope(item)))


# ----------------------------------------------------------------------------- scope
def item_scope(item) -> str:
    """``model``: an audit test of a claim about the models given with ``--model`` (its target's scope);
    ``paper``: a paper-wide claim (the algebra, the graphs, the trained-here zoo, the paper's hub
    checkpoints), the same whatever model is audited, and every self-test."""
    case = getattr(getattr(item, "callspec", None), "params", {}).get("audit_case")
    return case.target.scope if case is not None else "paper"


@pytest.hookimpl(tryfirst=True)  # deselect before the other plugins (xdist) see the items
def pytest_collection_modifyitems(session, config, items):
    """A model-scoped run (``--model`` given, no ``--all-claims``) keeps only the claims about the
    given models: the paper-wide ones are deselected (listed in the report), so the exit status
    answers "does this model satisfy the claims?". (Every audit test of one model is in that model's
    xdist group, :func:`_case_marks`, so ``-n N --dist loadgroup`` runs each model on one worker.)"""
    opts = config.stash.get(OPTIONS, None)
    if opts is None or opts.scope != "model":
        return
    keep, drop = [], []
    for item in items:
        in_claims = CLAIMS_DIR in item.path.parents
        (drop if in_claims and item_scope(item) == "paper" else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        state = config.stash[STATE]
        state.deselected = sorted({i for it in drop for m in it.iter_markers("claim") for i in m.args})


# ----------------------------------------------------------------------------- collection
class RunState:
    """What the plugin gathers during a run (``config.stash[STATE]``), read at session end."""

    def __init__(self):
        self.t0 = time.monotonic()  # the run's start (before the one-time model conversion), for the verdict lines
        self.results: list[dict] = []
        self.outcomes: list[dict] = []
        self.deselected: list[str] = []  # paper-wide claims left out of a model-scoped run
        self.report_paths: list[dict] | None = None
        self.report_error: str | None = None


def partial_run(session, exitstatus) -> str | None:
    """Why this run is not the complete audit of its scope (None when it is): a selection narrowed
    by ``-k``, ``-m``, ``--deselect``, ``--ignore``, node ids or paths that leave out a claims file,
    ``--lf``, or a session that did not end normally (``-x``, Ctrl-C, a crashed worker, an internal error)."""
    config, opt = session.config, session.config.option
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or session.shouldstop or session.shouldfail:
        return f"the session did not end normally (exit {int(exitstatus)})"
    paths = [Path(a.split("::")[0]).resolve() for a in config.args]
    covered = {f for f in CLAIMS_DIR.glob("test_*.py") if any(f == p or p in f.parents for p in paths)}
    narrowed = [f"-k {opt.keyword!r}" if getattr(opt, "keyword", "") else "",
                f"-m {opt.markexpr!r}" if getattr(opt, "markexpr", "") else "",
                "--deselect" if getattr(opt, "deselect", None) else "",
                "--ignore" if getattr(opt, "ignore", None) or getattr(opt, "ignore_glob", None) else "",
                "node ids" if any("::" in a for a in config.args) else "",
                "paths that leave out claims files" if covered != set(CLAIMS_DIR.glob("test_*.py")) else "",
                "--lf" if getattr(opt, "lf", False) else ""]
    narrowed = [n for n in narrowed if n]
    return f"selection narrowed by {', '.join(narrowed)}" if narrowed else None


class ResultCollector:
    """Collects each recorded ClaimResult and each claim test's outcome (on the xdist
    controller they arrive as reports from the workers), then writes the report."""

    def __init__(self, config):
        self.config = config

    def pytest_runtest_logreport(self, report):
        state = self.config.stash[STATE]
        props = dict((k, v) for k, v in report.user_properties if k != RESULT_KEY)
        ids = props.get("collapse_claim_ids") or []
        if not ids:
            return
        scope = props.get("collapse_scope", "paper")
        recorded = [dict(json.loads(v), scope=scope) for k, v in report.user_properties if k == RESULT_KEY]
        if report.when == "call":
            state.results.extend(recorded)
            if recorded and not hasattr(self.config, "workerinput"):  # each verdict as it is decided (issue 26)
                for r in recorded:
                    note(f"verdict after {time.monotonic() - state.t0:.0f} s: {r['claim']} on {r['model']}: {r['verdict']}")
        if report.skipped or report.failed or (report.when == "call" and report.passed):
            reason = ""
            if report.skipped and isinstance(report.longrepr, tuple):
                reason = report.longrepr[2].removeprefix("Skipped: ")
            elif report.failed:
                reason = str(report.longrepr).strip().splitlines()[-1][:400] if report.longrepr else ""
            state.outcomes.append({
                "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                "claims": ids, "model": props.get("collapse_model"), "reason": reason, "scope": scope,
                "recorded": [(r["claim"], r["model"]) for r in recorded],
            })

    def pytest_sessionfinish(self, session, exitstatus):
        config = self.config
        state = config.stash[STATE]
        if hasattr(config, "workerinput") or not state.outcomes:
            return
        plots.load(claims)  # the families' figures and report sections (the harness imports no family)

        try:
            state.report_paths = write_reports(state.results, state.outcomes, config.stash[OPTIONS],
                                               specs=config.stash[SPECS], deselected=state.deselected,
                                               partial=partial_run(session, exitstatus))
        except Exception as exc:  # a broken report must be loud, not silent
            state.report_error = f"{type(exc).__name__}: {exc}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        state = config.stash[STATE]
        if state.report_error:
            terminalreporter.write_sep("=", "collapse-claims report FAILED", red=True)
            terminalreporter.write_line(state.report_error)
            return
        if not state.report_paths:
            return
        terminalreporter.write_sep("=", "collapse-claims reproducibility report")
        for p in state.report_paths:
            terminalreporter.write_line(p["table"])
            counts = p.get("counts") or {}
            terminalreporter.write_line("verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
            if p.get("paper_table"):
                terminalreporter.write_line("")
                terminalreporter.write_line("The paper's other claims:")
                terminalreporter.write_line(p["paper_table"])
                terminalreporter.write_line("paper-wide verdicts: " + ", ".join(
                    f"{v} {n}" for v, n in sorted((p.get("paper_counts") or {}).items())))
            if p.get("scope_line"):
                terminalreporter.write_line(p["scope_line"])
            terminalreporter.write_line(f"report: {p['markdown']}  (json: {p['json']})")
            if p.get("latest_kept"):
                terminalreporter.write_line(p["latest_kept"])
        if len(state.report_paths) > 1 and state.report_paths[0].get("compare"):
            terminalreporter.write_line(f"cross-model page: {state.report_paths[0]['compare']}")
