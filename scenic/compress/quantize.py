"""Post-training quantization of the Linear layers: INT8 weights (dynamic), INT8 weights + calibrated input ranges
(static, for QDQ / TensorRT), or FP16.

INT8 weights are symmetric per output channel: scale = max|w_row| / 127, q = round(w / scale) in [-127, 127].
Symmetric means 0 maps to 0, so a pruned (2:4 or magnitude) weight stays exactly zero. In memory the model keeps
the dequantized weights (q * scale), so torch evaluation measures the real rounding error; static INT8 also
simulates activation quantization with forward pre-hooks (fake quant, the arithmetic of ONNX QuantizeLinear +
DequantizeLinear), so its accuracy is honest too. Calibration arrives as a forward_loop or batches (modelopt style).
Written by hand (a few lines) because torch.ao quantization produces modules save_pretrained cannot write and
modelopt's output is simulation modules; modelopt is still usable as the calibrator (`method="modelopt"`).
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from torch import nn

from scenic import ScenicError
from scenic.compress.data import forward_loop_from
from scenic.compress.scope import Target

QMAX = 127  # weights use [-127, 127] (symmetric); activations saturate to [-128, 127] like ONNX QuantizeLinear
ACT_QMIN = -128
WEIGHT_SCHEME = "int8 symmetric per-output-channel, scale = max|w_row| / 127, zero point 0"
ACT_SCHEME = "int8 symmetric per-tensor, scale = amax / 127, zero point 0, saturate to [-128, 127]"
Calibration = Callable[[nn.Module], None] | Iterable[dict]


@dataclass
class QuantLayer:
    name: str
    aliases: list[str]
    shape: list[int]
    weight_q: torch.Tensor | None  # int8 (out, in)
    weight_scale: torch.Tensor | None  # fp32 (out,)
    input_amax: float | None = None  # static only


@dataclass
class QuantState:
    mode: str  # "int8" | "int8-static" | "fp16"
    method: str = "plain"
    layers: dict[str, QuantLayer] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def static(self) -> bool:
        return self.mode == "int8-static"


def quantize_weight(w: torch.Tensor, amax: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-output-channel INT8: (int8 weights, fp32 scales). `amax` overrides max|w_row| (modelopt)."""
    w = w.detach().float()
    if amax is None:
        amax = w.abs().amax(dim=1)
    scale = amax.reshape(-1).float().to(w.device) / QMAX
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row: any scale keeps it zero
    q = torch.round(w / scale[:, None]).clamp_(-QMAX, QMAX).to(torch.int8)
    return q, scale


