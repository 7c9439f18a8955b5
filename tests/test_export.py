"""Export: real ONNX graphs from tiny trained models, parity against PyTorch, INT8, 2:4 sparsity, bundles, --trt."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

import scenic.runtime as runtime
from export_helpers import (  # noqa: F401 (torch_one_thread is a fixture)
    COMMANDS, PROMPTS, exported, one_thread, save_checkpoint, torch_one_thread, trained,
)
from scenic.artifacts import sha256_file
from scenic.config.base import ConfigError, validate_config
from scenic.export import ExportConfig, export
from scenic.export.parity import ParityError
from scenic.export.sparsity import is_2to4

KINDS = ["t5-micro", "llama-micro"]
pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("preset", KINDS)
def test_export_folder_is_complete_and_checked(preset, tmp_path_factory):
    cm, out, result = exported(preset, tmp_path_factory)
    m = json.loads((out / "manifest.json").read_text())
    info = json.loads((out / "export.json").read_text())
    assert m["stage"] == "export" and m["kind"] == cm.kind == info["kind"] and m["opset"] == 17
    for name, entry in m["files"].items():  # every file, with its real size and hash
        assert (out / name).stat().st_size == entry["bytes"] and sha256_file(out / name) == entry["sha256"]
    graphs = {"encoder", "decoder"} if cm.kind == "encoder-decoder" else {"decoder"}
    assert set(info["variants"]) == {"fp32", "fp16", "int8-dynamic", "int8-qdq"}
    assert all(set(v["files"]) == graphs for v in info["variants"].values())
    for v in info["variants"].values():
        for rel in v["files"].values():
            onnx.checker.check_model(str(out / rel))
    fp32 = m["parity"]["fp32"]
    assert fp32["passed"] and fp32["max_abs_diff"] <= fp32["tolerance"] == 1e-3 and fp32["token_agreement"] == 1.0
    assert fp32["steps"] > 5 and fp32["compared"] > len(PROMPTS)  # real multi-step decoding
    assert m["prompts"]["parity"].endswith("val.jsonl")  # prompts from the data, not the built-in ones
    for v in ("fp16", "int8-dynamic", "int8-qdq"):
        assert m["parity"][v]["passed"] and m["parity"][v]["criterion"] == "token_agreement"
    assert m["tokenizer"]["vocab_size"] == cm.tokenizer.get_vocab_size()
    assert m["home"]["name"] == "Default Home" and m["source_checkpoint"]["stage"] == "train"
    sizes = {v: m["variants"][v]["raw_bytes"] for v in info["variants"]}
    assert sizes["int8-dynamic"] < 0.6 * sizes["fp32"] and sizes["fp16"] < sizes["fp32"]
    for v, entry in m["variants"].items():
        bundle = entry["bundle"]
        assert (out / bundle["file"]).stat().st_size == bundle["bytes"] < entry["raw_bytes"]
    # QDQ is the explicit-quantization form: QuantizeLinear/DequantizeLinear pairs around the MatMuls
    qdq = onnx.load(str(out / info["variants"]["int8-qdq"]["files"]["decoder"]))
    assert sum(n.op_type == "QuantizeLinear" for n in qdq.graph.node) > 0


@pytest.mark.parametrize("preset", KINDS)
def test_int8_variants_still_memorise(preset, tmp_path_factory):
    _, out, _ = exported(preset, tmp_path_factory)
    for variant in ("int8-dynamic", "int8-qdq", "fp16"):
        predictor = runtime.load(out, variant=variant)
        assert [r[0] for r in predictor.generate(PROMPTS)] == COMMANDS, variant


@pytest.mark.parametrize("preset", KINDS)
def test_tied_embedding_is_stored_once(preset, tmp_path_factory):
    """Both presets tie the LM head to the embedding (transformers 5 ties T5's too): every variant's decoder graph
    holds that table once, where the exporter and the quantizer would store it twice."""
    cm, out, result = exported(preset, tmp_path_factory)
    assert cm.model.config.tie_word_embeddings
    variants = json.loads((out / "export.json").read_text())["variants"]
    # fp16 is converted from the already rewritten FP32 graph, so it has nothing left to rewrite
    assert result.manifest["tied_tables_stored_once"] == {v: int(v != "fp16") for v in variants}
    assert not (out / ".quantize-source").exists()
    vocab, width = cm.model.get_input_embeddings().weight.shape
    for variant, entry in variants.items():
        graph = onnx.load(str(out / entry["files"]["decoder"]), load_external_data=False).graph
        tables = [i.name for i in graph.initializer if sorted(i.dims) == sorted([vocab, width])]
        assert len(tables) == 1, (variant, tables)


def test_parity_failure_writes_nothing(tmp_path, tmp_path_factory):
    _, ckpt, data = trained("llama-micro", tmp_path_factory)
    with pytest.raises(ParityError, match="differ from PyTorch"), one_thread():
        export(ckpt, tmp_path / "x", ExportConfig(parity_tolerance=1e-12, bundle="none"), data=data)
    assert not (tmp_path / "x").exists()


def _prune_2to4(model) -> dict[str, torch.Tensor]:
    masks = {}
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear):
            w = mod.weight.data
            keep = w.abs().reshape(w.shape[0], -1, 4).topk(2, dim=-1).indices
            mask = torch.zeros_like(w).reshape(w.shape[0], -1, 4).scatter_(-1, keep, 1.0).reshape(w.shape)
            w.mul_(mask)
            masks[name] = mask
    return masks


def test_2to4_sparsity_stays_exact_and_shrinks_bundles(tmp_path, tmp_path_factory):
    trained_cm, _, dense = exported("t5-micro", tmp_path_factory)
    _, _, data = trained("t5-micro", tmp_path_factory)
    cm = copy.deepcopy(trained_cm)
    masks = _prune_2to4(cm.model)
    opt = torch.optim.AdamW(cm.model.parameters(), lr=2e-3)  # short recovery, masks re-applied after each step
    cm.model.train()
    with one_thread():
        for _ in range(60):
            loss, _ = cm.forward(cm.training_batch(PROMPTS, COMMANDS))
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for name, mod in cm.model.named_modules():
                    if name in masks:
                        mod.weight.mul_(masks[name])
        cm.model.eval()
        compression = {"format": "scenic-compression",
                       "pruning": {"sparsity": "2:4", "pattern": "2:4 along the input dimension"}}
        ckpt = save_checkpoint(cm, tmp_path / "ckpt", compression)
        result = export(ckpt, tmp_path / "export", ExportConfig(int8=True, calibration_prompts=12), data=data)
    m = result.manifest
    assert m["compression"] == compression
    n = m["sparsity"]["source_2to4_weights"]
    assert n == len(masks) > 0
    for variant in ("fp32", "int8-dynamic", "int8-qdq"):
        assert m["sparsity"]["variants"][variant] == {"sparse_weights": n, "kept": n, "exact": True}
        # independent of the exporter's own check: count 2:4 initializers in the graphs
        found = 0
        for rel in json.loads((tmp_path / "export" / "export.json").read_text())["variants"][variant]["files"].values():
            for init in onnx.load(str(tmp_path / "export" / rel)).graph.initializer:
                a = numpy_helper.to_array(init)
                found += a.ndim == 2 and (is_2to4(a) or is_2to4(np.ascontiguousarray(a.T)))
        assert found >= n, variant
    bundles = {v: m["variants"][v]["bundle"]["bytes"] for v in ("fp32", "int8-dynamic")}
    dense_bundles = {v: dense.manifest["variants"][v]["bundle"]["bytes"] for v in ("fp32", "int8-dynamic")}
    assert bundles["fp32"] < dense_bundles["fp32"] and bundles["int8-dynamic"] < dense_bundles["int8-dynamic"]


def test_trt_without_tensorrt_fails_clearly_and_keeps_onnx(tmp_path, tmp_path_factory):
    _, ckpt, data = trained("t5-micro", tmp_path_factory)
    out = tmp_path / "exp"
    code = ("import sys; sys.modules['tensorrt'] = None; from scenic.cli import main; "
            f"sys.argv = ['scenic', 'export', {str(ckpt)!r}, '--onnx', '--trt', '--out', {str(out)!r}, "
            f"'--data', {str(data)!r}]; main()")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny model: threads only contend on a shared CI machine
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "TensorRT is not installed" in errors[0] and "pip install" in errors[0]
    m = json.loads((out / "manifest.json").read_text())
    assert m["trt"]["built"] is False and not (out / "trt").exists()
    assert [r[0] for r in runtime.load(out).generate(PROMPTS)] == COMMANDS


def test_export_config_is_strict():
    with pytest.raises(ConfigError, match="unknown key 'parity_tol'"):
        validate_config(ExportConfig, {"parity_tol": 1.0})
    with pytest.raises(ConfigError, match="bundle"):
        validate_config(ExportConfig, {"bundle": "rar"})
