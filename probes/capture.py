"""Named attachment points on Hugging Face transformer models (TransformerLens style).

Every HF attention module in transformers 5 computes its scores through the attention
interface ``ALL_ATTENTION_FUNCTIONS[config._attn_implementation]``, called with the
post-RoPE, post-QK-norm ``query [B,H,T,d]`` and ``key [B,H_kv,T,d]`` and returning
``(output, weights)``. :class:`capture` registers a wrapper implementation that delegates
to exactly the function the model would have used (the module's own
``eager_attention_forward`` or a registered custom one), so the weights are the model's
own, and hands ``(layer, query, key, weights)`` to a callback. Pre-RoPE keys come from
forward hooks on the key projection (CLAIMS.md §2):

* GPT-2: columns ``[E:2E]`` of ``c_attn``'s output (no RoPE: pre = post);
* GPT-NeoX/Pythia: ``query_key_value`` output, interleaved per head
  (``view(B,T,H,3·d)`` then split) — pre-RoPE; post-RoPE rotates the first
  ``rotary_ndims`` dims;
* Llama/Qwen2/Mistral: ``k_proj`` output, one key per KV head (GQA);
* QK-norm models (Gemma3, Qwen3, OLMo-2): ``k_norm`` output (the key the score sees,
  before RoPE); the raw ``k_proj`` output is reported beside it as ``k_raw``.

Hook names (the ``keep`` filter of :func:`run_with_cache`): ``k_pre``, ``k_raw``,
``q_post``, ``k_post``, ``attn``.

The other routers' capture points are here too, each named by its architecture's adapter
(:mod:`fixtures.adapters`, ``Adapter.hooks``/``Adapter.capture``): Mamba's ``x_proj`` call (Δ, B, C
are rebuilt from its input and output, App. B.2), RWKV-4's key/value projections (k, v; w and u
are read from the module), the AttnRes depth router's normalised keys (weights recomputed with
the router's own query and bias).
"""
from __future__ import annotations

import contextlib
import contextvars
import sys
from dataclasses import dataclass
from typing import Callable

import torch
from transformers.masking_utils import AttentionMaskInterface, eager_mask
from transformers.modeling_utils import AttentionInterface

from suite import errors

CAPTURE_IMPL = "collapse_capture"
HOOK_NAMES = ("k_pre", "k_raw", "q_post", "k_post", "attn")
SUPPORTED = ("gpt2", "gpt_neox", "gpt_neox_alibi", "llama", "qwen2", "qwen3", "mistral", "gemma3_text", "gemma3", "gemma2",
             "gemma", "olmo2", "phi3", "smollm3")

_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("collapse_capture_active", default=None)


@dataclass(frozen=True)
class AttnInfo:
    """Geometry of a model's attention, read from its config."""

    model_type: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    rope: bool
    rotary_dim: int
    rope_theta: float | None
    max_positions: int | None
    qk_norm: bool

    @property
    def group(self) -> int:
        return self.n_heads // self.n_kv_heads

    def kv_head_of(self, h: int) -> int:
        """Query head ``h`` reads KV head ``h // (H / H_kv)`` (GQA)."""
        return h // self.group


def _text_config(config):
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def attn_info(config, model_label: str = "?") -> AttnInfo:
    cfg = _text_config(config)
    mt = cfg.model_type
    if mt not in SUPPORTED:
        raise errors.UsageError(errors.UNSUPPORTED_ARCH.format(
            arch=mt, model=model_label, what="softmax-attention key/attention capture",
            supported=", ".join(SUPPORTED)))
    n_layers = cfg.num_hidden_layers if hasattr(cfg, "num_hidden_layers") else cfg.n_layer
    n_heads = cfg.num_attention_heads
    hidden = cfg.hidden_size
    head_dim = getattr(cfg, "head_dim", None) or hidden // n_heads
    n_kv = getattr(cfg, "num_key_value_heads", None) or n_heads
    rope_params = getattr(cfg, "rope_parameters", None) or {}
    if isinstance(rope_params, dict) and rope_params and "rope_theta" not in rope_params:
        # per-layer-type parameters (Gemma3): take the full-attention ones
        rope_params = rope_params.get("full_attention") or next(iter(rope_params.values()))
    theta = rope_params.get("rope_theta") if isinstance(rope_params, dict) else None
    rope = mt != "gpt2"
    if mt in ("gpt_neox", "gpt_neox_alibi"):
        frac = rope_params.get("partial_rotary_factor", getattr(cfg, "rotary_pct", 1.0))
        rotary_dim = int(head_dim * frac)
        rope = rotary_dim > 0
    else:
        rotary_dim = head_dim if rope else 0
    max_pos = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
    return AttnInfo(mt, n_layers, n_heads, n_kv, head_dim, rope, rotary_dim,
                    float(theta) if theta else None, max_pos, mt in ("qwen3", "gemma3_text", "gemma3", "olmo2"))


