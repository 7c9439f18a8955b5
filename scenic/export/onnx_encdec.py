"""Encoder-decoder (T5, or the warm-started BERT pair of `minilm-warm`) to ONNX: an encoder graph and one
decoder-with-past graph.

The encoder also emits every decoder layer's cross-attention keys/values (they depend on the prompt only), so a
single decoder graph serves the first step (past of length 0) and every later one: no decoder weights are stored
twice, which a separate first-step graph would do.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from scenic.export.tracing import GraphSpec, eager_attention, export_module, io_spec
from scenic.runtime.layout import DECODER, ENCODER, cross_names, past_names, present_names


def _is_t5(model) -> bool:
    return getattr(model.config, "model_type", None) == "t5"


def cross_projections(model) -> list[tuple[torch.nn.Module, torch.nn.Module, int]]:
    """(key projection, value projection, head size) of every decoder layer's cross-attention."""
    if _is_t5(model):
        return [(b.layer[1].EncDecAttention.k, b.layer[1].EncDecAttention.v,
                 b.layer[1].EncDecAttention.key_value_proj_dim) for b in model.decoder.block]
    return [(layer.crossattention.self.key, layer.crossattention.self.value,
             layer.crossattention.self.attention_head_size) for layer in model.decoder.bert.encoder.layer]


class EncoderGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        hidden = self.model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        b, s, _ = hidden.shape
        out = []
        for key, value, head_size in cross_projections(self.model):
            for proj in (key, value):
                out.append(proj(hidden).view(b, s, -1, head_size).transpose(1, 2))
        return tuple(out)


class DecoderGraph(torch.nn.Module):
    """One step: token, encoder mask, self-attention past and cross keys/values -> logits and the new past."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, decoder_input_ids, encoder_attention_mask, *kv):
        n = len(kv) // 4
        self_kv = [(kv[2 * i], kv[2 * i + 1]) for i in range(n)]
        cross_kv = [(kv[2 * n + 2 * i], kv[2 * n + 2 * i + 1]) for i in range(n)]
        cache = EncoderDecoderCache(DynamicCache(self_kv), DynamicCache(cross_kv))
        b, s = encoder_attention_mask.shape
        # The cross keys/values come from the cache; the decoder only needs a tensor of the right shape here to know
        # that the layer is cross-attention. It is never read, so it does not appear in the graph.
        width = self.model.config.d_model if _is_t5(self.model) else self.model.config.encoder.hidden_size
        unused = torch.zeros(b, s, width, dtype=kv[0].dtype)
        out = self.model.decoder(input_ids=decoder_input_ids, encoder_hidden_states=unused,
                                 encoder_attention_mask=encoder_attention_mask, past_key_values=cache, use_cache=True)
        if _is_t5(self.model):
            hidden = out.last_hidden_state
            if getattr(self.model.config, "scale_decoder_outputs", False):  # as T5ForConditionalGeneration.forward
                hidden = hidden * (self.model.model_dim ** -0.5)
            logits = self.model.lm_head(hidden)
        else:  # BertLMHeadModel: its prediction head is part of the decoder
            logits = out.logits
        present = out.past_key_values.self_attention_cache
        return (logits, *[t for layer in present.layers for t in (layer.keys, layer.values)])


def model_info(model) -> dict[str, int]:
    c = model.config
    if _is_t5(model):
        return {"num_layers": c.num_decoder_layers, "num_heads": c.num_heads, "head_dim": c.d_kv,
                "vocab_size": c.vocab_size}
    d = c.decoder
    return {"num_layers": d.num_hidden_layers, "num_heads": d.num_attention_heads,
            "head_dim": d.hidden_size // d.num_attention_heads, "vocab_size": d.vocab_size}


def export_encoder_decoder(cm, folder: Path, sub: str, opset: int, example_prompts: list[str]) -> dict[str, GraphSpec]:
    """Write `sub/encoder.onnx` and `sub/decoder.onnx` under `folder`; return their specs."""
    model = cm.model
    info = model_info(model)
    layers, heads, dim = info["num_layers"], info["num_heads"], info["head_dim"]
    batch = cm.prompt_batch(example_prompts)
    ids, mask = batch["input_ids"].cpu(), batch["attention_mask"].cpu()
    with eager_attention(model), torch.no_grad():
        enc = EncoderGraph(model).eval()
        cross = list(enc(ids, mask))
        enc_in, enc_out = ["input_ids", "attention_mask"], cross_names(layers)
        enc_axes = {"input_ids": {0: "batch", 1: "prompt"}, "attention_mask": {0: "batch", 1: "prompt"},
                    **{n: {0: "batch", 2: "prompt"} for n in enc_out}}
        export_module(enc, (ids, mask), folder / sub / "encoder.onnx", enc_in, enc_out, enc_axes, opset)

        rows = ids.shape[0]
        past = [torch.randn(rows, heads, 3, dim) for _ in range(2 * layers)]  # traced with a non-empty past
        tokens = torch.full((rows, 1), 5, dtype=torch.long)
        dec = DecoderGraph(model).eval()
        outs = dec(tokens, mask, *past, *cross)
        dec_in = ["decoder_input_ids", "encoder_attention_mask", *past_names(layers), *cross_names(layers)]
        dec_out = ["logits", *present_names(layers)]
        dec_axes = {"decoder_input_ids": {0: "batch"}, "encoder_attention_mask": {0: "batch", 1: "prompt"},
                    **{n: {0: "batch", 2: "past"} for n in past_names(layers)},
                    **{n: {0: "batch", 2: "prompt"} for n in cross_names(layers)},
                    "logits": {0: "batch"}, **{n: {0: "batch", 2: "past+1"} for n in present_names(layers)}}
        export_module(dec, (tokens, mask, *past, *cross), folder / sub / "decoder.onnx", dec_in, dec_out, dec_axes, opset)
    return {
        ENCODER: GraphSpec(f"{sub}/encoder.onnx", io_spec(enc_in, [ids, mask], enc_axes), io_spec(enc_out, cross, enc_axes)),
        DECODER: GraphSpec(f"{sub}/decoder.onnx", io_spec(dec_in, [tokens, mask, *past, *cross], dec_axes),
                           io_spec(dec_out, list(outs), dec_axes)),
    }
