"""A byte-level BPE tokenizer trained on the corpus: lossless for any script (English, Chinese, command syntax)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, EOS, BOS, UNK, SEP = "<pad>", "</s>", "<s>", "<unk>", "<sep>"
SPECIAL_TOKENS = [PAD, EOS, BOS, UNK, SEP]  # ids 0..4, fixed so configs can name them
PAD_ID, EOS_ID, BOS_ID, UNK_ID, SEP_ID = range(5)
TOKENIZER_FILE = "tokenizer.json"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4000, min_frequency: int = 2) -> Tokenizer:
    """Train byte-level BPE. Byte-level means no <unk> on unseen characters and exact decoding of names."""
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, "special tokens must keep their fixed ids"
    return tok


def load_tokenizer(folder: str | Path) -> Tokenizer:
    from scenic.artifacts import read_tokenizer

    return read_tokenizer(Path(folder) / TOKENIZER_FILE)


def encode(tok: Tokenizer, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False).ids


def decode(tok: Tokenizer, ids: Iterable[int]) -> str:
    """Decode up to the first EOS, dropping pads and specials."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS_ID:
            break
        if i < len(SPECIAL_TOKENS):
            continue
        out.append(i)
    return tok.decode(out, skip_special_tokens=False)
