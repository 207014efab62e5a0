"""The robustness panel's on-request alternative for a quantised model (issue 22): its weights perturbed at
their quantisation step (``fixtures.quant_noise``, ``--model <m>@qnoise<SEED>`` / ``--perturb-weights``),
and the panel rows that read such a run's verdicts (``suite.robustness.with_on_request``)."""
from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from fixtures import models
from fixtures.quant_noise import UnsupportedQuantisation, perturb, quant_step
from suite import errors
from suite.robustness import (FRAGILE, PERTURBED, ROBUST, SEED, UNASSESSED, _read_panel_from, load_panel_from,
                              mark_text, with_on_request)
from tests.synthetic import tiny_gguf

T = gguf.GGMLQuantizationType
WRITABLE = ("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1")  # gguf-py quantises these itself


@given(qtype=st.sampled_from(WRITABLE), seed=st.integers(0, 2**16), scale=st.floats(1e-3, 1e2))
def test_quant_step_is_the_grid_of_every_block(qtype, seed, scale):
    """Every dequantised block lies on ``offset + step · integer`` for the step read from the raw bytes (oracle:
    gguf-py's own quantiser), and the perturbation stays within ± half a step."""
    x = (np.random.default_rng(seed).standard_normal((3, 64)) * scale).astype(np.float32)
    raw = gguf.quants.quantize(x, T[qtype])
    w = gguf.quants.dequantize(raw, T[qtype])
    step = quant_step(raw, T[qtype])
    assert step.shape == w.shape and np.all(step >= 0)
    blocks, steps = w.reshape(-1, 32), step.reshape(-1, 32)
    assert np.all(steps == steps[:, :1])  # one step per 32-weight block
    live = steps[:, 0] > 0
    k = (blocks[live] - blocks[live].min(1, keepdims=True)) / steps[live][:, :1]
    np.testing.assert_allclose(k, np.round(k), atol=1e-3)
    p = perturb(raw, T[qtype], seed)
    assert np.all(np.abs(p - w) <= step / 2 * (1 + 1e-6) + 1e-12)
    np.testing.assert_array_equal(p, perturb(raw, T[qtype], seed))  # seeded by the bytes: reproducible


def test_k_quant_steps_follow_their_sub_block_scales():
    """Q4_K / Q6_K blocks (random payloads, finite scales): 32- and 16-weight sub-blocks on their own grid."""
    rng = np.random.default_rng(0)
    for name, sub, d_at in (("Q4_K", 32, (0, 2)), ("Q6_K", 16, (208, 210))):
        size = gguf.GGML_QUANT_SIZES[T[name]][1]
        raw = rng.integers(0, 256, (4, size), dtype=np.uint8)
        raw[:, d_at[0]:d_at[1]] = np.frombuffer(np.float16(0.01).tobytes(), np.uint8)
        if name == "Q4_K":
            raw[:, 2:4] = np.frombuffer(np.float16(0.02).tobytes(), np.uint8)
        w = gguf.quants.dequantize(raw.reshape(1, -1), T[name]).reshape(-1, sub)
        step = quant_step(raw.reshape(1, -1), T[name]).reshape(-1, sub)
        live = step[:, 0] > 0
        k = (w[live] - w[live].min(1, keepdims=True)) / step[live][:, :1]
        np.testing.assert_allclose(k, np.round(k), atol=1e-3)


def test_float_tensors_are_not_perturbed_and_unknown_quants_are_refused():
    x = np.arange(8, dtype=np.float32)
    assert not quant_step(x, T.F32).any()
    np.testing.assert_array_equal(perturb(x, T.F32, 0), x)
    with pytest.raises(UnsupportedQuantisation, match="Q2_K"):
        quant_step(np.zeros((1, gguf.GGML_QUANT_SIZES[T.Q2_K][1]), np.uint8), T.Q2_K)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLAPSE_CLAIMS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_qnoise_model_is_the_gguf_model_moved_within_its_quantisation_error(tmp_path, cache):
    """End to end through transformers' GGUF reader (its q/k permutation applied after the noise): every weight
    moves by at most half its block's step, the run is reproducible, another seed differs, the provenance says so."""
    path, _ = tiny_gguf(tmp_path / "tiny-q8.gguf", quant="Q8_0")
    base = models.load_model(models.resolve(str(path)))
    spec = models.resolve(f"{path}@qnoise0")
    assert spec.label == "tiny-q8@qnoise0" and spec.ref.endswith("@qnoise0")
    pert = models.load_model(spec)
    reader = gguf.GGUFReader(str(path))
    half = max(float(quant_step(t.data, t.tensor_type).max()) for t in reader.tensors) / 2
    moved = 0
    for (name, a), b in zip(base.model.state_dict().items(), pert.model.state_dict().values()):
        d = float((a - b).abs().max())
        assert d <= half * (1 + 1e-5), name
        moved += d > 0
    assert moved >= 10  # the 2-D weights moved, the norms did not
    assert torch.equal(base.model.model.norm.weight, pert.model.model.norm.weight)
    again = models.load_model(models.resolve(f"{path}@qnoise0"))
    assert all(torch.equal(a, b) for a, b in zip(pert.model.state_dict().values(), again.model.state_dict().values()))
    other = models.load_model(models.resolve(f"{path}@qnoise1"))
    assert not torch.equal(other.model.model.layers[0].self_attn.k_proj.weight,
                           pert.model.model.layers[0].self_attn.k_proj.weight)
    p = pert.provenance["perturbation"]
    assert p["seed"] == 0 and p["tensors"] >= 10 and 0 < p["mean_abs_noise_over_mean_abs_weight"] < 0.1
    assert "perturbed at the quantisation step" in pert.provenance["converted_dtype"]