def dequantize_weight(q: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return (q.to(torch.float32) * scale.to(torch.float32)[:, None]).to(dtype)


def fake_quant_activation(x: torch.Tensor, amax: float) -> torch.Tensor:
    """What QuantizeLinear -> DequantizeLinear does to an input: round to the int8 grid, saturate."""
    scale = (amax / QMAX) if amax > 0 else 1.0
    return torch.clamp(torch.round(x / scale), ACT_QMIN, QMAX) * scale


# ---- activation simulation hooks ---------------------------------------------------------------------------------

_HOOKS_ATTR = "_scenic_fake_quant_handles"


def install_activation_simulation(model: nn.Module, input_amax: dict[str, float]) -> int:
    """Fake-quantize each named Linear's input with its calibrated range; returns how many hooks were installed."""
    remove_activation_simulation(model)
    handles = []
    modules = dict(model.named_modules())
    for name, amax in input_amax.items():
        def hook(_module, args, _amax=float(amax)):
            if _exporting():  # the exporter wants the float graph and inserts real Q/DQ nodes itself
                return None
            return (fake_quant_activation(args[0], _amax), *args[1:])
        handles.append(modules[name].register_forward_pre_hook(hook))
    setattr(model, _HOOKS_ATTR, handles)
    return len(handles)


def _exporting() -> bool:
    exporting = getattr(torch.compiler, "is_exporting", None)
    return torch.onnx.is_in_onnx_export() or bool(exporting and exporting())


def remove_activation_simulation(model: nn.Module) -> None:
    """Take the fake-quant hooks off (the ONNX exporter wants the float graph and inserts real Q/DQ itself)."""
    for h in getattr(model, _HOOKS_ATTR, []) or []:
        h.remove()
    if hasattr(model, _HOOKS_ATTR):
        setattr(model, _HOOKS_ATTR, [])


def simulating_activations(model: nn.Module) -> bool:
    return bool(getattr(model, _HOOKS_ATTR, None))


# ---- calibration -------------------------------------------------------------------------------------------------

@torch.no_grad()
def calibrate_input_amax(model: nn.Module, targets: list[Target], calibration: Calibration) -> dict[str, float]:
    """Max |input| of each target Linear over the calibration batches (the 'max' calibrator)."""
    forward_loop = calibration if callable(calibration) else forward_loop_from(calibration)
    amax: dict[str, float] = {t.name: 0.0 for t in targets}
    handles = []
    for t in targets:
        def hook(_module, args, _name=t.name):
            amax[_name] = max(amax[_name], float(args[0].detach().abs().max()))
        handles.append(t.module.register_forward_pre_hook(hook))
    was_training = model.training
    model.eval()
    try:
        forward_loop(model)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return amax


def modelopt_int8_amax(model: nn.Module, targets: list[Target], calibration: Calibration | None,
                       static: bool) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Weight (per channel) and input (per tensor) ranges from modelopt's INT8 'max' calibration, on a copy."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import modelopt.torch.quantization as mtq
    except Exception:
        raise ScenicError("quant_method 'modelopt' needs nvidia-modelopt, which is not importable here "
                          "(pip install 'scenic[modelopt]'), or use quant_method plain") from None
    work = copy.deepcopy(model).eval()
    rules: list[dict[str, Any]] = [{"quantizer_name": "*", "enable": False}]
    for t in targets:
        rules.append({"quantizer_name": f"{t.name}.weight_quantizer", "cfg": {"num_bits": 8, "axis": 0}})
        if static:
            rules.append({"quantizer_name": f"{t.name}.input_quantizer", "cfg": {"num_bits": 8, "axis": None}})
    cfg = {"quant_cfg": rules, "algorithm": "max"}
    forward_loop = None
    if calibration is not None:
        forward_loop = calibration if callable(calibration) else forward_loop_from(calibration)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # it prints what it inserted
        warnings.simplefilter("ignore")
        mtq.quantize(work, cfg, forward_loop=forward_loop)
    modules = dict(work.named_modules())
    w_amax, in_amax = {}, {}
    for t in targets:
        m = modules[t.name]
        wa = getattr(m.weight_quantizer, "amax", None)
        if wa is None:
            raise ScenicError(f"modelopt did not calibrate {t.name}'s weights")
        w_amax[t.name] = wa.detach().float().reshape(-1).cpu()
        if static:
            ia = getattr(m.input_quantizer, "amax", None)
            if ia is None:
                raise ScenicError(f"modelopt did not calibrate {t.name}'s input (no calibration batch reached it?)")
            in_amax[t.name] = float(ia.detach().float().max())
    del work
    return w_amax, in_amax


# ---- the verb ----------------------------------------------------------------------------------------------------

@torch.no_grad()
def quantize(model: nn.Module, mode: str, targets: list[Target], calibration: Calibration | None = None,
             method: str = "plain") -> QuantState:
    """Quantize `targets` of `model` in place (weights replaced by their dequantized values) and return the state.

    `calibration` (static INT8 only): a forward_loop(model) or an iterable of model-input batches.
    """
    if mode == "fp16":
        state = QuantState(mode="fp16", method="plain")
        for p in model.parameters():
            if p.is_floating_point():
                p.data = p.data.to(torch.float16).to(p.dtype)  # fp16 rounding; stored as fp16 on save
        state.notes.append("all floating-point parameters stored as float16")
        return state
    if mode not in ("int8", "int8-static"):
        raise ScenicError(f"unknown quantization mode '{mode}' (int8, int8-static, fp16)")
    static = mode == "int8-static"
    if static and calibration is None:
        raise ScenicError("static INT8 needs calibration batches (--data)")
    non_linear = [t.name for t in targets if not isinstance(t.module, nn.Linear)]
    if non_linear:
        raise ScenicError(f"INT8 quantizes Linear layers only, not {non_linear[0]}")
    if not targets:
        raise ScenicError("no Linear layer selected for quantization (check quant_include / quant_exclude)")
    state = QuantState(mode=mode, method=method)
    if method == "modelopt":
        w_amax, in_amax = modelopt_int8_amax(model, targets, calibration, static)
    elif method == "plain":
        w_amax = {}
        in_amax = calibrate_input_amax(model, targets, calibration) if static else {}
    else:
        raise ScenicError(f"unknown quantization method '{method}' (plain, modelopt)")
    for t in targets:
        w = t.module.weight
        q, scale = quantize_weight(w, w_amax.get(t.name))
        w.data.copy_(dequantize_weight(q, scale, w.dtype).to(w.device))
        state.layers[t.name] = QuantLayer(t.name, list(t.aliases), list(w.shape), q.cpu(), scale.cpu(),
                                          in_amax.get(t.name) if static else None)
    if static:
        install_activation_simulation(model, {n: l.input_amax for n, l in state.layers.items()})
        dead = [n for n, l in state.layers.items() if not l.input_amax]
        if dead:
            state.notes.append(f"{len(dead)} layer(s) saw only zero inputs during calibration: {dead[:3]}")
    return state


def quant_report(state: QuantState) -> dict[str, Any]:
    """The compression.json entry: which layers and how."""
    out: dict[str, Any] = {"mode": state.mode, "method": state.method, "notes": state.notes}
    if state.mode == "fp16":
        out["weights"] = "float16 (all floating-point parameters)"
        return out
    out["weights"] = WEIGHT_SCHEME
    out["activations"] = ACT_SCHEME + " (calibrated)" if state.static else \
        "float (not quantized in the checkpoint; a CPU runtime quantizes them dynamically)"
    out["layers"] = {n: {"shape": l.shape, **({"aliases": l.aliases} if l.aliases else {}),
                         **({"input_amax": l.input_amax} if state.static else {})}
                     for n, l in state.layers.items()}
    out["num_layers"] = len(state.layers)
    return out
