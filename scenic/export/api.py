"""`export(checkpoint, out, config)`: ONNX graphs, parity, INT8/FP16 variants, bundles, TensorRT, manifest."""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from scenic import ScenicError
from scenic.artifacts import (
    MANIFEST, atomic_dir, check_output, folder_hash, make_manifest, read_manifest, sha256_file, write_json_atomic,
)
from scenic.export.config import ExportConfig
from scenic.runtime.layout import (
    EXPORT_FILE, FORMAT, FORMAT_VERSION, FP16, FP32, HOME_FILE, INT8_DYNAMIC, INT8_QDQ, TOKENIZER_FILE, VARIANT_FORMAT,
    shared_files,
)

COMPRESSION_FILE = "compression.json"
AS_EXPORTED = ".as-exported"  # scratch inside the export's temporary folder, removed before the manifest
PACKED_VARIANTS = (FP32, INT8_DYNAMIC)  # the CPU forms; TensorRT wants 2:4 weights as plain constants
BUNDLES_DIR = "bundles"

VARIANT_NOTES = {
    FP32: "reference precision; matches PyTorch",
    FP16: "FP16 weights for GPU execution providers / TensorRT (CPU runs it slowly)",
    INT8_DYNAMIC: "INT8 weights, dynamic activation quantization: the CPU deployment form",
    INT8_QDQ: "INT8 QDQ with calibrated activations: the form TensorRT builds INT8 engines from (no CPU speedup)",
}


@dataclass
class ExportResult:
    folder: Path
    manifest: dict[str, Any]

    @property
    def parity(self) -> dict[str, Any]:
        return self.manifest["parity"]


class _Steps:
    """A rich progress bar over the export's stages (or nothing, for tests and libraries)."""

    def __init__(self, total: int, show: bool):
        self.progress = None
        if show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description:<34}"), BarColumn(), TimeElapsedColumn())
            self.task = self.progress.add_task("export", total=total)

    @contextlib.contextmanager
    def stage(self, what: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress.update(self.task, description=what)
        yield
        if self.progress is not None:
            self.progress.advance(self.task)

    def __enter__(self):
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()


def _variant_dir_files(root: Path, variant: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / variant).rglob("*") if p.is_file())