# ----------------------------------------------------------------------------- the wrapper
def _capture_attention(module, query, key, value, attention_mask, **kwargs):
    state = _ACTIVE.get()
    orig = getattr(module, "_collapse_orig_impl", "eager")
    if orig == "eager" or orig is None:
        fn = sys.modules[type(module).__module__].eager_attention_forward
    else:
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        fn = ALL_ATTENTION_FUNCTIONS[orig]
    out, weights = fn(module, query, key, value, attention_mask, **kwargs)
    if state is not None:
        if weights is None:
            raise errors.UsageError(
                f"attention implementation {orig!r} returns no weights; load the model with attn_implementation='eager'")
        state(module.layer_idx, query, key, weights)
    return out, weights


def _register():
    AttentionInterface.register(CAPTURE_IMPL, _capture_attention)
    AttentionMaskInterface.register(CAPTURE_IMPL, eager_mask)


def attention_modules(model) -> dict[int, torch.nn.Module]:
    """``layer_idx -> attention module`` for every self-attention module."""
    mods = {}
    for _, m in model.named_modules():
        li = getattr(m, "layer_idx", None)
        if li is None or not type(m).__name__.endswith("Attention"):
            continue
        if any(hasattr(m, a) for a in ("k_proj", "query_key_value", "c_attn")):
            mods[int(li)] = m
    return dict(sorted(mods.items()))


def _configs_of(model):
    seen, out = set(), []
    for m in model.modules():
        c = getattr(m, "config", None)
        if c is not None and id(c) not in seen:
            seen.add(id(c))
            out.append(c)
    return out


@contextlib.contextmanager
def capture(model, on_attention: Callable | None = None, on_key_pre: Callable | None = None):
    """Route every attention call of ``model`` through the capture wrapper.

    ``on_attention(layer, query [B,H,T,d], key [B,Hkv,T,d], weights [B,H,T,T])`` — post-RoPE.
    ``on_key_pre(layer, name, keys [B,T,Hkv,d])`` with name ``k_pre`` or ``k_raw``.
    """
    _register()
    mods = attention_modules(model)
    if not mods:
        raise errors.UsageError(errors.UNSUPPORTED_ARCH.format(
            arch=type(model).__name__, model="?", what="attention capture", supported=", ".join(SUPPORTED)))
    handles, saved = [], []
    for cfg in _configs_of(model):
        saved.append((cfg, cfg._attn_implementation))
    orig_impl = saved[0][1] if saved else "eager"
    for li, m in mods.items():
        m._collapse_orig_impl = orig_impl
        if on_key_pre is not None:
            handles += _key_hooks(li, m, on_key_pre)
    token = _ACTIVE.set(on_attention)
    try:
        for cfg, _ in saved:
            cfg._attn_implementation = CAPTURE_IMPL
        yield mods
    finally:
        _ACTIVE.reset(token)
        for cfg, impl in saved:
            cfg._attn_implementation = impl
        for h in handles:
            h.remove()


