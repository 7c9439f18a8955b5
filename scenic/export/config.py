"""What `scenic export` makes and how strictly it checks it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from scenic.config.base import StrictModel

Variant = Literal["fp32", "fp16", "int8-dynamic", "int8-qdq"]


class ExportConfig(StrictModel):
    onnx: bool = True  # ONNX is what every other form is built from; kept as a flag for the CLI's explicitness
    int8: bool = False  # adds int8-dynamic (CPU) and int8-qdq (static, calibrated: the form TensorRT consumes)
    fp16: bool = False  # adds an fp16 ONNX variant and asks TensorRT for FP16 kernels
    pack_2to4: bool = True  # store 2:4 weights packed in the fp32 and int8-dynamic variants (0.75 of their size)
    trt: bool = False  # build TensorRT engines (needs the tensorrt package; see docs/deploy-jetson.md)
    opset: int = Field(17, ge=14, le=21)
    # parity: FP32 must match PyTorch logits within this absolute tolerance at every decoding step
    parity_tolerance: float = Field(1e-3, gt=0)
    # fp16 / int8 change logits by design: they must pick the same next token as PyTorch this often instead
    min_token_agreement: float = Field(0.98, ge=0, le=1)
    parity_prompts: int = Field(16, ge=1, le=1024)
    calibration_prompts: int = Field(128, ge=1, le=100000)
    calibration_batch: int = Field(16, ge=1, le=1024)
    bundle: Literal["zstd", "zip", "none"] = "zstd"
    zstd_level: int = Field(19, ge=1, le=22)
    default_variant: Variant | None = None  # what `scenic.runtime.load(folder)` uses; None: fp32
    trt_max_batch: int = Field(8, ge=1, le=1024)  # rows per call (prompts x beams) the engines accept
    trt_workspace_mb: int = Field(1024, ge=64)
    seed: int = 0
