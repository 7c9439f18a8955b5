"""Encoder-decoder (T5) to ONNX: an encoder graph and one decoder-with-past graph.

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


class EncoderGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        hidden = self.model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        b, s, _ = hidden.shape
        out = []
        for block in self.model.decoder.block:
            attn = block.layer[1].EncDecAttention
            for proj in (attn.k, attn.v):
                out.append(proj(hidden).view(b, s, -1, attn.key_value_proj_dim).transpose(1, 2))
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
        # The cross keys/values come from the cache; T5 only needs a tensor of the right shape here to know that
        # the layer is cross-attention. It is never read, so it does not appear in the graph.
        unused = torch.zeros(b, s, self.model.config.d_model, dtype=kv[0].dtype)
        out = self.model.decoder(input_ids=decoder_input_ids, encoder_hidden_states=unused,
                                 encoder_attention_mask=encoder_attention_mask, past_key_values=cache, use_cache=True)
        hidden = out.last_hidden_state
        if getattr(self.model.config, "scale_decoder_outputs", False):  # as T5ForConditionalGeneration.forward
            hidden = hidden * (self.model.model_dim ** -0.5)
        logits = self.model.lm_head(hidden)
        present = out.past_key_values.self_attention_cache
        return (logits, *[t for layer in present.layers for t in (layer.keys, layer.values)])


def model_info(model) -> dict[str, int]:
    c = model.config
    return {"num_layers": c.num_decoder_layers, "num_heads": c.num_heads, "head_dim": c.d_kv, "vocab_size": c.vocab_size}


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
