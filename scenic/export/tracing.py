"""Shared plumbing for torch.onnx.export (TorchScript tracing, dynamo=False, which STACK-NOTES found reliable)."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch


@dataclass
class GraphSpec:
    """One graph's file and I/O, as written into export.json for the runtime (and TensorRT profiles)."""

    file: str
    inputs: list[dict[str, Any]] = field(default_factory=list)  # {name, dtype, shape: [int | symbol]}
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "inputs": self.inputs, "outputs": self.outputs}


@contextlib.contextmanager
def eager_attention(model) -> Iterator[None]:
    """Trace with eager attention: SDPA kernels trace into shape-specialised graphs on some versions."""
    old = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(old)


def export_module(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
                  axes: dict[str, dict[int, str]], opset: int) -> None:
    module.eval()  # a wrapper left in train mode exports dropout (STACK-NOTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-level shape checks are expected here
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)


def io_spec(names: list[str], tensors: list[torch.Tensor], axes: dict[str, dict[int, str]]) -> list[dict[str, Any]]:
    out = []
    for name, t in zip(names, tensors):
        dyn = axes.get(name, {})
        shape = [dyn.get(i, int(d)) for i, d in enumerate(t.shape)]
        out.append({"name": name, "dtype": str(t.dtype).removeprefix("torch."), "shape": shape})
    return out
