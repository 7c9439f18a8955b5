"""The quantized checkpoint on disk, and loading it back (CommandModel.load calls `load_quantized_model`).

Files beside the usual save_pretrained ones (docs/compression.md is the reference for the export stage):
- `quantization.json`: mode, schemes, and per quantized Linear its tensor names, shape and (static) input range.
- `quantized_weights.safetensors`: `<module>.weight` int8 (out, in) and `<module>.weight_scale` float32 (out,).
- `model.safetensors`: everything else, without the quantized Linear weights (so their storage really is int8).
FP16 checkpoints have no weights file: model.safetensors itself holds float16 tensors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from scenic import ScenicError
from scenic.compress.quantize import (
    ACT_QMIN, ACT_SCHEME, QMAX, WEIGHT_SCHEME, QuantState, dequantize_weight, install_activation_simulation,
)

QUANT_FILE = "quantization.json"
QUANT_WEIGHTS_FILE = "quantized_weights.safetensors"
MODEL_WEIGHTS_FILE = "model.safetensors"
FORMAT = "scenic-quant"
FORMAT_VERSION = 1


def quant_metadata(state: QuantState) -> dict[str, Any]:
    meta: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "mode": state.mode, "method": state.method}
    if state.mode == "fp16":
        meta["weights"] = {"file": MODEL_WEIGHTS_FILE, "dtype": "float16"}
        meta["layers"] = {}
        return meta
    meta["weights"] = {"file": QUANT_WEIGHTS_FILE, "dtype": "int8", "qmin": -QMAX, "qmax": QMAX, "axis": 0,
                       "scale_dtype": "float32", "zero_point": 0, "scheme": WEIGHT_SCHEME}
    meta["activations"] = ({"dtype": "int8", "qmin": ACT_QMIN, "qmax": QMAX, "granularity": "per-tensor",
                            "zero_point": 0, "calibrator": "max", "scheme": ACT_SCHEME} if state.static else None)
    layers = {}
    for name, l in state.layers.items():
        row: dict[str, Any] = {"weight": f"{name}.weight", "scale": f"{name}.weight_scale", "shape": l.shape}
        if l.aliases:
            row["aliases"] = l.aliases
        if state.static:
            row["input_amax"] = l.input_amax
            row["input_scale"] = (l.input_amax / QMAX) if l.input_amax else 1.0
        layers[name] = row
    meta["layers"] = layers
    return meta


def save_quantized(model: nn.Module, state: QuantState, folder: str | Path) -> dict[str, Any]:
    """After CommandModel.save(folder): move the quantized Linear weights out of model.safetensors into int8 storage.

    FP16: re-save the model with float16 tensors. Returns the metadata written to quantization.json.
    """
    from safetensors.torch import load_file, save_file

    folder = Path(folder)
    if (folder / (MODEL_WEIGHTS_FILE + ".index.json")).exists():
        raise ScenicError("sharded checkpoints are not supported by the quantized format")
    meta = quant_metadata(state)
    if state.mode == "fp16":
        dtype = next(model.parameters()).dtype
        model.to(torch.float16)
        try:
            model.save_pretrained(folder)
        finally:
            model.to(dtype)
    else:
        sd = load_file(str(folder / MODEL_WEIGHTS_FILE))
        params = model.state_dict(keep_vars=True)
        tensors: dict[str, torch.Tensor] = {}
        for name, l in state.layers.items():
            w = model.get_submodule(name).weight
            dropped = [k for k, p in params.items() if p is w and sd.pop(k, None) is not None]
            if not dropped:
                raise RuntimeError(f"{name}.weight not found in {MODEL_WEIGHTS_FILE}")
            tensors[f"{name}.weight"] = l.weight_q.contiguous()
            tensors[f"{name}.weight_scale"] = l.weight_scale.contiguous()
        save_file(sd, str(folder / MODEL_WEIGHTS_FILE), metadata={"format": "pt"})
        save_file(tensors, str(folder / QUANT_WEIGHTS_FILE), metadata={"format": FORMAT, "version": str(FORMAT_VERSION)})
    (folder / QUANT_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def read_quant_metadata(folder: str | Path) -> dict[str, Any] | None:
    path = Path(folder) / QUANT_FILE
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ScenicError(f"{path}: corrupt ({err}); copy the checkpoint again or remake it") from None
    if not isinstance(meta, dict):
        raise ScenicError(f"{path}: corrupt (not a JSON object); copy the checkpoint again or remake it")
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise ScenicError(f"{path}: unknown quantization format {meta.get('format')!r} v{meta.get('version')}")
    return meta


def load_quantized_model(folder: str | Path, model_cls: type, device: str | torch.device = "cpu",
                         simulate_activations: bool = True) -> nn.Module:
    """Build the model from its config and fill the quantized Linear weights with their dequantized values.

    Static INT8 also gets its fake-quant input hooks (unless `simulate_activations=False`, e.g. for ONNX export).
    FP16 is computed in float16 on CUDA and upcast to float32 on CPU (CPU float16 matmuls are slow and emulated).
    """
    from safetensors.torch import load_file
    from transformers import GenerationConfig

    folder = Path(folder)
    meta = read_quant_metadata(folder)
    if meta is None:
        raise ScenicError(f"{folder}: no {QUANT_FILE}")
    if meta["mode"] == "fp16":
        dtype = torch.float16 if torch.device(device).type == "cuda" else torch.float32
        return model_cls.from_pretrained(folder, dtype=dtype, use_safetensors=True).to(device)
    config = model_cls.config_class.from_pretrained(folder)
    model = model_cls(config)
    sd = load_file(str(folder / MODEL_WEIGHTS_FILE))
    qt = load_file(str(folder / meta["weights"]["file"]))
    for name, row in meta["layers"].items():
        sd[f"{name}.weight"] = dequantize_weight(qt[row["weight"]], qt[row["scale"]])
    missing, unexpected = model.load_state_dict(sd, strict=False)
    params = model.state_dict(keep_vars=True)
    untied = [k for k in missing if not any(params[k] is params[j] for j in sd if j in params)]
    if unexpected or untied:
        raise ScenicError(f"{folder}: quantized checkpoint does not match its config "
                          f"(missing {untied[:3]}, unexpected {list(unexpected)[:3]})")
    if (folder / "generation_config.json").is_file():
        model.generation_config = GenerationConfig.from_pretrained(folder)
    model.to(device)
    model.eval()
    if meta["mode"] == "int8-static" and simulate_activations:
        install_activation_simulation(model, {n: r["input_amax"] for n, r in meta["layers"].items()})
    return model
