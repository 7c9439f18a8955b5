"""onnxruntime sessions for one export variant, driven step by step with a key/value cache (numpy only).

Both kinds expose the same three calls so search code never branches on the architecture:
`prefill(prompt_ids) -> (state, logits)`, `step(state, tokens) -> logits`, `select(state, rows) -> state`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import onnxruntime as ort

from scenic.runtime.layout import DECODER, ENCODER, cross_names, past_names

Observer = Callable[[str, dict[str, np.ndarray]], None]  # (graph name, feeds): lets calibration record real inputs

_NP_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64}


def make_session(path: Path, providers: Sequence[str] | None = None, threads: int | None = None) -> ort.InferenceSession:
    """One onnxruntime session; its thread count follows scenic.threads (the cores available, or `threads`)."""
    from scenic.threads import ort_threads

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    ort_threads(opts, threads)
    return ort.InferenceSession(str(path), sess_options=opts, providers=list(providers or ["CPUExecutionProvider"]))


@dataclass
class DecodeState:
    """Per-row arrays; every array has the rows on axis 0 so `select` is one np.take each."""

    past: list[np.ndarray]
    mask: np.ndarray  # encoder mask (encoder-decoder) or the running attention mask (decoder-only)
    cross: list[np.ndarray] = field(default_factory=list)
    position: np.ndarray | None = None  # decoder-only: position id of the last token fed


def _pad(seqs: list[list[int]], pad: int, left: bool) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), pad, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for i, s in enumerate(seqs):
        if left:
            ids[i, width - len(s):], mask[i, width - len(s):] = s, 1
        else:
            ids[i, :len(s)], mask[i, :len(s)] = s, 1
    return ids, mask


class _Runner:
    def __init__(self, graphs: dict[str, ort.InferenceSession], info: dict[str, Any], observer: Observer | None = None):
        self.graphs = graphs
        self.layers = int(info["num_layers"])
        self.heads = int(info["num_heads"])
        self.head_dim = int(info["head_dim"])
        self.pad = int(info["special_ids"]["pad"])
        self.observer = observer
        dec_inputs = {i.name: i.type for i in graphs[DECODER].get_inputs()}
        self.past_dtype = _NP_TYPES[dec_inputs[past_names(self.layers)[0]]]
        self._past_in = past_names(self.layers)

    def _run(self, graph: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self.observer is not None:
            self.observer(graph, feeds)
        return self.graphs[graph].run(None, feeds)

    def _empty_past(self, rows: int) -> list[np.ndarray]:
        return [np.zeros((rows, self.heads, 0, self.head_dim), dtype=self.past_dtype) for _ in self._past_in]

    @staticmethod
    def select(state: DecodeState, rows: np.ndarray) -> DecodeState:
        take = lambda a: np.take(a, rows, axis=0)  # noqa: E731
        return replace(state, past=[take(a) for a in state.past], mask=take(state.mask),
                       cross=[take(a) for a in state.cross],
                       position=None if state.position is None else take(state.position))


class EncoderDecoderRunner(_Runner):
    """T5: the encoder graph returns every layer's cross-attention keys/values; one decoder graph does all steps."""

    def __init__(self, graphs, info, observer=None):
        super().__init__(graphs, info, observer)
        self._cross = cross_names(self.layers)

    def prefill(self, prompt_ids: list[list[int]]) -> tuple[DecodeState, np.ndarray]:
        ids, mask = _pad(prompt_ids, self.pad, left=False)
        cross = self._run(ENCODER, {"input_ids": ids, "attention_mask": mask})
        state = DecodeState(past=self._empty_past(len(prompt_ids)), mask=mask, cross=cross)
        start = np.full(len(prompt_ids), self.pad, dtype=np.int64)  # T5 decoding starts from PAD
        return state, self.step(state, start)

    def step(self, state: DecodeState, tokens: np.ndarray) -> np.ndarray:
        feeds = {"decoder_input_ids": np.asarray(tokens, dtype=np.int64).reshape(-1, 1),
                 "encoder_attention_mask": state.mask,
                 **dict(zip(self._past_in, state.past)), **dict(zip(self._cross, state.cross))}
        out = self._run(DECODER, feeds)
        state.past = out[1:]
        return out[0][:, -1, :].astype(np.float32, copy=False)


class DecoderOnlyRunner(_Runner):
    """Llama: one graph with past; the prompt is the first call (past of length 0), then one token a call."""

    def prefill(self, prompt_ids: list[list[int]]) -> tuple[DecodeState, np.ndarray]:
        ids, mask = _pad(prompt_ids, self.pad, left=True)  # left padding, as CommandModel.generate does
        positions = np.where(mask == 1, np.cumsum(mask, axis=1) - 1, 1)
        state = DecodeState(past=self._empty_past(len(prompt_ids)), mask=mask, position=positions[:, -1].copy())
        return state, self._forward(state, ids, positions)

    def step(self, state: DecodeState, tokens: np.ndarray) -> np.ndarray:
        rows = len(state.mask)
        state.mask = np.concatenate([state.mask, np.ones((rows, 1), dtype=np.int64)], axis=1)
        state.position = state.position + 1
        return self._forward(state, np.asarray(tokens, dtype=np.int64).reshape(-1, 1), state.position[:, None])

    def _forward(self, state: DecodeState, ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": state.mask, "position_ids": positions.astype(np.int64),
                 **dict(zip(self._past_in, state.past))}
        out = self._run(DECODER, feeds)
        state.past = out[1:]
        return out[0][:, -1, :].astype(np.float32, copy=False)


def make_runner(kind: str, files: dict[str, Path], info: dict[str, Any], providers: Sequence[str] | None = None,
                threads: int | None = None, observer: Observer | None = None) -> _Runner:
    graphs = {name: make_session(path, providers, threads) for name, path in files.items()}
    cls = EncoderDecoderRunner if kind == "encoder-decoder" else DecoderOnlyRunner
    return cls(graphs, info, observer)
