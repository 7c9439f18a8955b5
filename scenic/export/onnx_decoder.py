"""Decoder-only (Llama) to ONNX: one graph with past keys/values for the prompt (past of length 0) and each step.

Only the last position's logits leave the graph: the runtime never needs the others, and the LM head over a
whole prompt would be most of the prefill's work.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers.cache_utils import DynamicCache

from scenic.export.tracing import GraphSpec, eager_attention, export_module, io_spec
from scenic.runtime.layout import DECODER, past_names, present_names


class DecoderGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *kv):
        n = len(kv) // 2
        cache = DynamicCache([(kv[2 * i], kv[2 * i + 1]) for i in range(n)])
        out = self.model.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                               past_key_values=cache, use_cache=True)
        logits = self.model.lm_head(out.last_hidden_state[:, -1:, :])
        return (logits, *[t for layer in out.past_key_values.layers for t in (layer.keys, layer.values)])


def model_info(model) -> dict[str, int]:
    c = model.config
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    return {"num_layers": c.num_hidden_layers, "num_heads": c.num_key_value_heads, "head_dim": head_dim,
            "vocab_size": c.vocab_size}


def export_decoder_only(cm, folder: Path, sub: str, opset: int, example_prompts: list[str]) -> dict[str, GraphSpec]:
    """Write `sub/decoder.onnx` under `folder`; return its spec."""
    model = cm.model
    info = model_info(model)
    layers, heads, dim = info["num_layers"], info["num_heads"], info["head_dim"]
    batch = cm.prompt_batch(example_prompts, left_pad=True)  # traced with real left padding
    ids = batch["input_ids"].cpu()
    rows, width, past_len = ids.shape[0], ids.shape[1], 3
    mask = torch.cat([torch.ones(rows, past_len, dtype=torch.long), batch["attention_mask"].cpu()], dim=1)
    positions = (mask.cumsum(-1) - 1).clamp_min(0)[:, past_len:]
    past = [torch.randn(rows, heads, past_len, dim) for _ in range(2 * layers)]
    names_in = ["input_ids", "attention_mask", "position_ids", *past_names(layers)]
    names_out = ["logits", *present_names(layers)]
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "past+tokens"},
            "position_ids": {0: "batch", 1: "tokens"}, **{n: {0: "batch", 2: "past"} for n in past_names(layers)},
            "logits": {0: "batch"}, **{n: {0: "batch", 2: "past+tokens"} for n in present_names(layers)}}
    with eager_attention(model), torch.no_grad():
        dec = DecoderGraph(model).eval()
        outs = dec(ids, mask, positions, *past)
        export_module(dec, (ids, mask, positions, *past), folder / sub / "decoder.onnx", names_in, names_out, axes, opset)
    return {DECODER: GraphSpec(f"{sub}/decoder.onnx", io_spec(names_in, [ids, mask, positions, *past], axes),
                               io_spec(names_out, list(outs), axes))}
