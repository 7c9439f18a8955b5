"""Export: checkpoint -> ONNX graphs (+ FP16 / INT8 variants, bundles, TensorRT engines) checked against PyTorch.

`export(checkpoint, out, ExportConfig(...))` is the one entry point; `scenic export` is a thin layer over it.
Importing this package does not import torch (the work happens inside `export`).
"""

from scenic.export.api import ExportResult, export
from scenic.export.config import ExportConfig

__all__ = ["ExportConfig", "ExportResult", "export"]
