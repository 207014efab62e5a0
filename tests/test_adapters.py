"""The architecture adapters (fixtures/adapters/): what the suite knows of an architecture is derived from them — the
model types a --model may have, a model's registry classes, the applies_to vocabulary — and a model type no adapter
reads is refused at configure time in one line."""
from __future__ import annotations

import json

import pytest
from transformers import GPT2Config, LlamaConfig, MambaConfig, Qwen3Config, RwkvConfig

from fixtures import adapters
from fixtures.adapters import ADAPTERS, classes_of, for_config, require, supported_types
from fixtures.attnres import AttnResConfig
from probes import capture
from suite import errors
from suite.family import CLASSES
from tests.synthetic import tiny_model_dir
from tests.test_bad_input import audit, one_line_error


def test_adapters_are_found_by_name_and_own_disjoint_model_types():
    assert set(ADAPTERS) == {"attention", "mamba", "rwkv", "attnres"}
    types = [t for a in ADAPTERS.values() for t in a.model_types]
    assert len(types) == len(set(types)) and set(types) == set(supported_types())
    assert set(capture.SUPPORTED) <= set(supported_types())  # softmax attention reads what its capture reads
    for a in ADAPTERS.values():  # every class an adapter can give is in the registry's vocabulary
        assert a.vocabulary | {"all-routers"} <= CLASSES and a.hooks


def _open_attnres():
    """The open Block AttnRes implementation's config (remote code): a Qwen3 config of its own model type."""
    cfg = Qwen3Config(num_hidden_layers=1, hidden_size=16, num_attention_heads=2, num_key_value_heads=1)
    cfg.model_type = "qwen3_attnres"
    return cfg


def test_the_open_attnres_checkpoint_is_a_depth_router():
    assert for_config(_open_attnres()) is ADAPTERS["attnres"]
    assert classes_of(_open_attnres()) == {"attention-residuals", "all-routers"}


@pytest.mark.parametrize("config, name, classes", [
    (LlamaConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2), "attention",
     {"softmax-attention", "rope", "all-routers"}),
    (GPT2Config(n_layer=1, n_embd=16, n_head=2), "attention", {"softmax-attention", "all-routers"}),  # no RoPE
    (MambaConfig(num_hidden_layers=1, hidden_size=16), "mamba", {"selective-ssm", "all-routers"}),
    (RwkvConfig(num_hidden_layers=1, hidden_size=16), "rwkv", {"rwkv4", "all-routers"}),
    (AttnResConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2), "attnres",
     {"attention-residuals", "all-routers"}),
])
def test_a_config_gets_its_adapter_and_classes(config, name, classes):
    assert for_config(config) is ADAPTERS[name] and require(config, "m") is ADAPTERS[name]
    assert classes_of(config) == classes


def test_a_model_type_no_adapter_reads_has_no_class_and_a_one_line_refusal():
    cfg = LlamaConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2)
    cfg.model_type = "t5"  # an encoder-decoder: no adapter
    assert for_config(cfg) is None and classes_of(cfg) == frozenset()
    with pytest.raises(errors.UsageError, match="'t5'.*supported: gpt2") as exc:
        require(cfg, "m")
    assert "\n" not in str(exc.value) and adapters.supported_types()[0] == "gpt2"


def test_a_hub_model_of_an_unsupported_type_is_refused_where_its_config_can_be_read(monkeypatch):
    """Preflight reads a hub id's config where it can (cached or online) and refuses a type no adapter reads; offline
    (weights unavailable) it leaves the model to skip with the command that runs it."""
    import fixtures.targets as ft
    from fixtures.models import resolve

    cfg = LlamaConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2)
    cfg.model_type = "t5"
    monkeypatch.setattr(ft, "preflight_model", lambda spec, seq_len: None)
    monkeypatch.setattr(ft, "load_config", lambda spec: cfg)
    with pytest.raises(errors.UsageError, match="'t5'"):
        ft.preflight(resolve("someone/some-model"), 128)

    def offline(spec):
        raise errors.WeightsUnavailable("offline")

    monkeypatch.setattr(ft, "load_config", offline)
    ft.preflight(resolve("someone/some-model"), 128)  # no error: its tests skip offline, with the command


def test_the_command_line_refuses_an_unsupported_architecture_before_any_test(tmp_path):
    d = tiny_model_dir("llama", tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, "model_type": "t5"}))
    line = one_line_error(audit("claims/", "--model", str(d), "--co"), "not supported")
    assert "'t5'" in line and "supported:" in line
