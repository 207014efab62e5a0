"""``--model file.gguf``: any architecture transformers reads from GGUF, dequantised once and
cached by the file's sha256, with the file hash, its quantisation and the converted dtype in
the provenance. The oracle is the HF model the file was written from (``tests.synthetic.tiny_gguf``)."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch

from fixtures import gguf as gguf_pkg
from fixtures import models
from suite import errors
from tests.synthetic import tiny_gguf
from tests.test_bad_input import audit, audit_node, one_line_error

LOGIT_ATOL_F32 = 1e-4  # float32 round trip: only summation order differs
LOGIT_ATOL_F16 = 5e-2  # F16 weights: ~1e-3 relative rounding of every weight


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLAPSE_CLAIMS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("quant, atol", [("F32", LOGIT_ATOL_F32), ("F16", LOGIT_ATOL_F16)])
def test_a_gguf_file_reads_back_as_the_model_it_was_written_from(tmp_path, cache, quant, atol):
    path, oracle = tiny_gguf(tmp_path / f"tiny-{quant}.gguf", quant=quant)
    spec = models.resolve(str(path))
    assert spec.source == "gguf" and spec.label == f"tiny-{quant}"
    lm = models.load_model(spec)
    x = torch.randint(0, oracle.config.vocab_size, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (oracle(x).logits - lm.model(x).logits).abs().max().item()
    assert diff < atol
    prov = lm.provenance
    assert prov["gguf_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["quantisation"] == quant and prov["source"] == "gguf" and prov["converted_dtype"].startswith("float32")
    assert lm.tokenizer(" the")["input_ids"] == [tokens_id(lm, "Ġt"), tokens_id(lm, "he")]


def test_conversion_is_cached_by_file_hash_and_a_broken_one_heals(tmp_path, cache):
    path, _ = tiny_gguf(tmp_path / "a.gguf")
    d1 = gguf_pkg.converted_gguf_dir(path)
    copy = tmp_path / "elsewhere" / "b.gguf"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    assert gguf_pkg.converted_gguf_dir(copy) == d1  # same bytes, same cache entry
    for f in d1.glob("*.safetensors"):
        f.write_bytes(b"truncated")  # an interrupted copy of the cache
    with pytest.warns(UserWarning, match="converting a again"):
        lm = models.load_model(models.resolve(str(path)))
    assert lm.model.config.num_hidden_layers == 2


def test_gguf_metadata_names_architecture_and_quantisation(tmp_path):
    path, _ = tiny_gguf(tmp_path / "t.gguf", quant="F16")
    meta = gguf_pkg.gguf_check(path)
    assert meta["gguf_architecture"] == "llama" and meta["quantisation"] == "F16"
    assert meta["tensor_types"] == {"F16": 15, "F32": 5}  # 7 matrices x 2 layers + embeddings; 5 norms


def test_unreadable_gguf_files_get_gguf_messages(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(errors.UsageError, match="GGUF magic"):
        gguf_pkg.gguf_check(fake)
    path, _ = tiny_gguf(tmp_path / "t.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(errors.UsageError, match="cannot read GGUF file .*truncated copy"):
        gguf_pkg.gguf_check(cut)
    with pytest.raises(errors.UsageError, match="not found"):
        models.resolve(str(tmp_path / "missing.gguf"))


def test_the_command_line_refuses_a_truncated_gguf_in_one_line(tmp_path):
    path, _ = tiny_gguf(tmp_path / "t.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:3000])
    line = one_line_error(audit("claims/test_audit.py", "--model", str(cut)), "cannot read GGUF file")
    assert "cut.gguf" in line


def test_pytest_claims_audits_a_gguf_file_from_scratch(tmp_path):
    """The whole path a user takes: a GGUF file on the command line, converted, measured,
    verdicts in the report with the file's hash and quantisation in its header. A random-weights
    model does not work on the text, so its behavioural claims read inconclusive."""
    path, _ = tiny_gguf(tmp_path / "tiny.gguf")
    p = audit(audit_node("TF-1", "tiny"), "--model", str(path), "--n-seqs", "4",
              "--report-dir", str(tmp_path / "r"), env={"COLLAPSE_CLAIMS_CACHE": str(tmp_path / "cache")})
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    report = json.loads((tmp_path / "r" / "tiny" / "latest.json").read_text())
    tf1 = [r for r in report["results"] if r["claim"] == "TF-1"][0]
    assert tf1["verdict"] == "inconclusive"
    assert "verdict after" in p.stderr and "TF-1 on tiny: inconclusive" in p.stderr, p.stderr[-2000:]  # as decided
    assert tf1["provenance"]["gguf_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    md = (tmp_path / "r" / "tiny" / "latest.md").read_text()
    assert "quantisation: `F32`" in md and "gguf_sha256" in md


def tokens_id(lm, tok):
    return lm.tokenizer.convert_tokens_to_ids(tok)


def test_a_truncated_gguf_says_what_is_wrong_with_the_file(tmp_path):
    path, _ = tiny_gguf(tmp_path / "t.gguf")
    raw = path.read_bytes()
    for n, what in ((3000, "cut short"), (len(raw) - 1000, "cut short")):  # header cut; tensor data cut
        cut = tmp_path / f"cut{n}.gguf"
        cut.write_bytes(raw[:n])
        with pytest.raises(errors.UsageError) as exc:
            gguf_pkg.gguf_check(cut)
        msg = str(exc.value)
        assert what in msg and "Error" not in msg and "index" not in msg, msg


def test_a_generically_named_gguf_is_labelled_from_its_metadata(tmp_path):
    path, _ = tiny_gguf(tmp_path / "t.gguf")
    for generic in ("model.gguf", "ggml-model-Q4_K_M.gguf", "model-f16.gguf"):
        d = tmp_path / generic.replace(".", "_")
        d.mkdir()
        shutil.copyfile(path, d / generic)
        spec = models.resolve(str(d / generic))
        assert spec.label == "tiny-llama-f32" and spec.ref.endswith(generic), spec
    named = tmp_path / "my-model-Q8_0.gguf"
    shutil.copyfile(path, named)
    assert models.resolve(str(named)).label == "my-model-Q8_0"  # a file name that says something is kept
