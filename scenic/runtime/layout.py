"""Names shared by the exporter and the runtime: files, variants and graph input/output names.

Lives in the runtime (not in scenic.export) so the runtime never imports the exporter, which needs torch.
"""

from __future__ import annotations

EXPORT_FILE = "export.json"  # graph I/O, kind, limits, variants (the runtime's only description of the model)
TOKENIZER_FILE = "tokenizer.json"
HOME_FILE = "home.yaml"
MANIFEST_FILE = "manifest.json"
FORMAT = "scenic-export"
VARIANT_FORMAT = "scenic-export-variant"  # the small export.json inside a variant folder that points at its parent
FORMAT_VERSION = 1

FP32, FP16, INT8_DYNAMIC, INT8_QDQ = "fp32", "fp16", "int8-dynamic", "int8-qdq"
VARIANTS = (FP32, FP16, INT8_DYNAMIC, INT8_QDQ)

ENCODER, DECODER = "encoder", "decoder"


def shared_files(info: dict) -> list[str]:
    """The files every variant of an export needs besides its graphs and export.json: the command tokenizer, the
    home and a pretrained encoder's prompt tokenizer, where the export has them."""
    return [info["tokenizer"]] + ([info["home"]] if info.get("home") else []) + \
        ([info["prompt_tokenizer"]["file"]] if info.get("prompt_tokenizer") else [])


def cross_names(layers: int) -> list[str]:
    """Cross-attention keys/values: computed once by the encoder graph, read by every decoder step."""
    return [f"cross.{i}.{t}" for i in range(layers) for t in ("key", "value")]


def past_names(layers: int) -> list[str]:
    return [f"past.{i}.{t}" for i in range(layers) for t in ("key", "value")]


def present_names(layers: int) -> list[str]:
    return [f"present.{i}.{t}" for i in range(layers) for t in ("key", "value")]