def test_qnoise_needs_a_quantised_model():
    with pytest.raises(errors.UsageError, match="not a GGUF-quantised model"):
        models.resolve("gpt2@qnoise0")
    with pytest.raises(errors.UsageError, match="not a GGUF-quantised model"):
        models.resolve("smollm2-135m@qnoise0@qnoise1")  # perturbing a perturbed model: refused in one line


# ----------------------------------------------------------------------------- the panel's on-request rows
BASE = {"mark": ROBUST, "flips": [], "alternatives": [{"name": "z = 1", "why": "w", "params": {}, "verdict": "reproduced"}]}


def _rows(panel_):
    return {a["name"]: a for a in panel_["alternatives"]}


def test_on_request_rows_are_listed_when_not_run_and_decide_the_mark_when_run():
    kw = dict(claim_id="TF-1", model="m", quantised="Q4_1", trained_here=False)
    listed = with_on_request(BASE, "reproduced", requested={}, **kw)
    assert listed["mark"] == ROBUST and "--perturb-weights 0" in _rows(listed)[PERTURBED]["not_run"]
    agree = with_on_request(BASE, "reproduced", requested={(PERTURBED, "TF-1", "m"): ("reproduced", "m@qnoise0")}, **kw)
    assert agree["mark"] == ROBUST and _rows(agree)[PERTURBED]["from"] == "m@qnoise0"
    flip = with_on_request(BASE, "reproduced", requested={(PERTURBED, "TF-1", "m"): ("not reproduced", "m@qnoise0")}, **kw)
    assert flip["mark"] == FRAGILE and mark_text(flip) == f"fragile (flips under: {PERTURBED})"
    # an inconclusive verdict the perturbed run leaves inconclusive: the premise decided it, not assessed
    stuck = with_on_request({}, "inconclusive", requested={(PERTURBED, "TF-1", "m"): ("inconclusive", "m@qnoise0")}, **kw)
    assert stuck["mark"] == UNASSESSED and "premise not met" in mark_text(stuck)
    # a float model has no quantisation step; a trained-here one lists another seed (needs training)
    assert with_on_request(BASE, "reproduced", requested={}, **dict(kw, quantised="F32")) == BASE
    zoo = with_on_request(BASE, "reproduced", requested={}, **dict(kw, quantised=None, trained_here=True))
    assert "--zoo-seed 1" in _rows(zoo)["another training seed"]["not_run"] and zoo["mark"] == ROBUST
    reseeded = with_on_request(BASE, "reproduced", requested={(SEED, "TF-1", "m"): ("inconclusive", "m (--zoo-seed 1)")},
                               **dict(kw, quantised=None, trained_here=True))
    assert reseeded["mark"] == FRAGILE and reseeded["flips"] == [SEED]
    # the perturbed run's own rows carry no perturbed row of their own; skipped rows carry no panel
    assert with_on_request(BASE, "reproduced", requested={}, **dict(kw, model="m@qnoise0")) == BASE
    assert with_on_request({}, "skipped", requested={}, **kw) == {}


def test_panel_from_reads_a_perturbed_report_and_refuses_anything_else(tmp_path):
    good = tmp_path / "p.json"
    good.write_text(json.dumps({"results": [{"claim": "TF-1", "model": "m@qnoise3", "verdict": "reproduced"},
                                            {"claim": "TF-2", "model": "m@qnoise3", "verdict": "skipped"}]}))
    assert load_panel_from((str(good),)) == {(PERTURBED, "TF-1", "m"): ("reproduced", "m@qnoise3")}
    seeded = tmp_path / "s.json"
    seeded.write_text(json.dumps({"options": {"zoo_seed": 2}, "results": [
        {"claim": "MB-1", "model": "zoo-mamba", "verdict": "inconclusive", "stands_on": {"kind": "trained here"}},
        {"claim": "TF-1", "model": "smollm2-135m", "verdict": "reproduced", "stands_on": {"kind": "another"}}]}))
    both = load_panel_from((str(good), str(seeded)))
    assert both[(SEED, "MB-1", "zoo-mamba")] == ("inconclusive", "zoo-mamba (--zoo-seed 2)") and len(both) == 2
    for broken in ('{"results": null}', '{"results": ["x"]}', '{"results": [], "options": "y"}'):
        (tmp_path / "broken.json").write_text(broken)
        _read_panel_from.cache_clear()
        with pytest.raises(errors.UsageError, match="--panel-from"):
            load_panel_from((str(tmp_path / "broken.json"),))
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"results": [{"claim": "TF-1", "model": "m", "verdict": "reproduced"}]}))
    for bad in (plain, tmp_path / "missing.json"):
        with pytest.raises(errors.UsageError, match="--panel-from"):
            load_panel_from((str(bad),))