def _key_hooks(li, m, cb):
    hs = []
    if hasattr(m, "c_attn"):  # GPT-2: fused [q | k | v] along the feature axis
        E = m.embed_dim
        H = m.num_heads

        def gpt2(_mod, _inp, out, li=li):
            B, T, _ = out.shape
            cb(li, "k_pre", out[..., E:2 * E].reshape(B, T, H, E // H))

        hs.append(m.c_attn.register_forward_hook(gpt2))
    elif hasattr(m, "query_key_value"):  # GPT-NeoX: interleaved per head
        d = m.head_size

        def neox(_mod, _inp, out, li=li):
            B, T, _ = out.shape
            cb(li, "k_pre", out.view(B, T, -1, 3 * d)[..., d:2 * d])

        hs.append(m.query_key_value.register_forward_hook(neox))
    else:
        d = m.head_dim
        has_norm = hasattr(m, "k_norm") and m.k_norm is not None and not isinstance(m.k_norm, torch.nn.Identity)

        seen_t = {}

        def kproj(_mod, _inp, out, li=li, name="k_raw" if has_norm else "k_pre"):
            B, T, _ = out.shape
            seen_t[li] = T
            cb(li, name, out.view(B, T, -1, d))

        hs.append(m.k_proj.register_forward_hook(kproj))
        if has_norm:
            # Qwen3/OLMo-2 normalise [B,T,Hk,d]; Gemma3 normalises after the transpose, [B,Hk,T,d]
            gemma_style = type(m).__name__.startswith("Gemma")

            def knorm(_mod, _inp, out, li=li):
                T = seen_t.get(li)
                transposed = out.dim() == 4 and out.shape[2] == T and (out.shape[1] != T or gemma_style)
                k = out.transpose(1, 2) if transposed else out
                cb(li, "k_pre", k.reshape(*k.shape[:2], -1, d))

            hs.append(m.k_norm.register_forward_hook(knorm))
    return hs


def run_with_cache(model, input_ids: torch.Tensor, keep=HOOK_NAMES, base_only: bool = True):
    """One forward pass keeping only the hook points named in ``keep`` (small models / tests).

    Returns ``(output, cache)`` with ``cache[name][layer]`` a detached tensor:
    ``k_pre``/``k_raw`` ``[B,T,Hkv,d]``; ``q_post`` ``[B,H,T,d]``; ``k_post`` ``[B,Hkv,T,d]``;
    ``attn`` ``[B,H,T,T]``.
    """
    keep = set(keep)
    cache = {k: {} for k in keep}

    def on_attn(li, q, k, w):
        if "q_post" in keep:
            cache["q_post"][li] = q.detach()
        if "k_post" in keep:
            cache["k_post"][li] = k.detach()
        if "attn" in keep:
            cache["attn"][li] = w.detach()

    def on_key(li, name, k):
        if name in keep:
            cache[name][li] = k.detach()

    target = model.base_model if base_only else model
    with torch.no_grad(), capture(model, on_attn, on_key):
        out = target(input_ids=input_ids, use_cache=False)
    return out, cache


# ----------------------------------------------------------------------------- the other routers
def mamba_mixers(model) -> list:
    return [m for m in model.modules() if type(m).__name__ == "MambaMixer"]


def rwkv_attention(model) -> list:
    return [m for m in model.modules() if type(m).__name__ == "RwkvSelfAttention"]


def attnres_routers(model) -> list:
    """``(name, norm, proj, bias)`` for every AttnRes depth router in sublayer order — the suite's
    module and the open implementation use the same attribute names (``<sublayer>_res_norm`` ...)."""
    out = []
    for name, mod in model.named_modules():
        for s in ("attn", "mlp"):
            norm = getattr(mod, f"{s}_res_norm", None)
            if norm is not None and hasattr(mod, f"{s}_res_proj"):
                out.append((f"{name}.{s}", norm, getattr(mod, f"{s}_res_proj"), getattr(mod, f"{s}_res_bias")))
    return out


@contextlib.contextmanager
def _hooked(handles):
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def capture_mamba(model, callback):
    """``callback(layer_index, mixer, x, x_proj_output)`` for every MambaMixer's x_proj call."""
    handles = []
    for li, mixer in enumerate(mamba_mixers(model)):
        def hook(mod, inp, out, li=li, mixer=mixer):
            callback(li, mixer, inp[0].detach(), out.detach())
        handles.append(mixer.x_proj.register_forward_hook(hook))
    return _hooked(handles)


def capture_rwkv(model, callback):
    """``callback(layer_index, attn_module, k, v)`` with the key/value projections' outputs."""
    handles = []
    for li, a in enumerate(rwkv_attention(model)):
        store = {}

        def hk(mod, inp, out, store=store):
            store["k"] = out.detach()

        def hv(mod, inp, out, li=li, a=a, store=store):
            callback(li, a, store.pop("k"), out.detach())
        handles += [a.key.register_forward_hook(hk), a.value.register_forward_hook(hv)]
    return _hooked(handles)


def capture_attnres(model, callback):
    """Calls ``callback(index, name, weights [N+1,B,T], keys [N+1,B,T,D])`` for every depth routing
    of a forward pass, recomputing the weights from the captured keys with the router's own query
    and bias (exactly the model's logits)."""
    handles = []
    for i, (name, norm, proj, bias) in enumerate(attnres_routers(model)):
        def hook(_mod, _inp, out, i=i, name=name, proj=proj, bias=bias):
            k = out.detach()
            logits = torch.einsum("d,nbtd->nbt", proj.weight.detach().view(-1).to(k.dtype), k)
            logits[-1] = logits[-1] + bias.detach().to(k.dtype)
            callback(i, name, logits.softmax(0), k)

        handles.append(norm.register_forward_hook(hook))
    return _hooked(handles)
