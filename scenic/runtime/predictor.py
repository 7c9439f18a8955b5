"""The runtime's model: prompts in, command strings out, on onnxruntime with a KV cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from scenic import ScenicError
from scenic.commands import CommandParseError, parse, validate
from scenic.homes import Home
from scenic.runtime.grammar import FALLBACK
from scenic.runtime.search import beam_search, greedy
from scenic.runtime.tokens import PromptCodec


def prompt_problem(prompt: Any) -> str | None:
    """Why a request cannot be read as text (None when it can): not a string, or not encodable as UTF-8 (a lone
    surrogate, e.g. from undecodable bytes). Such a request gets its own error; the rest of its batch is answered."""
    if not isinstance(prompt, str):
        return f"not a string (got {type(prompt).__name__})"
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as err:
        return (f"not valid Unicode text (lone surrogate U+{ord(prompt[err.start]):04X} at character {err.start}; "
                "undecodable bytes in the input?)")
    return None


def printable(text: Any) -> str:
    """`text` with anything UTF-8 cannot carry written as a backslash escape, so it can be printed or stored."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(text, str) else repr(text)


@dataclass
class Prediction:
    """One prompt's answer as `scenic run` prints it; `error` (with no command) when the request could not be read."""

    prompt: str
    command: str | None
    alternatives: list[str]
    calls: list[dict] | None
    valid: bool | None  # None when there is no home to check against
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"prompt": printable(self.prompt), "command": self.command, "calls": self.calls, "valid": self.valid}
        if self.alternatives:
            out["alternatives"] = self.alternatives
        if self.error:
            out["error"] = self.error
        return out


RESCUE_BEAMS = 4  # beams for constrained prompts whose greedy path cannot be completed into a valid command


class Predictor:
    """Same `generate` contract as CommandModel: `num_return` strings per prompt, best first."""

    def __init__(self, folder: Path, variant: str, info: dict[str, Any], manifest: dict[str, Any], runner,
                 codec: PromptCodec, home: Home | None, tokenizer_path: Path):
        self.folder = folder
        self.variant = variant
        self.export_info = info  # export.json
        self.manifest = manifest
        # what evaluation reports next to its numbers (CommandModel.info plays the same role)
        self.info = {"export": str(folder), "variant": variant, "kind": info["kind"],
                     "source_checkpoint": manifest.get("source_checkpoint"),
                     "parity": (manifest.get("parity") or {}).get(variant)}
        self.kind: str = info["kind"]
        first = next(iter(runner.graphs.values()))
        self.device = f"onnxruntime {first.get_providers()[0]}"
        self.max_command_tokens = int(info["max_command_tokens"])
        self.runner = runner
        self.codec = codec
        self._home = home
        self._tokenizer_path = tokenizer_path
        self._constraint = None

    def home(self) -> Home | None:
        """The home the export was made for (None when the checkpoint had none)."""
        return self._home

    def constraint(self):
        if self._constraint is None:
            if self._home is None:
                raise ScenicError(f"{self.folder}: constrained decoding needs a home, and this export has none")
            from scenic.runtime.constrained import CommandConstraint, token_bytes

            tokens = token_bytes(self._tokenizer_path, self.codec.tokenizer)
            self._constraint = CommandConstraint(self._home, tokens, self.codec.special.eos)
        return self._constraint

    def generate(self, prompts: Sequence[str], num_beams: int = 1, num_return: int = 1, batch_size: int = 64,
                 constrained: bool = False, progress: Callable[[int], Any] | None = None) -> list[list[str]]:
        """Decode commands. With `constrained`, every string parses and validates against the home.

        Each request is answered on its own: one that is not readable text (`prompt_problem`) gets no candidates
        (an empty list) and the others of its batch are decoded as if it were not there."""
        if num_beams < 1 or not 1 <= num_return <= num_beams:
            raise ScenicError(f"need 1 <= num_return ({num_return}) <= num_beams ({num_beams})")
        if batch_size < 1:
            raise ScenicError("batch_size must be at least 1")
        readable = [i for i, p in enumerate(prompts) if prompt_problem(p) is None]
        answers = self._generate([prompts[i] for i in readable], num_beams, num_return, batch_size, constrained,
                                 progress)
        results: list[list[str]] = [[] for _ in prompts]
        for i, texts in zip(readable, answers):
            results[i] = texts
        if progress is not None and len(readable) < len(prompts):
            progress(len(prompts) - len(readable))
        return results

    def _generate(self, prompts: list[str], num_beams: int, num_return: int, batch_size: int, constrained: bool,
                  progress: Callable[[int], Any] | None) -> list[list[str]]:
        constraint = self.constraint() if constrained else None
        special = self.codec.special
        results: list[list[str]] = []
        for start in range(0, len(prompts), batch_size):
            chunk = list(prompts[start:start + batch_size])
            ids = self.codec.prompt_ids(chunk)
            if num_beams == 1:
                rows = greedy(self.runner, ids, self.max_command_tokens, special.eos, constraint)
                texts = [[self.codec.decode(seq)] if ok else None for seq, ok in rows]
                dead = [i for i, t in enumerate(texts) if t is None]
                if dead:  # greedy walked into a dead end of the grammar: let a small beam search backtrack
                    hyps = beam_search(self.runner, [ids[i] for i in dead], RESCUE_BEAMS, 1, self.max_command_tokens,
                                       special.eos, special.pad, constraint=constraint)
                    for i, h in zip(dead, hyps):
                        texts[i] = [self.codec.decode(h[0][0]) if h else FALLBACK]
            else:
                hyps = beam_search(self.runner, ids, num_beams, num_return, self.max_command_tokens, special.eos,
                                   special.pad, constraint=constraint)
                texts = [[self.codec.decode(seq) for seq, _ in h] or [FALLBACK] for h in hyps]
            if constrained:
                texts = [[t if self._valid(t) else FALLBACK for t in row] for row in texts]
            results += texts
            if progress is not None:
                progress(len(chunk))
        return results

    def _valid(self, text: str) -> bool:
        try:
            return not validate(parse(text), self._home)
        except CommandParseError:
            return False

    def predict(self, prompts: Sequence[str], num_beams: int = 1, constrained: bool = False,
                batch_size: int = 64) -> list[Prediction]:
        """Commands with their parsed calls and validity, for printing; a request that is not readable text gets a
        Prediction with its `error` (and no command) while the others are answered."""
        outs = self.generate(prompts, num_beams=num_beams, num_return=num_beams, batch_size=batch_size,
                             constrained=constrained)
        preds = []
        for prompt, texts in zip(prompts, outs):
            problem = prompt_problem(prompt)
            if problem is not None:
                preds.append(Prediction(prompt, None, [], None, None, problem))
                continue
            command = texts[0]
            try:
                calls = parse(command)
                valid = None if self._home is None else not validate(calls, self._home)
                preds.append(Prediction(prompt, command, texts[1:], [c.to_json() for c in calls], valid))
            except CommandParseError as err:
                preds.append(Prediction(prompt, command, texts[1:], None, False, str(err)))
        return preds
