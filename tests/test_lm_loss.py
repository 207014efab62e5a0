"""The chunked LM-head loss (fixtures/lm_loss.py) equals the cross-entropy of the model's own logits, chunk
size and logit transform included, and a head it cannot reproduce is read through the model's own logits."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from transformers import MambaConfig, MambaForCausalLM, RwkvConfig, RwkvForCausalLM

from fixtures import lm_loss
from fixtures.lm_loss import LmHead
from fixtures.models import load_model, resolve
from tests.synthetic import tiny_model_dir


def own_nll_sum(model, ids) -> float:
    with torch.no_grad():
        lg = model(input_ids=ids, use_cache=False).logits[:, :-1].float()
    return float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum"))


def chunked_nll_sum(model, ids) -> tuple[LmHead, float]:
    head = LmHead.of(model, ids)
    with torch.no_grad():
        return head, head.nll_sum(head.target(input_ids=ids, use_cache=False), ids)


def recurrent(kind):
    torch.manual_seed(0)
    if kind == "mamba":
        return MambaForCausalLM(MambaConfig(vocab_size=256, hidden_size=32, state_size=4, num_hidden_layers=2)).eval()
    return RwkvForCausalLM(RwkvConfig(vocab_size=256, hidden_size=32, num_hidden_layers=2, context_length=64)).eval()


@pytest.mark.parametrize("kind, overrides", [("gpt2", {}), ("llama", {}), ("gemma3", {"final_logit_softcapping": 2.0}),
                                             ("mamba", None), ("rwkv", None)])
def test_chunked_loss_equals_the_models_own_logits(tmp_path, monkeypatch, kind, overrides):
    model = (recurrent(kind) if overrides is None else
             load_model(resolve(str(tiny_model_dir(kind, tmp_path / kind, **overrides)))).model)
    ids = torch.randint(0, 256, (3, 40), generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(lm_loss, "CHUNK_BYTES", 4 * 256 * 7)  # 7 positions a chunk: 117 targets in 17 chunks
    head, total = chunked_nll_sum(model, ids)
    assert head.chunked and head.rows == 7, head.describe()
    assert total == pytest.approx(own_nll_sum(model, ids), rel=1e-5)


def test_the_softcap_is_applied(tmp_path):
    """Gemma's final_logit_softcapping changes the loss; the chunked head reproduces it, not the uncapped one."""
    model = load_model(resolve(str(tiny_model_dir("gemma3", tmp_path / "g", final_logit_softcapping=0.5)))).model
    with torch.no_grad():  # logits of a few units, which a cap of 0.5 squashes
        model.get_output_embeddings().weight.mul_(50.0)
    ids = torch.randint(0, 256, (2, 24), generator=torch.Generator().manual_seed(2))
    _, total = chunked_nll_sum(model, ids)
    model.config.final_logit_softcapping = None
    uncapped = own_nll_sum(model, ids)
    model.config.final_logit_softcapping = 0.5
    assert total == pytest.approx(own_nll_sum(model, ids), rel=1e-5) and abs(total - uncapped) > 1e-2 * uncapped


def test_a_head_it_cannot_reproduce_reads_the_models_own_logits(tmp_path):
    model = load_model(resolve(str(tiny_model_dir("llama", tmp_path / "l")))).model
    forward = model.forward

    def scaled(*a, **kw):  # a logit transform no config attribute announces
        out = forward(*a, **kw)
        out.logits = out.logits * 3.0
        return out

    model.forward = scaled
    ids = torch.randint(0, 256, (2, 24), generator=torch.Generator().manual_seed(3))
    head, total = chunked_nll_sum(model, ids)
    assert not head.chunked and head.probe_diff > lm_loss.PROBE_RTOL
    assert "own logits" in head.describe()
    assert total == pytest.approx(own_nll_sum(model, ids), rel=1e-6)


def test_a_model_without_a_separate_base_reads_its_own_logits():
    model = recurrent("mamba")
    model.base_model_prefix = "absent"  # base_model is then the model itself
    head = LmHead.of(model, torch.zeros(1, 4, dtype=torch.long))
    assert not head.chunked and math.isnan(head.probe_diff)
