"""FP16 ONNX variant (for GPU execution providers and TensorRT); inputs and outputs stay FP32 so the runtime's
feeds do not change. Uses onnxruntime's own converter rather than a hand-written pass."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnxruntime.transformers.float16 import convert_float_to_float16
from onnxruntime.transformers.onnx_model import OnnxModel


def convert_fp16(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    model = OnnxModel(convert_float_to_float16(onnx.load(str(src)), keep_io_types=True))
    model.topological_sort()  # the converter appends its input casts last; checkers and TensorRT want order
    onnx.save(model.model, str(dst))
