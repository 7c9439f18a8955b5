"""Schema-constrained decoding: at each step only tokens that keep the output a possible valid command.

Tokens are walked through the grammar automaton via a trie of their bytes, so one step explores only the live
branches (a few dozen nodes) instead of every token of the vocabulary; the resulting masks are cached per
automaton state, which beams and prompts share.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from scenic.homes import Home
from scenic.runtime.errors import ExportFormatError
from scenic.runtime.grammar import END, START, CommandGrammar, State


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte <-> printable-character table, which byte-level BPE token strings are written in."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def token_bytes(tokenizer_path: Path, tokenizer) -> list[bytes | None]:
    """Each token's exact bytes (None for special tokens). Needs a byte-level tokenizer (SCENIC trains those)."""
    spec = json.loads(Path(tokenizer_path).read_text(encoding="utf-8"))
    if (spec.get("decoder") or {}).get("type") != "ByteLevel":
        raise ExportFormatError("constrained decoding needs a byte-level BPE tokenizer (the one `scenic train` builds)")
    inverse = {c: b for b, c in _bytes_to_unicode().items()}
    special = {t["id"] for t in spec.get("added_tokens", []) if t.get("special")}
    out: list[bytes | None] = []
    for i in range(tokenizer.get_vocab_size()):
        tok = tokenizer.id_to_token(i)
        if tok is None or i in special or any(ch not in inverse for ch in tok):
            out.append(None)
        else:
            out.append(bytes(inverse[ch] for ch in tok))
    return out


class _Trie:
    __slots__ = ("children", "ids")

    def __init__(self):
        self.children: dict[int, _Trie] = {}
        self.ids: list[int] = []


class CommandConstraint:
    """The `Constraint` the search functions take: allowed-token masks and state updates for one home."""

    def __init__(self, home: Home, tokens: list[bytes | None], eos: int):
        self.grammar = CommandGrammar(home)
        self.tokens = tokens
        self.eos = eos
        self.vocab = len(tokens)
        self.root = _Trie()
        for i, data in enumerate(tokens):
            if not data:
                continue
            node = self.root
            for byte in data:
                node = node.children.setdefault(byte, _Trie())
            node.ids.append(i)

    def initial(self) -> State:
        return START

    @lru_cache(maxsize=16384)
    def allowed_mask(self, state: State) -> np.ndarray:
        mask = np.zeros(self.vocab, dtype=bool)
        if state == END:
            return mask
        stack = [(self.root, state)]
        step = self.grammar.step
        while stack:
            node, st = stack.pop()
            if st[0] == "V":  # inside a value: walk the value set's trie alongside the token trie
                self._walk_value(node, st, mask, stack)
                continue
            for byte, child in node.children.items():
                nxt = step(st, byte)
                if nxt is None:
                    continue
                if child.ids:
                    mask[child.ids] = True
                if child.children:
                    stack.append((child, nxt))
        if self.grammar.can_end(state):
            mask[self.eos] = True
        mask.setflags(write=False)
        return mask

    def _walk_value(self, node: _Trie, state: State, mask: np.ndarray, stack: list) -> None:
        """Tokens (from token-trie `node` on) that continue the value of `state`: the byte tries of the tokens and of
        the value set are walked together, visiting only bytes both allow, so a name set of thousands costs what
        the tokens that fit it cost. A token running past a complete value continues through the grammar."""
        _, intent, slots, key, _ = state
        start = self.grammar.value_node(state)
        if start is None:
            return
        pairs = [(node, start)]
        while pairs:
            tnode, wnode = pairs.pop()
            if wnode.complete:  # the value may end here: what follows it is the grammar's business
                for byte, child in tnode.children.items():
                    if byte in wnode.children:
                        continue
                    nxt = self.grammar.step(("V", intent, slots, key, wnode.text), byte)
                    if nxt is not None:
                        if child.ids:
                            mask[child.ids] = True
                        if child.children:
                            stack.append((child, nxt))
            tc, wc = tnode.children, wnode.children
            for byte in (tc if len(tc) < len(wc) else wc):
                tchild, wchild = tc.get(byte), wc.get(byte)
                if tchild is None or wchild is None:
                    continue
                if tchild.ids:
                    mask[tchild.ids] = True
                if tchild.children:
                    pairs.append((tchild, wchild))

    @lru_cache(maxsize=65536)
    def advance(self, state: State, token: int) -> State | None:
        if token == self.eos:
            return END
        data = self.tokens[token] if token < self.vocab else None
        return None if data is None else self.grammar.walk(state, data)
