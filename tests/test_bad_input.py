"""Bad input gets a one-line error that says what to do — never a traceback, never a silent pass.
Runs the real command line (`pytest claims/ ...`) in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synthetic import tiny_model_dir

ROOT = Path(__file__).resolve().parents[1]


def audit(*args, env=None, timeout=600):
    e = dict(os.environ, HF_HUB_OFFLINE="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=e)


def audit_node(cid: str, label: str) -> str:
    """The node id of the generated audit test of claim ``cid`` on target ``label``."""
    return f"claims/test_audit.py::test_claim[{cid}-{label}]"


def one_line_error(proc, needle):
    out = proc.stdout + proc.stderr
    assert proc.returncode not in (0, 5), out
    assert "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if needle in ln]
    assert lines, out
    return lines[0]


def test_unknown_model_id_offline():
    p = audit("claims/test_audit.py", "--model", "smollm2-13m")
    line = one_line_error(p, "smollm2-13m")
    assert "did you mean 'smollm2-135m'" in line and "local directory" in line


def test_directory_without_config(tmp_path):
    p = audit("claims/test_audit.py", "--model", str(tmp_path))
    assert "config.json" in one_line_error(p, "no config.json")


def test_unsupported_architecture(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    p = audit("claims/test_audit.py", "--model", str(tmp_path))
    line = one_line_error(p, "architecture 'bert'")
    assert "supported:" in line


def test_seq_len_beyond_positions(tmp_path):
    d = tiny_model_dir("gpt2", tmp_path / "m")
    p = audit("claims/test_audit.py", "--model", str(d), "--seq-len", "512")
    assert "--seq-len" in one_line_error(p, "exceeds the 256 positions")


def test_missing_data_dir(tmp_path):
    p = audit("claims/test_audit.py", "--data-dir", str(tmp_path / "nowhere"))
    assert "--data-dir" in one_line_error(p, "not found")


def test_bad_dtype():
    p = audit("claims/test_audit.py", "--dtype", "float8")
    one_line_error(p, "--dtype")


def test_paper_model_offline_skips_with_a_reason_that_says_how(tmp_path):
    p = audit("claims/test_audit.py", "--model", "gpt2", "-rs", "--report-dir", str(tmp_path))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out  # every test skipped: nothing passed, nothing failed
    assert "passed" not in out.splitlines()[-1], out
    assert "not available offline" in out and "--model gpt2" in out and "huggingface.co" in out, out
    report = json.loads((tmp_path / "gpt2" / "latest.json").read_text())
    tf1 = [r for r in report["results"] if r["claim"] == "TF-1"][0]
    assert tf1["verdict"] == "skipped" and "offline" in tf1["summary"]


def test_nan_activations_error_in_the_audit(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    d = tiny_model_dir("llama", tmp_path / "m")
    m = AutoModelForCausalLM.from_pretrained(d)
    with torch.no_grad():
        m.model.layers[0].self_attn.k_proj.weight.fill_(float("nan"))
    m.save_pretrained(d)
    p = audit(audit_node("TF-1", "m"), "--model", str(d), "--n-seqs", "4",
              "--report-dir", str(tmp_path / "r"), env={"COLLAPSE_CLAIMS_CACHE": str(tmp_path / "cache")})
    line = one_line_error(p, "non-finite values")
    assert "NaN" in line and "--dtype float32" in line
    report = json.loads((tmp_path / "r" / "m" / "latest.json").read_text())
    assert [r for r in report["results"] if r["claim"] == "TF-1"][0]["verdict"] == "error"


def test_bad_batch_size_and_bos_are_one_line_errors():
    one_line_error(audit("claims/test_audit.py", "--batch-size", "0"), "--batch-size")
    one_line_error(audit("claims/test_audit.py", "--bos", "sometimes"), "--bos")


def test_a_model_that_does_not_work_on_the_text_reads_inconclusive(tmp_path):
    """A random-weights model predicts the text no better than its unigram baseline: every
    behavioural claim is inconclusive (skipped, reason 'inconclusive:' with the numbers), and
    the report shows that verdict and the perplexity beside the unigram baseline."""
    d = tiny_model_dir("llama", tmp_path / "m")
    p = audit(audit_node("TF-1", "m"),
              audit_node("TF-5", "m"), "--model", str(d), "--n-seqs", "4", "-rs",
              "--report-dir", str(tmp_path / "r"), env={"COLLAPSE_CLAIMS_CACHE": str(tmp_path / "cache")})
    out = p.stdout + p.stderr
    assert p.returncode == 0, out  # inconclusive is neither a pass nor a failure
    assert out.count("inconclusive: ") >= 2 and "functioning-model" in out, out
    assert "verdicts: inconclusive 2" in out, out
    report = json.loads((tmp_path / "r" / "m" / "latest.json").read_text())
    rows = {r["claim"]: r for r in report["results"]}
    for cid in ("TF-1", "TF-5"):
        assert rows[cid]["verdict"] == "inconclusive"
        pre = rows[cid]["preconditions"][0]
        assert pre["passed"] is False and pre["measured"] < pre["reference"]
    md = (tmp_path / "r" / "m" / "latest.md").read_text()
    assert "*inconclusive* (premise not met: functioning-model" in md and ", needs > 0.693" in md and "premise needs > 0.69" in md


def test_empty_evaluation_text_is_one_line_before_any_measurement_and_writes_no_report(tmp_path):
    """An empty (or too short) wiki.valid.raw is caught at configure time: exit 4, one line, no report
    (it used to error every claim test and write an all-error report over the committed one)."""
    data = tmp_path / "data" / "wikitext-103"
    data.mkdir(parents=True)
    (data / "wiki.valid.raw").write_text("\n \n")
    p = audit("claims/", "--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "r"),
              env={"COLLAPSE_CLAIMS_CACHE": str(tmp_path / "cache")})
    assert p.returncode == 4, p.stdout + p.stderr
    assert "it is empty" in one_line_error(p, "wiki.valid.raw")
    assert not (tmp_path / "r").exists()
    (data / "wiki.valid.raw").write_text("A few words of text.\n" * 20)
    p = audit("claims/", "--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "r"))
    assert p.returncode == 4 and "--n-seqs" in one_line_error(p, "fewer than the")
    assert not (tmp_path / "r").exists()


def test_evaluation_text_that_is_not_utf8_is_one_line(tmp_path):
    data = tmp_path / "data" / "wikitext-103"
    data.mkdir(parents=True)
    (data / "wiki.valid.raw").write_bytes(b"\xff\xfe" + b"\x00\x81" * 100000)
    p = audit("claims/", "--data-dir", str(tmp_path / "data"))
    assert p.returncode == 4 and "not UTF-8" in one_line_error(p, "cannot be read")


def test_the_latest_report_moves_only_for_a_complete_run_standing_as_high():
    import tempfile
    from pathlib import Path as P

    from suite.report import keeps_latest

    full = json.loads((ROOT / "reports" / "smollm2-135m" / "latest.json").read_text())
    with tempfile.TemporaryDirectory() as d:
        latest = P(d) / "latest.json"
        assert keeps_latest(full, latest) is None  # nothing there yet
        latest.write_text(json.dumps(full))
        assert keeps_latest(full, latest) is None  # the same standing replaces it
        errored = json.loads(json.dumps(full))
        errored["results"][0]["verdict"] = "error"
        assert "incomplete" in keeps_latest(errored, latest)
        narrowed = dict(full, partial="selection narrowed by -k 'TF-1'")
        assert "incomplete" in keeps_latest(narrowed, latest)
        smaller = dict(full, options=dict(full["options"], n_seqs=20))
        assert "stands lower" in keeps_latest(smaller, latest)
        scoped = dict(full, scope="model")
        assert "stands lower" in keeps_latest(scoped, latest)
        smoke = dict(full, options=dict(full["options"], zoo="smoke"))
        assert "stands lower" in keeps_latest(smoke, latest)
        # a panel that read its perturbed-weights rows (--panel-from) is not replaced by one that did not
        read = dict(full, options=dict(full["options"], panel_from="r/m@qnoise0/latest.json"))
        latest.write_text(json.dumps(read))
        assert "stands lower" in keeps_latest(dict(full, options=dict(full["options"], panel_from=None)), latest)
        assert keeps_latest(read, latest) is None
        reseeded = dict(read, options=dict(read["options"], zoo_seed=1))  # another draw of the zoo: never replaces it
        assert "stands lower" in keeps_latest(reseeded, latest)
        latest.write_text(json.dumps(errored))  # an incomplete latest is replaced by anything
        assert keeps_latest(narrowed, latest) is None
        latest.write_text("{ truncated")  # so is an unreadable one
        assert keeps_latest(smaller, latest) is None


def _broken_config(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"model_type": "llama", ')
    return ["--model", str(tmp_path / "m")]


def _garbage_gguf(tmp_path):
    (tmp_path / "g.gguf").write_bytes(b"\x00" * 64)
    return ["--model", str(tmp_path / "g.gguf")]


CLI_CASES = {  # every case ends at configure time: exit 4, one line that says what to do
    "n-seqs 1": (lambda t: ["--n-seqs", "1"], "--n-seqs: needs at least 2"),
    "seq-len 4": (lambda t: ["--seq-len", "4"], "--seq-len: needs at least 16"),
    "seq-len beyond the embedded model": (lambda t: ["--seq-len", "100000"], "lower --seq-len"),
    "broken config.json": (_broken_config, "config.json"),
    "garbage gguf": (_garbage_gguf, "GGUF magic"),
    "missing gguf": (lambda t: ["--model", str(t / "none.gguf")], "pass the path of an existing .gguf"),
    "dtype int8": (lambda t: ["--dtype", "int8"], "--dtype"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_command_lines_end_in_one_line_with_exit_4(tmp_path, case):
    args, needle = CLI_CASES[case]
    p = audit("claims/", *args(tmp_path), "--report-dir", str(tmp_path / "r"))
    one_line_error(p, needle)
    assert p.returncode == 4, p.stdout + p.stderr
    assert not (tmp_path / "r").exists()


def test_cuda_without_a_gpu_is_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: --device cuda is valid here")
    p = audit("claims/", "--device", "cuda")
    assert p.returncode == 4 and "--device cpu" in one_line_error(p, "CUDA requested")
