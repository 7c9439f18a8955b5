"""INT8 variants with onnxruntime.quantization.

- dynamic: weights INT8 per channel, activations quantized on the fly; the CPU form (about 4x smaller, faster).
- static QDQ: weights per channel and activations from calibration on real prompts, as QuantizeLinear /
  DequantizeLinear pairs: the explicit-quantization form TensorRT builds INT8 engines from. Only MatMul/Gemm with
  a constant weight are quantized (STACK-NOTES: QDQ over every op breaks T5's relative-position Gather).
Both are symmetric with zero point 0, so an exact zero stays an exact zero: 2:4 sparsity survives quantization.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static,
)


class _NoPreprocessAdvice(logging.Filter):
    """onnxruntime logs advice to run its shape-inference pre-pass on every call; our graphs come straight from
    the exporter with shapes, and the advice would bury the progress bar."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    root = logging.getLogger()
    flt = _NoPreprocessAdvice()
    root.addFilter(flt)
    try:
        yield
    finally:
        root.removeFilter(flt)


def quantize_int8_dynamic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        _quantize_dynamic(src, dst)


def _quantize_dynamic(src: Path, dst: Path) -> None:
    quantize_dynamic(src, dst, op_types_to_quantize=["MatMul", "Gemm", "Gather"], per_channel=True,
                     weight_type=QuantType.QInt8,
                     extra_options={"WeightSymmetric": True, "MatMulConstBOnly": True})


class FeedReader(CalibrationDataReader):
    """Hands recorded graph inputs (one dict per call) to the calibrator."""

    def __init__(self, feeds: Iterable[dict[str, np.ndarray]]):
        self._feeds = list(feeds)
        self._it = iter(self._feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._feeds)


def quantize_int8_qdq(src: Path, dst: Path, feeds: list[dict[str, np.ndarray]]) -> None:
    """Calibrate activation ranges (MinMax) on `feeds`, recorded from real prompts, then write QDQ INT8."""
    if not feeds:
        raise ValueError("static INT8 needs calibration inputs")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        _quantize_static(src, dst, feeds)


def _quantize_static(src: Path, dst: Path, feeds: list[dict[str, np.ndarray]]) -> None:
    quantize_static(
        src, dst, FeedReader(feeds), quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul", "Gemm"],
        per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax, calibration_providers=["CPUExecutionProvider"],
        extra_options={"WeightSymmetric": True, "ActivationSymmetric": True,  # TensorRT wants zero point 0
                       "MatMulConstBOnly": True},
    )
