"""``--dtype bfloat16`` runs the model in bf16 with every statistic accumulated in float32;
``--device-map auto`` places the model through accelerate; bad values are one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures.measure import run_pass
from fixtures.models import load_model, resolve
from suite.errors import ActivationError
from tests.synthetic import tiny_model_dir
from tests.test_bad_input import audit, one_line_error

# bf16 keeps 8 mantissa bits (relative step 2^-8 ≈ 0.4 %); attention shares after a softmax of
# bf16 scores move by about that much of their size
BF16_SHARE_ATOL = 0.02
BF16_NORM_RTOL = 0.02


@pytest.mark.parametrize("kind", ["llama", "gemma3"])
def test_bfloat16_pass_accumulates_in_float32_and_matches_float32(tmp_path, kind):
    d = tiny_model_dir(kind, tmp_path / kind)
    x = torch.randint(0, 256, (3, 32), generator=torch.Generator().manual_seed(0))
    m32 = run_pass(load_model(resolve(str(d))).model, x, compute_nll=True, label="f32", progress=False)
    lm16 = load_model(resolve(str(d)), dtype="bfloat16")
    assert next(lm16.model.parameters()).dtype == torch.bfloat16
    m16 = run_pass(lm16.model, x, compute_nll=True, label="bf16", dtype="bfloat16", progress=False)
    assert m16.colsum.dtype == np.float32 and m16.key_norms_pre.dtype == np.float32 and m16.ve_pre.dtype == np.float64
    np.testing.assert_allclose(m16.layer_max_share(), m32.layer_max_share(), atol=BF16_SHARE_ATOL)
    np.testing.assert_allclose(m16.key_norms_pre, m32.key_norms_pre, rtol=BF16_NORM_RTOL, atol=1e-3)
    assert abs(m16.nll - m32.nll) < 0.05 * m32.nll
    assert lm16.provenance["dtype"] == "bfloat16" and lm16.provenance["statistics_dtype"].startswith("float32")


def test_a_float16_overflow_says_so(tmp_path):
    """Activations beyond float16's 65504 (Gemma-3's massive activations) end in a one-line error that names
    float16 and what to use instead, not in silent infs; the same model in bfloat16 measures."""
    d = tiny_model_dir("gemma3", tmp_path / "g")
    x = torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(0))
    for dtype in ("float16", "bfloat16"):
        lm = load_model(resolve(str(d)), dtype=dtype)
        with torch.no_grad():  # one MLP writes ~1e6 into the residual stream
            lm.model.model.layers[0].mlp.down_proj.weight.mul_(1e6)
        if dtype == "float16":
            with pytest.raises(ActivationError, match="float16 overflows above 65504.*--dtype bfloat16"):
                run_pass(lm.model, x, compute_nll=True, label="g", dtype=dtype, progress=False)
        else:
            assert np.isfinite(run_pass(lm.model, x, compute_nll=True, label="g", dtype=dtype, progress=False).nll)


def test_device_map_auto_places_the_model_and_records_it(tmp_path):
    d = tiny_model_dir("llama", tmp_path / "m")
    lm = load_model(resolve(str(d)), device_map="auto")
    assert lm.provenance["device_map"] == "auto" and lm.provenance["device"]
    x = torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(1))
    ref = load_model(resolve(str(d)))
    with torch.no_grad():
        assert torch.allclose(lm.model(x).logits.cpu(), ref.model(x).logits, atol=1e-5)


def test_bad_device_map_and_seed_are_one_line_errors():
    line = one_line_error(audit("claims/test_audit.py", "--device-map", "autoo"), "--device-map")
    assert "did you mean 'auto'" in line
    one_line_error(audit("claims/test_audit.py", "--seed", "-1"), "--seed")
    one_line_error(audit("claims/test_audit.py", "--n-seqs", "many"), "--n-seqs")


def test_xdist_workers_take_one_gpu_each():
    from suite.options import worker_device

    assert [worker_device("cuda", f"gw{k}", n_gpus=4) for k in range(5)] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:0"]
    assert worker_device("cuda", "gw3", n_gpus=1) == "cuda"
    assert worker_device("cuda:2", "gw0", n_gpus=4) == "cuda:2" and worker_device("cpu", "gw1", n_gpus=4) == "cpu"
    assert worker_device("cuda", None, n_gpus=4) == "cuda"
