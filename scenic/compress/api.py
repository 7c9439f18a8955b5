"""`compress(checkpoint, out, config)`: structured pruning -> sparsity -> recovery -> quantization -> folder.

The one function the CLI, the pipeline and the benchmark call. It reads the dataset folder (the only place that
does), hands batches to the library verbs, and writes the compressed checkpoint atomically: the usual checkpoint
files, compression.json (what was done, measured per layer), quantization files when quantized, manifest.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import torch

from scenic import ScenicError
from scenic.artifacts import atomic_dir, check_output, folder_hash, make_manifest, read_manifest, sha256_file
from scenic.compress.config import CompressConfig
from scenic.compress.data import calibration_batches, forward_loop_from, load_training_rows
from scenic.compress.masks import cubic_schedule, masks_from_zeros
from scenic.compress.recovery import RecoveryResult, mask_hook, recover
from scenic.compress.report import REPORT_FILE, build_report, sparsity_section
from scenic.compress.scope import select_linears, select_targets
from scenic.compress.sparsify import SparsifyResult, sparsify
from scenic.compress.storage import QUANT_FILE, read_quant_metadata, save_quantized
from scenic.compress.structured import prune_structured
from scenic.models.presets import count_parameters


def _input_hash(folder: Path) -> str:
    try:
        return folder_hash(folder)
    except ScenicError:  # a checkpoint without a manifest (made by hand): hash its weights instead
        files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".json"))
        return "files:" + ",".join(f"{p.name}={sha256_file(p)[:16]}" for p in files)


def _check_inputs(model_dir: Path, cfg: CompressConfig) -> None:
    """Everything that can be wrong with the inputs, before any work or any output folder."""
    from scenic.models.command_model import SCENIC_MODEL_FILE

    if not (model_dir / SCENIC_MODEL_FILE).is_file():
        raise ScenicError(f"{model_dir}: not a SCENIC checkpoint (no {SCENIC_MODEL_FILE})")
    if read_quant_metadata(model_dir) is not None:
        raise ScenicError(f"{model_dir}: already quantized; compress the unquantized checkpoint instead")
    if cfg.data is not None and not Path(cfg.data).is_dir():
        raise ScenicError(f"--data {cfg.data}: no such folder")
    if cfg.method != "magnitude":
        from scenic.compress.modelopt_sparsity import modelopt_available

        if not modelopt_available():
            raise ScenicError(f"--method {cfg.method} needs nvidia-modelopt, which is not importable here "
                              "(pip install 'scenic[modelopt]'), or use --method magnitude")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ScenicError("--device cuda requested but CUDA is not available")


def inherit_training_objective(model_dir: Path, cfg: CompressConfig) -> CompressConfig:
    """Fill unset contrastive_weight/margin from the checkpoint's training config, so recovery continues the
    objective the model was trained with (0 / 0.2 for a checkpoint without a training manifest)."""
    if cfg.contrastive_weight is not None and cfg.contrastive_margin is not None:
        return cfg
    try:
        manifest = read_manifest(model_dir)
    except ScenicError:  # a checkpoint made by hand: no training objective to continue
        manifest = {}
    trained: dict[str, Any] = manifest.get("config", {}) if manifest.get("stage") == "train" else {}
    weight = cfg.contrastive_weight if cfg.contrastive_weight is not None else float(trained.get("triplet_lambda") or 0.0)
    margin = cfg.contrastive_margin if cfg.contrastive_margin is not None else float(trained.get("triplet_margin") or 0.2)
    return cfg.model_copy(update={"contrastive_weight": weight, "contrastive_margin": margin})


def compress(model_dir: str | Path, out_dir: str | Path, config: CompressConfig, progress: bool = True,
             force: bool = False, threads: int | None = None) -> Path:
    """Compress the checkpoint at `model_dir` into `out_dir` (a checkpoint folder CommandModel.load reads).

    An existing `out_dir` is replaced only with `force`, and only when it holds a SCENIC artifact (docs/CONTRACTS.md).
    `threads`: CPU threads (default: scenic.threads' policy).
    """
    from scenic.models import CommandModel
    from scenic.threads import apply_threads

    apply_threads(threads)
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    cfg = config
    _check_inputs(model_dir, cfg)
    out_policy = dict(inputs=(model_dir, cfg.data), force=force, replace=False)
    check_output(out_dir, "compress", **out_policy)  # before any work
    rows, triplet_rows = load_training_rows(cfg.data) if cfg.data is not None else (None, [])
    cfg = inherit_training_objective(model_dir, cfg)
    use_triplets = cfg.contrastive_weight > 0 and bool(triplet_rows)  # the training objective, when it can be had

    torch.manual_seed(cfg.seed)
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    cm = CommandModel.load(model_dir, device=device)
    params_before = count_parameters(cm.model)
    steps: list[str] = []
    structured_info = pruning_info = None
    recovery_info: list[dict[str, Any]] = []

    # 1. structured: a smaller model (before unstructured masks, which then apply to the smaller matrices)
    if cfg.structured is not None:
        cm.model, res = prune_structured(cm.model, cfg.structured, cfg.structured_parts, cfg.importance, cfg.round_to)
        cm.info["parameters"] = res.params_after
        cm.info["structured"] = res.after  # config.json is the truth; the trained `backbone` entry is kept as history
        structured_info = {"fraction": cfg.structured, "parts": cfg.structured_parts, "importance": cfg.importance,
                           **res.as_dict()}
        steps.append(f"structured {cfg.structured:g}")

    # 2. sparsity masks (one-shot, or progressive with recovery between stages)
    targets = select_targets(cm.model, cfg.include, cfg.exclude, cfg.prune_embeddings, cfg.prune_lm_head)
    if cfg.sparsity is not None and not targets:
        raise ScenicError("no layer selected for pruning (check include / exclude)")
    n_recover = _recover_steps(cfg, rows)

    def run_recovery(n: int, after_step: Callable | None, label: str) -> RecoveryResult:
        r = recover(cm, rows, n, triplets=triplet_rows if use_triplets else None, after_step=after_step,
                    batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                    warmup_fraction=cfg.warmup_fraction, contrastive_weight=cfg.contrastive_weight,
                    contrastive_margin=cfg.contrastive_margin, seed=cfg.seed + len(recovery_info),
                    progress=progress, description=label)
        recovery_info.append({"stage": label, **r.as_dict()})
        return r

    sp: SparsifyResult | None = None
    if cfg.sparsity is not None:
        forward_loop = None
        if cfg.method == "modelopt-sparsegpt":
            forward_loop = forward_loop_from(calibration_batches(cm, rows, cfg.calib_batches, cfg.batch_size, cfg.seed))
        schedule = cubic_schedule(cfg.sparsity, cfg.stages) if cfg.stages > 1 else [cfg.sparsity]
        per_stage = _split(n_recover, len(schedule))
        for k, level in enumerate(schedule):
            sp = sparsify(cm.model, level, targets, cfg.method, cfg.granularity, forward_loop)
            if len(schedule) > 1:
                steps.append(f"prune {level:.3f} (stage {k + 1}/{len(schedule)})")
                run_recovery(per_stage[k], mask_hook(sp.masks, sp.weights), f"recover stage {k + 1}/{len(schedule)}")
                steps.append(f"recover {per_stage[k]} steps")
        if len(schedule) == 1:
            steps.append(f"prune {cfg.sparsity if isinstance(cfg.sparsity, str) else format(cfg.sparsity, 'g')}"
                         f" ({cfg.method})")
        pruning_info = {"sparsity": cfg.sparsity, "method": cfg.method, "granularity": cfg.granularity,
                        "schedule": [round(s, 6) for s in schedule] if cfg.stages > 1 else None,
                        "pattern": "2:4 along the input dimension" if sp.semi_structured else "unstructured",
                        "targets": len(sp.masks), "skipped": sp.skipped,
                        "include": cfg.include, "exclude": cfg.exclude,
                        "embeddings": cfg.prune_embeddings, "lm_head": cfg.prune_lm_head}

    # 3. recovery with the masks held fixed (or the zeros an already pruned checkpoint has)
    if n_recover > 0 and cfg.stages == 1:
        if sp is not None:
            masks, weights = sp.masks, sp.weights
        else:
            weights = {t.name: t.weight for t in targets}
            masks = {n: m for n, m in masks_from_zeros(weights).items() if not bool(m.all())}
            weights = {n: weights[n] for n in masks}
        run_recovery(n_recover, mask_hook(masks, weights) if masks else None, "recover")
        steps.append(f"recover {n_recover} steps")
        if sp is not None:
            sp.check()  # masked weights are still exactly zero, 2:4 still exact

    # 4. quantization
    quant_state = None
    if cfg.quant is not None:
        from scenic.compress.quantize import quantize

        qtargets = select_linears(cm.model, cfg.quant_include, cfg.quant_exclude, cfg.quant_lm_head)
        calibration = None
        if cfg.quant == "int8-static" or (cfg.quant_method == "modelopt" and rows is not None):
            calibration = calibration_batches(cm, rows, cfg.calib_batches, cfg.batch_size, cfg.seed)
        quant_state = quantize(cm.model, cfg.quant, qtargets, calibration, cfg.quant_method)
        steps.append(f"quantize {cfg.quant} ({cfg.quant_method})")
        if sp is not None:
            sp.check()  # symmetric quantization maps 0 to 0

    # 5. report, measured on the final weights
    cm.model.eval()
    prev_path = model_dir / REPORT_FILE
    previous = json.loads(prev_path.read_text(encoding="utf-8")) if prev_path.is_file() else None
    if sp is not None:
        pruned, semi = list(sp.masks), sp.semi_structured
    else:  # e.g. quantizing a checkpoint an earlier run pruned: report its pruned layers as such
        pruned, semi = _previously_pruned(previous)
    sparsity = sparsity_section(cm.model, pruned, semi, cfg.prune_embeddings, cfg.prune_lm_head)
    quant = None
    if quant_state is not None:
        from scenic.compress.quantize import quant_report

        quant = {**quant_report(quant_state), "file": QUANT_FILE}
    cfg_json = cfg.model_dump(mode="json")
    source = {"path": str(model_dir), "hash": _input_hash(model_dir)}
    report = build_report(source=source, kind=cm.kind, config=cfg_json, steps=steps,
                          parameters={"before": params_before, "after": count_parameters(cm.model)},
                          sparsity=sparsity, structured=structured_info, pruning=pruning_info,
                          recovery=recovery_info or None, quantization=quant, previous=previous)

    # 6. write atomically
    inputs = {"checkpoint": source["hash"]}
    if cfg.data is not None:
        inputs["data"] = _input_hash(Path(cfg.data))
    with atomic_dir(out_dir, "compress", **out_policy) as tmp:
        cm.save(tmp)
        if quant_state is not None:
            report["quantization"]["storage"] = save_quantized(cm.model, quant_state, tmp)["weights"]
        (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        files = sorted(p.name for p in tmp.iterdir() if p.is_file())
        manifest = make_manifest("compress", cfg_json, inputs=inputs, files=files, root=tmp,
                                 extra={"summary": summary(report)})
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out_dir


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers worth printing."""
    q = report.get("quantization") or {}
    return {"steps": report["steps"], "parameters": report["parameters"],
            "sparsity_pruned_layers": report["sparsity"]["pruned_layers"],
            "sparsity_whole_model": report["sparsity"]["whole_model"],
            "quantization": q.get("mode")}


def _previously_pruned(previous: dict[str, Any] | None) -> tuple[list[str], bool]:
    if not previous or not previous.get("sparsity"):
        return [], False
    names = [n for n, r in previous["sparsity"]["layers"].items() if r.get("pruned")]
    return names, (previous.get("pruning") or {}).get("sparsity") == "2:4"


def _recover_steps(cfg: CompressConfig, rows) -> int:
    if cfg.recover_epochs is not None:
        return max(1, math.ceil(cfg.recover_epochs * len(rows) / cfg.batch_size))
    return cfg.recover_steps


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
