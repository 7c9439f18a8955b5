"""Structured pruning: remove whole FFN neurons and attention heads, rebuilding a genuinely smaller model.

The new transformers config (T5: d_ff, num_heads; Llama: intermediate_size, num_attention_heads,
num_key_value_heads, head_dim) describes the smaller shapes, so save_pretrained / from_pretrained round-trip and
every backend (ONNX, TensorRT, CPU) runs fewer FLOPs. Written by hand because transformers 5 no longer ships head
pruning and no library rebuilds configs for both families.

Constraints kept so the result is exactly the original with the removed units zeroed:
- the config has one width per model, so every layer keeps the same *number* of neurons / heads (each its own);
- T5 computes the relative position bias in the first layer of a stack and reuses it in every later layer, head
  by head, so a stack's self-attention keeps the *same* head indices in every layer, and the bias table is sliced
  to them (cross-attention has no bias: its heads are chosen per layer);
- Llama with grouped-query attention removes whole groups (a key/value head with its query heads).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from scenic import ScenicError
from scenic.models.presets import count_parameters


@dataclass
class StructuredResult:
    before: dict[str, int]
    after: dict[str, int]
    params_before: int
    params_after: int
    kept: dict[str, list[int]] = field(default_factory=dict)  # unit group -> kept indices (for the report)

    def as_dict(self) -> dict[str, Any]:
        return {"config_before": self.before, "config_after": self.after, "params_before": self.params_before,
                "params_after": self.params_after,
                "param_reduction": round(1 - self.params_after / max(1, self.params_before), 6),
                "kept_units": {k: len(v) for k, v in self.kept.items()}}


def _norm(t: torch.Tensor, importance: str, dim: int) -> torch.Tensor:
    t = t.detach().float()
    return t.abs().sum(dim) if importance == "l1" else t.pow(2).sum(dim)


def _finish(score: torch.Tensor, importance: str) -> torch.Tensor:
    return score if importance == "l1" else score.sqrt()


def _keep_top(score: torch.Tensor, n_keep: int) -> list[int]:
    """Indices of the `n_keep` highest scores, in ascending index order (so the kept units keep their order)."""
    return sorted(torch.topk(score, n_keep).indices.tolist())


def kept_count(total: int, fraction: float, multiple: int = 1) -> int:
    """How many units survive removing `fraction` of `total`, rounded to `multiple` (never 0, never more)."""
    keep = total * (1.0 - fraction)
    if multiple > 1 and total >= 2 * multiple:
        return int(min(total, max(multiple, round(keep / multiple) * multiple)))
    return int(min(total, max(1, int(keep + 0.5))))


def _rows(w: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return w.index_select(0, idx.to(w.device)).clone()


def _cols(w: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return w.index_select(1, idx.to(w.device)).clone()


def _head_index(heads: list[int], head_dim: int) -> torch.Tensor:
    return torch.tensor([h * head_dim + i for h in heads for i in range(head_dim)], dtype=torch.long)


def _slice_linear(sd: dict, prefix: str, idx: torch.Tensor, out_dim: bool) -> None:
    """Keep rows (out_dim) or columns (input) `idx` of `prefix.weight`; a bias follows rows only."""
    w = prefix + ".weight"
    sd[w] = _rows(sd[w], idx) if out_dim else _cols(sd[w], idx)
    b = prefix + ".bias"
    if out_dim and b in sd:
        sd[b] = _rows(sd[b], idx)


# ---- T5 ---------------------------------------------------------------------------------------------------------

def _t5_ffn_names(block_prefix: str, layer: nn.Module) -> tuple[list[str], str]:
    ff = layer.DenseReluDense
    ins = ["wi_0", "wi_1"] if hasattr(ff, "wi_0") else ["wi"]
    base = f"{block_prefix}.DenseReluDense"
    return [f"{base}.{n}" for n in ins], f"{base}.wo"


def _t5_attn_score(sd: dict, p: str, n_heads: int, d_kv: int, importance: str) -> torch.Tensor:
    score = torch.zeros(n_heads, device=sd[f"{p}.q.weight"].device)
    for name in ("q", "k", "v"):
        score += _norm(sd[f"{p}.{name}.weight"].reshape(n_heads, d_kv, -1), importance, dim=(1, 2))
    score += _norm(sd[f"{p}.o.weight"].reshape(-1, n_heads, d_kv), importance, dim=(0, 2))
    return score


def _prune_t5(model: nn.Module, fraction: float, parts: list[str], importance: str, multiple: int):
    cfg = model.config
    sd = {k: v for k, v in model.state_dict().items()}
    new = copy.deepcopy(cfg)
    kept: dict[str, list[int]] = {}
    stacks = [("encoder", model.encoder), ("decoder", model.decoder)]
    if "ffn" in parts:
        d_ff = kept_count(cfg.d_ff, fraction, multiple)
        new.d_ff = d_ff
        for sname, stack in stacks:
            for i, block in enumerate(stack.block):
                ffn_layer = len(block.layer) - 1
                ins, out = _t5_ffn_names(f"{sname}.block.{i}.layer.{ffn_layer}", block.layer[ffn_layer])
                score = sum(_norm(sd[n + ".weight"], importance, 1) for n in ins) + _norm(sd[out + ".weight"], importance, 0)
                keep = _keep_top(_finish(score, importance), d_ff)
                idx = torch.tensor(keep)
                for n in ins:
                    _slice_linear(sd, n, idx, out_dim=True)
                _slice_linear(sd, out, idx, out_dim=False)
                kept[f"{sname}.block.{i}.ffn"] = keep
    if "heads" in parts:
        n_heads, d_kv = cfg.num_heads, cfg.d_kv
        n_keep = kept_count(n_heads, fraction)
        new.num_heads = n_keep
        groups: list[list[str]] = []  # attention modules that must keep the same heads
        for sname, stack in stacks:
            groups.append([f"{sname}.block.{i}.layer.0.SelfAttention" for i in range(len(stack.block))])
        for i in range(len(model.decoder.block)):
            groups.append([f"decoder.block.{i}.layer.1.EncDecAttention"])
        for group in groups:
            score = sum(_t5_attn_score(sd, p, n_heads, d_kv, importance) for p in group)
            heads = _keep_top(_finish(score, importance), n_keep)
            idx = _head_index(heads, d_kv)
            for p in group:
                for name in ("q", "k", "v"):
                    _slice_linear(sd, f"{p}.{name}", idx, out_dim=True)
                _slice_linear(sd, f"{p}.o", idx, out_dim=False)
                bias = f"{p}.relative_attention_bias.weight"
                if bias in sd:  # (num_buckets, num_heads): one column per head
                    sd[bias] = _cols(sd[bias], torch.tensor(heads))
            kept[group[0] if len(group) == 1 else group[0].replace("block.0.", "block.*.")] = heads
    return new, sd, kept


# ---- Llama ------------------------------------------------------------------------------------------------------

def _prune_llama(model: nn.Module, fraction: float, parts: list[str], importance: str, multiple: int):
    cfg = model.config
    sd = {k: v for k, v in model.state_dict().items()}
    new = copy.deepcopy(cfg)
    kept: dict[str, list[int]] = {}
    n_layers = cfg.num_hidden_layers
    if "ffn" in parts:
        inter = kept_count(cfg.intermediate_size, fraction, multiple)
        new.intermediate_size = inter
        for i in range(n_layers):
            p = f"model.layers.{i}.mlp"
            score = (_norm(sd[f"{p}.gate_proj.weight"], importance, 1) + _norm(sd[f"{p}.up_proj.weight"], importance, 1)
                     + _norm(sd[f"{p}.down_proj.weight"], importance, 0))
            keep = _keep_top(_finish(score, importance), inter)
            idx = torch.tensor(keep)
            _slice_linear(sd, f"{p}.gate_proj", idx, out_dim=True)
            _slice_linear(sd, f"{p}.up_proj", idx, out_dim=True)
            _slice_linear(sd, f"{p}.down_proj", idx, out_dim=False)
            kept[f"model.layers.{i}.mlp"] = keep
    if "heads" in parts:
        n_q, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
        hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_q
        rep = n_q // n_kv
        kv_keep = kept_count(n_kv, fraction)
        # transformers' Llama config validation (5.17) demands hidden_size % num_attention_heads == 0 even with an
        # explicit head_dim: keep the fewest groups >= the target that satisfy it (4 heads at 25% keep all 4).
        while kv_keep < n_kv and cfg.hidden_size % (kv_keep * rep):
            kv_keep += 1
        new.num_key_value_heads = kv_keep
        new.num_attention_heads = kv_keep * rep
        new.head_dim = hd  # explicit: hidden_size // heads would no longer be the head size
        for i in range(n_layers):
            p = f"model.layers.{i}.self_attn"
            q = sd[f"{p}.q_proj.weight"].reshape(n_kv, rep, hd, -1)
            o = sd[f"{p}.o_proj.weight"].reshape(-1, n_kv, rep, hd)
            score = (_norm(q, importance, (1, 2, 3)) + _norm(o, importance, (0, 2, 3))
                     + _norm(sd[f"{p}.k_proj.weight"].reshape(n_kv, hd, -1), importance, (1, 2))
                     + _norm(sd[f"{p}.v_proj.weight"].reshape(n_kv, hd, -1), importance, (1, 2)))
            groups = _keep_top(_finish(score, importance), kv_keep)
            q_heads = [g * rep + r for g in groups for r in range(rep)]
            q_idx, kv_idx = _head_index(q_heads, hd), _head_index(groups, hd)
            _slice_linear(sd, f"{p}.q_proj", q_idx, out_dim=True)
            _slice_linear(sd, f"{p}.k_proj", kv_idx, out_dim=True)
            _slice_linear(sd, f"{p}.v_proj", kv_idx, out_dim=True)
            _slice_linear(sd, f"{p}.o_proj", q_idx, out_dim=False)
            kept[f"{p}.kv_groups"] = groups
    return new, sd, kept


# ---- entry point ------------------------------------------------------------------------------------------------

_WIDTH_KEYS = {"t5": ("d_ff", "num_heads", "d_kv"),
               "llama": ("intermediate_size", "num_attention_heads", "num_key_value_heads", "head_dim")}


def prune_structured(model: nn.Module, fraction: float, parts: list[str] | None = None, importance: str = "l2",
                     multiple: int = 8) -> tuple[nn.Module, StructuredResult]:
    """A new, smaller model of the same class with `fraction` of FFN neurons and heads removed by importance."""
    parts = list(parts or ["ffn", "heads"])
    kind = getattr(model.config, "model_type", None)
    if kind == "t5":
        new_cfg, sd, kept = _prune_t5(model, fraction, parts, importance, multiple)
    elif kind == "llama":
        new_cfg, sd, kept = _prune_llama(model, fraction, parts, importance, multiple)
    else:
        raise ScenicError(f"structured pruning supports T5 and Llama backbones, not '{kind}'")
    ref = next(model.parameters())
    pruned = type(model)(new_cfg).to(device=ref.device, dtype=ref.dtype)
    missing, unexpected = pruned.load_state_dict(sd, strict=False)
    tied = set(getattr(pruned, "_tied_weights_keys", None) or {})
    if unexpected or set(missing) - tied:
        raise RuntimeError(f"structured pruning produced mismatched weights: missing {missing}, unexpected {unexpected}")
    pruned.generation_config = copy.deepcopy(model.generation_config)
    pruned.train(model.training)
    keys = _WIDTH_KEYS[kind]
    result = StructuredResult(before={k: getattr(model.config, k, None) for k in keys},
                              after={k: getattr(new_cfg, k, None) for k in keys},
                              params_before=count_parameters(model), params_after=count_parameters(pruned), kept=kept)
    return pruned, result