def export(checkpoint: str | Path, out: str | Path, config: ExportConfig | None = None, data: str | Path | None = None,
           progress: bool = False, force: bool = False, threads: int | None = None) -> ExportResult:
    """Export a checkpoint folder to `out` (written atomically). See docs/export.md.

    `out` may hold an earlier export (it is replaced); any other SCENIC artifact only with `force`; never a folder
    with other files or one holding the checkpoint or the data (docs/CONTRACTS.md).

    Raises ParityError / SparsityLostError (nothing written) when a graph is not faithful, and TensorRTMissing
    after writing everything else when --trt was asked for without the tensorrt package. `threads`: CPU threads
    for torch and the onnxruntime parity sessions (default: scenic.threads' policy).
    """
    import torch

    from scenic.threads import apply_threads

    apply_threads(threads)
    from scenic.export.parity import check, compare
    from scenic.export.prompts import parity_and_calibration_prompts
    from scenic.export.shared_weights import share_identical_initializers
    from scenic.export.packed_2to4 import pack_graph
    from scenic.export.tied_embedding import gather_embedding_from_head, share_transposed_twin
    from scenic.export.sparsity import check_graphs, claims_2to4, sparse_weights
    from scenic.export.trt import TensorRTMissing, build_engines, engine_plans, tensorrt_module
    from scenic.models import CommandModel
    from scenic.models.tokenizer import BOS_ID, EOS_ID, PAD_ID, SEP_ID, UNK_ID
    from scenic.runtime.session import make_runner
    from scenic.runtime.tokens import PromptCodec, SpecialIds

    config = config or ExportConfig()
    if not config.onnx:
        raise ScenicError("nothing to export: ONNX is the format every other one is built from (pass --onnx)")
    ckpt, out = Path(checkpoint), Path(out)
    if not ckpt.is_dir():
        raise ScenicError(f"{ckpt}: no such checkpoint folder")
    out_policy = dict(inputs=(ckpt, data), force=force)
    check_output(out, "export", **out_policy)  # before any work
    cm = CommandModel.load(ckpt)
    ck_manifest = read_manifest(ckpt)
    compression = json.loads((ckpt / COMPRESSION_FILE).read_text(encoding="utf-8")) \
        if (ckpt / COMPRESSION_FILE).is_file() else None
    sparse = sparse_weights(cm.model)
    if claims_2to4(compression) and not sparse:
        raise ScenicError(f"{ckpt}: {COMPRESSION_FILE} says 2:4 but no Linear weight is 2:4 sparse")
    parity_prompts, calib_prompts, prompt_sources = parity_and_calibration_prompts(
        Path(data) if data else None, config.parity_prompts, config.calibration_prompts, config.seed)
    trt_missing: TensorRTMissing | None = None
    if config.trt:
        try:
            tensorrt_module()
        except TensorRTMissing as err:
            trt_missing = err
    torch.manual_seed(config.seed)

    variants = [FP32] + ([FP16] if config.fp16 else []) + ([INT8_DYNAMIC, INT8_QDQ] if config.int8 else [])
    stages = 3 + len(variants) * 2 + (1 if config.trt else 0)
    info: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": cm.kind,
        "max_prompt_tokens": cm.max_prompt_tokens, "max_command_tokens": cm.max_command_tokens,
        "special_ids": {"pad": PAD_ID, "eos": EOS_ID, "bos": BOS_ID, "unk": UNK_ID, "sep": SEP_ID},
        "tokenizer": TOKENIZER_FILE, "home": HOME_FILE if cm.home_yaml is not None else None,
        "prompt_tokenizer": _prompt_tokenizer_entry(cm),
        "opset": config.opset, "graphs": {}, "variants": {},
        "default_variant": config.default_variant or FP32,
    }
    if info["default_variant"] not in variants:
        raise ScenicError(f"default variant '{info['default_variant']}' is not being exported "
                          f"(exporting: {', '.join(variants)})")
    parity: dict[str, Any] = {}
    sparsity: dict[str, Any] = {}
    # TensorRT finds 2:4 weights for its sparse tactics in plain constants: the variants it builds from stay unpacked
    trt_sources = {v for _, v, _ in engine_plans(variants, fp16=config.fp16, int8=config.int8)} if config.trt else set()
    tied: dict[str, int] = {}  # variant -> tied tables now stored once (see export/tied_embedding.py)
    packed: dict[str, int] = {}  # variant -> 2:4 weights stored packed (see export/packed_2to4.py)
    with _Steps(stages, progress) as steps, atomic_dir(out, "export", **out_policy) as tmp:

        def finish(variant: str, path: Path, from_quantizer: bool) -> None:
            """Store the tied embedding once, and pack 2:4 weights in the CPU variants."""
            rewrite = gather_embedding_from_head if from_quantizer else share_transposed_twin
            tied[variant] = tied.get(variant, 0) + rewrite(path)
            if sparse and config.pack_2to4 and variant in PACKED_VARIANTS and variant not in trt_sources:
                packed[variant] = packed.get(variant, 0) + pack_graph(path)

        def share(variant: str) -> None:
            paths = [tmp / rel for rel in info["variants"][variant]["files"].values()]
            data = share_identical_initializers(paths)
            if data is not None:
                info["variants"][variant]["external_data"] = [f"{variant}/{data}"]

        shutil.copyfile(ckpt / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        if info["prompt_tokenizer"]:
            shutil.copyfile(ckpt / info["prompt_tokenizer"]["file"], tmp / info["prompt_tokenizer"]["file"])
        if cm.home_yaml is not None:
            (tmp / HOME_FILE).write_text(cm.home_yaml, encoding="utf-8")
        with steps.stage("exporting FP32 ONNX"):
            if cm.kind == "encoder-decoder":
                from scenic.export.onnx_encdec import export_encoder_decoder as export_graphs, model_info
            else:
                from scenic.export.onnx_decoder import export_decoder_only as export_graphs, model_info
            examples = sorted(parity_prompts[:8], key=len)
            specs = export_graphs(cm, tmp, FP32, config.opset, [examples[0], examples[-1]])
            info.update(model_info(cm.model))
            info["graphs"] = {g: {"inputs": s.inputs, "outputs": s.outputs} for g, s in specs.items()}
            info["variants"][FP32] = {"files": {g: s.file for g, s in specs.items()}, "note": VARIANT_NOTES[FP32]}
            # the other variants start from the graphs as exported: the quantizer only quantizes a MatMul whose
            # weight is a constant, and the FP16 converter knows nothing of the packing subgraph
            as_exported = {g: tmp / AS_EXPORTED / g for g in specs}
            (tmp / AS_EXPORTED).mkdir()
            for g, s in specs.items():
                shutil.copyfile(tmp / s.file, as_exported[g])
                finish(FP32, tmp / s.file, from_quantizer=False)
            share(FP32)

        codec = PromptCodec(tmp / TOKENIZER_FILE, cm.kind, SpecialIds(**info["special_ids"]), cm.max_prompt_tokens,
                            info["prompt_tokenizer"], tmp)
        if codec.prompt_ids(parity_prompts) != [cm.prompt_ids(p) for p in parity_prompts]:
            raise ScenicError("the runtime tokenizes prompts differently from the checkpoint; cannot export")

        def runner(variant: str, observer=None):
            files = {g: tmp / rel for g, rel in info["variants"][variant]["files"].items()}
            return make_runner(cm.kind, files, info, observer=observer)

        def check_variant(variant: str) -> None:
            with steps.stage(f"parity {variant}"):
                result = compare(cm, runner(variant), parity_prompts)
                parity[variant] = check(variant, result, config.parity_tolerance, config.min_token_agreement)
                paths = [tmp / rel for rel in info["variants"][variant]["files"].values()]
                sparsity[variant] = check_graphs(sparse, paths, variant)

        check_variant(FP32)
        fp32_files = info["variants"][FP32]["files"]

        def derive(variant: str, make, quantized: bool = False) -> None:
            with steps.stage(f"making {variant}"):
                files = {}
                for graph, rel in fp32_files.items():
                    dst = f"{variant}/{Path(rel).name}"
                    make(graph, as_exported[graph], tmp / dst)
                    finish(variant, tmp / dst, from_quantizer=quantized)
                    files[graph] = dst
                info["variants"][variant] = {"files": files, "note": VARIANT_NOTES[variant]}
                share(variant)
            check_variant(variant)

        if config.fp16:
            from scenic.export.fp16 import convert_fp16

            derive(FP16, lambda g, src, dst: convert_fp16(src, dst))
        if config.int8:
            from scenic.export.int8 import quantize_int8_dynamic, quantize_int8_qdq
            from scenic.runtime.search import greedy

            derive(INT8_DYNAMIC, lambda g, src, dst: quantize_int8_dynamic(src, dst), quantized=True)
            feeds: dict[str, list] = {g: [] for g in fp32_files}
            record = lambda graph, f: feeds[graph].append({k: v.copy() for k, v in f.items()})  # noqa: E731
            calib = runner(FP32, observer=record)
            for start in range(0, len(calib_prompts), config.calibration_batch):
                chunk = calib_prompts[start:start + config.calibration_batch]
                greedy(calib, [cm.prompt_ids(p) for p in chunk], cm.max_command_tokens, EOS_ID)
            derive(INT8_QDQ, lambda g, src, dst: quantize_int8_qdq(src, dst, feeds[g]), quantized=True)
        shutil.rmtree(tmp / AS_EXPORTED, ignore_errors=True)

        for variant in variants:
            write_json_atomic(tmp / variant / EXPORT_FILE,
                              {"format": VARIANT_FORMAT, "format_version": FORMAT_VERSION, "variant": variant})
        trt_report: dict[str, Any] | None = None
        if config.trt:
            with steps.stage("building TensorRT engines"):
                if trt_missing is not None:
                    trt_report = {"built": False, "reason": str(trt_missing)}
                else:
                    trt_report = build_engines(tmp, info, fp16=config.fp16, int8=config.int8, sparse=bool(sparse),
                                               max_batch=config.trt_max_batch, workspace_mb=config.trt_workspace_mb)
        write_json_atomic(tmp / EXPORT_FILE, info)

        with steps.stage("manifest and bundles"):
            files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file() and p.name != MANIFEST)
            shared = [EXPORT_FILE, *shared_files(info)]
            manifest = make_manifest("export", config, inputs={"checkpoint": folder_hash(ckpt)}, files=files, root=tmp)
            sizes = {n: manifest["files"][n]["bytes"] for n in files}
            manifest.update(
                kind=cm.kind, opset=config.opset, default_variant=info["default_variant"],
                source_checkpoint={"path": str(ckpt), "hash": folder_hash(ckpt), "stage": ck_manifest.get("stage"),
                                   "info": cm.info},
                compression=compression,
                tokenizer={"file": TOKENIZER_FILE, "sha256": sha256_file(tmp / TOKENIZER_FILE),
                           "vocab_size": cm.tokenizer.get_vocab_size()},
                home=_home_entry(cm, tmp),
                prompts=prompt_sources | {"parity_count": len(parity_prompts), "calibration_count": len(calib_prompts)},
                parity=parity,
                sparsity={"source_2to4_weights": len(sparse), "variants": sparsity},
                tied_tables_stored_once=tied,
                packed_2to4_weights=packed,
                trt=trt_report,
                variants={v: {"files": _variant_dir_files(tmp, v), "note": VARIANT_NOTES[v],
                              "raw_bytes": sum(sizes[n] for n in shared + _variant_dir_files(tmp, v))}
                          for v in variants},
            )
            if config.bundle != "none":
                from scenic.export.bundle import SUFFIX, variant_bundle

                name = out.name
                for v in variants:
                    rel = f"{BUNDLES_DIR}/{name}-{v}{SUFFIX[config.bundle]}"
                    entry = variant_bundle(tmp, tmp / rel, f"{name}-{v}", v, info, manifest,
                                           _variant_dir_files(tmp, v), config.bundle, config.zstd_level)
                    manifest["variants"][v]["bundle"] = {"file": rel, **entry}
            write_json_atomic(tmp / MANIFEST, manifest)
    if trt_missing is not None:
        raise TensorRTMissing(f"{trt_missing} (the ONNX export is complete in {out}; no engine was built)")
    return ExportResult(out, manifest)


def _prompt_tokenizer_entry(cm) -> dict[str, Any] | None:
    """export.json's entry for a pretrained encoder's own prompt tokenizer (None: prompts use tokenizer.json)."""
    if cm.prompt_tokenizer is None:
        return None
    from scenic.models.warm_start import PROMPT_TOKENIZER_FILE, special_prompt_ids

    cls_id, sep_id, _ = special_prompt_ids(cm.prompt_tokenizer)
    return {"file": PROMPT_TOKENIZER_FILE, "cls": cls_id, "sep": sep_id}


def _home_entry(cm, tmp: Path) -> dict[str, Any] | None:
    if cm.home_yaml is None:
        return None
    from scenic.homes import home_hash

    home = cm.home()
    return {"file": HOME_FILE, "name": home.name, "hash": home_hash(home), "sha256": sha256_file(tmp / HOME_FILE),
            "entities": len(home.entities)}
