"""Bad input gets a one-line error that says what to do — never a traceback, never a silent pass.
Runs the real command line (`pytest claims/ ...`) in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


from fixtures.synthetic import tiny_model_dir

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
