"""TensorRT engines from the exported ONNX, with the tensorrt (10.x) Python API.

Everything TensorRT-specific lives here behind one import check: the package cannot be installed on our build,
CI and GPU machines, so this module has NOT been run there (docs/deploy-jetson.md says what has and has not).
Engines: FP32 (or FP16 from the fp16 ONNX, strongly typed), INT8 from the QDQ ONNX (explicit quantization),
SPARSE_WEIGHTS for 2:4 models; one optimisation profile covering the export's dynamic axes; whether sparse
tactics were picked is read from the builder log and the engine inspector.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from scenic import ScenicError

INSTALL_HINT = ("install TensorRT's Python package: `pip install 'tensorrt>=10'` on an x86 CUDA host, or JetPack's "
                "`python3-libnvinfer` on a Jetson")


class TensorRTMissing(ScenicError):
    """--trt was asked for on a machine without the tensorrt package."""


class TensorRTBuildError(ScenicError):
    """TensorRT could not parse or build a graph."""


def tensorrt_module():
    try:
        import tensorrt  # noqa: F401  (optional dependency: the `trt` extra)
    except ImportError:
        raise TensorRTMissing(f"TensorRT is not installed: {INSTALL_HINT}") from None
    return tensorrt


def profile_ranges(info: dict[str, Any], max_batch: int) -> dict[str, tuple[int, int, int]]:
    """(min, opt, max) for each symbolic axis name used in export.json."""
    prompt = int(info["max_prompt_tokens"]) + 2  # + BOS/SEP or EOS
    command = int(info["max_command_tokens"])
    return {
        "batch": (1, 1, max_batch),
        "prompt": (1, min(24, prompt), prompt),
        "tokens": (1, 1, prompt),
        "past": (0, 16, command),
        "past+tokens": (1, 24, prompt + command),
    }


def _shapes(spec: dict[str, Any], ranges: dict[str, tuple[int, int, int]]) -> tuple[tuple, tuple, tuple]:
    dims = [ranges[d] if isinstance(d, str) else (d, d, d) for d in spec["shape"]]
    return tuple(d[0] for d in dims), tuple(d[1] for d in dims), tuple(d[2] for d in dims)


def build_engine(trt, onnx_path: Path, engine_path: Path, inputs: list[dict[str, Any]],
                 ranges: dict[str, tuple[int, int, int]], *, fp16: bool = False, int8: bool = False,
                 strongly_typed: bool = False, sparse: bool = False, workspace_mb: int = 1024) -> dict[str, Any]:
    """Parse one ONNX graph and serialise an engine; report flags, size and sparse tactic choice."""

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.lines: list[str] = []

        def log(self, severity, msg):  # keep everything: the sparsity report is logged at INFO/VERBOSE
            self.lines.append(str(msg))

    logger = Logger()
    builder = trt.Builder(logger)
    flags = 0  # TensorRT 10 networks are always explicit-batch (the EXPLICIT_BATCH flag is deprecated)
    if strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise TensorRTBuildError(f"{onnx_path.name}: TensorRT could not parse the graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer/tactic names for the inspector
    used = []
    if fp16 and not strongly_typed:  # strongly typed networks take precisions from the graph, not from flags
        config.set_flag(trt.BuilderFlag.FP16)
        used.append("FP16")
    if int8 and not strongly_typed:  # explicit quantization: Q/DQ nodes give the scales, INT8 enables the kernels
        config.set_flag(trt.BuilderFlag.INT8)
        used.append("INT8")
    if sparse:
        config.set_flag(trt.BuilderFlag.SPARSE_WEIGHTS)
        used.append("SPARSE_WEIGHTS")
    if strongly_typed:
        used.append("STRONGLY_TYPED")
    profile = builder.create_optimization_profile()
    by_name = {spec["name"]: spec for spec in inputs}
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        lo, opt, hi = _shapes(by_name[tensor.name], ranges)
        profile.set_shape(tensor.name, lo, opt, hi)
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        tail = " | ".join(logger.lines[-3:])
        raise TensorRTBuildError(f"{onnx_path.name}: TensorRT build failed: {tail}")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(plan))
    report = {"onnx": onnx_path.name, "engine": engine_path.name, "flags": used, "bytes": engine_path.stat().st_size,
              "tensorrt": trt.__version__}
    report.update(_sparse_report(trt, logger, plan) if sparse else {"sparse_tactics": None})
    return report


def _sparse_report(trt, logger, plan) -> dict[str, Any]:
    """Which layers TensorRT found eligible for sparse math and which got sparse kernels."""
    eligible = [ln for ln in logger.lines if "eligible for sparse math" in ln]
    picked = [ln for ln in logger.lines if "picked sparse implementation" in ln]
    inspected: list[str] = []
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(plan)
    if engine is not None:
        inspector = engine.create_engine_inspector()
        layers = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON)).get("Layers", [])
        for layer in layers:
            text = json.dumps(layer) if not isinstance(layer, str) else layer
            if "sparse" in text.lower():
                inspected.append(layer.get("Name", text[:80]) if isinstance(layer, dict) else text[:80])
    return {"sparse_tactics": bool(picked or inspected), "sparse_log_eligible": eligible,
            "sparse_log_picked": picked, "sparse_layers_inspector": inspected}


def engine_plans(variants: Sequence[str], *, fp16: bool, int8: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """(engine name, ONNX variant it is built from, builder flags) for the variants an export has."""
    plans = []
    if fp16 and "fp16" in variants:
        plans.append(("fp16", "fp16", {"strongly_typed": True}))
    else:
        plans.append(("fp32", "fp32", {}))
    if int8 and "int8-qdq" in variants:
        plans.append(("int8", "int8-qdq", {"int8": True, "fp16": fp16}))
    return plans


def build_engines(folder: Path, info: dict[str, Any], *, fp16: bool, int8: bool, sparse: bool, max_batch: int,
                  workspace_mb: int) -> dict[str, Any]:
    """Engines under `folder/trt/` for the variants present; returns the report for the manifest."""
    from scenic.runtime.verify import inside

    trt = tensorrt_module()
    ranges = profile_ranges(info, max_batch)
    plans = engine_plans(list(info["variants"]), fp16=fp16, int8=int8)
    engines: dict[str, Any] = {}
    for name, variant, flags in plans:
        for graph, rel in info["variants"][variant]["files"].items():
            engines[f"{name}/{graph}"] = build_engine(
                trt, inside(folder, rel), folder / "trt" / f"{name}-{graph}.plan", info["graphs"][graph]["inputs"], ranges,
                sparse=sparse, workspace_mb=workspace_mb, **flags)
            engines[f"{name}/{graph}"]["file"] = f"trt/{name}-{graph}.plan"
    return {"built": True, "engines": engines, "profile": {k: list(v) for k, v in ranges.items()},
            "sparse_weights_flag": sparse,
            "sparse_tactics_chosen": any(e.get("sparse_tactics") for e in engines.values()) if sparse else None}


def add_engines(export_dir: str | Path, *, fp16: bool | None = None, int8: bool | None = None, max_batch: int = 8,
                workspace_mb: int = 1024) -> dict[str, Any]:
    """Build engines into an existing export folder (on the target device: needs tensorrt, not torch).

    fp16 / int8 default to the variants the export has. The folder is rewritten atomically with the engines listed
    in its manifest (sizes and sha256) and the build report under "trt".
    """
    import shutil

    from scenic.artifacts import MANIFEST, atomic_dir, sha256_file, write_json_atomic
    from scenic.runtime import read_export_info
    from scenic.runtime.verify import read_manifest

    tensorrt_module()
    root, info, pointed = read_export_info(export_dir)
    if pointed is not None:
        raise ScenicError(f"{export_dir}: is a variant folder; pass the export folder {root}")
    manifest = read_manifest(root)
    fp16 = "fp16" in info["variants"] if fp16 is None else fp16
    int8 = "int8-qdq" in info["variants"] if int8 is None else int8
    sparse = bool((manifest.get("sparsity") or {}).get("source_2to4_weights"))
    with atomic_dir(root) as tmp:
        shutil.copytree(root, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("trt"))
        report = build_engines(tmp, info, fp16=fp16, int8=int8, sparse=sparse, max_batch=max_batch,
                               workspace_mb=workspace_mb)
        for engine in report["engines"].values():
            rel = engine["file"]
            manifest["files"][rel] = {"bytes": (tmp / rel).stat().st_size, "sha256": sha256_file(tmp / rel)}
        manifest["trt"] = report
        write_json_atomic(tmp / MANIFEST, manifest)
    return report
