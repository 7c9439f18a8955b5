"""Prompt encoding and command decoding with `tokenizers` only, matching CommandModel token for token.

scenic.models.tokenizer holds the same rules, but importing it pulls in torch through scenic.models; the ids and
limits come from export.json (written from the checkpoint) so the two cannot drift apart silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from tokenizers import Tokenizer

from scenic.artifacts import read_tokenizer


def load_prompt_tokenizer(path: Path) -> Tokenizer:
    """A pretrained encoder's tokenizer without its shipped padding/truncation: callers pad and truncate themselves."""
    tok = read_tokenizer(path)
    tok.no_padding()
    tok.no_truncation()
    return tok


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    eos: int
    bos: int
    unk: int
    sep: int

    @property
    def count(self) -> int:
        return max(self.pad, self.eos, self.bos, self.unk, self.sep) + 1


class PromptCodec:
    """Turns prompts into model inputs and generated ids back into command strings."""

    def __init__(self, tokenizer_path: Path, kind: str, special: SpecialIds, max_prompt_tokens: int,
                 prompt_tokenizer: dict | None = None, root: Path | None = None):
        """`prompt_tokenizer` is export.json's entry for a pretrained encoder's own tokenizer ({file, cls, sep}):
        prompts are then [cls] ids [sep] in its vocabulary, and only commands use `tokenizer_path`."""
        self.tokenizer = read_tokenizer(tokenizer_path)
        self.kind = kind
        self.special = special
        self.max_prompt_tokens = max_prompt_tokens
        self.prompt_tokenizer, self.prompt_wrap = self.tokenizer, None
        if prompt_tokenizer:
            from scenic.runtime.verify import inside

            self.prompt_tokenizer = load_prompt_tokenizer(inside(Path(root or tokenizer_path.parent),
                                                                 prompt_tokenizer["file"]))
            self.prompt_wrap = (int(prompt_tokenizer["cls"]), int(prompt_tokenizer["sep"]))

    def prompt_ids(self, prompts: Sequence[str]) -> list[list[int]]:
        encs = self.prompt_tokenizer.encode_batch(list(prompts), add_special_tokens=False)
        out = []
        for e in encs:
            ids = e.ids[: self.max_prompt_tokens]
            if self.prompt_wrap is not None:
                out.append([self.prompt_wrap[0]] + ids + [self.prompt_wrap[1]])
            elif self.kind == "encoder-decoder":
                out.append(ids + [self.special.eos])
            else:
                out.append([self.special.bos] + ids + [self.special.sep])
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Up to the first EOS, dropping pads and other specials (as scenic.models.tokenizer.decode does)."""
        keep = []
        for i in ids:
            i = int(i)
            if i == self.special.eos:
                break
            if i < self.special.count:
                continue
            keep.append(i)
        return self.tokenizer.decode(keep, skip_special_tokens=False)
