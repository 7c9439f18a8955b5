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
from scenic.export.packed_2to4 import folded_initializers, pack, unpack
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
    assert result.manifest["tied_tables_stored_once"] == {v: 1 for v in variants}
    assert not (out / ".as-exported").exists()
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
        unpacked = export(ckpt, tmp_path / "unpacked", ExportConfig(int8=True, calibration_prompts=12,
                                                                    pack_2to4=False, bundle="none"), data=data)
    m = result.manifest
    assert m["compression"] == compression
    n = m["sparsity"]["source_2to4_weights"]
    assert n == len(masks) > 0
    # the CPU variants store 2:4 weights packed (TensorRT's QDQ form keeps them as plain constants)
    # counted per graph (T5's pruned shared embedding is packed in both of its graphs, then stored once); INT8
    # weights under 8 kB stay dense, since packing saves less than its unpacking nodes cost
    assert m["packed_2to4_weights"]["fp32"] >= n and 0 < m["packed_2to4_weights"]["int8-dynamic"] < n
    assert set(m["packed_2to4_weights"]) == {"fp32", "int8-dynamic"}
    assert unpacked.manifest["packed_2to4_weights"] == {}
    for variant in ("fp32", "int8-dynamic", "int8-qdq"):
        assert m["sparsity"]["variants"][variant] == {"sparse_weights": n, "kept": n, "exact": True}
        # independent of the exporter's own check: count 2:4 weights in the graphs as onnxruntime runs them
        # (after its constant folding has executed the unpacking ops of a packed graph)
        found = 0
        for rel in json.loads((tmp_path / "export" / "export.json").read_text())["variants"][variant]["files"].values():
            for a in folded_initializers(tmp_path / "export" / rel):
                found += a.ndim == 2 and (is_2to4(a) or is_2to4(np.ascontiguousarray(a.T)))
        assert found >= n, variant
        same_outputs = runtime.load(tmp_path / "export", variant=variant).generate(PROMPTS, num_beams=3, num_return=3)
        assert same_outputs == runtime.load(tmp_path / "unpacked", variant=variant).generate(
            PROMPTS, num_beams=3, num_return=3), variant
    def weight_bytes(folder, variant):
        files = json.loads((folder / "export.json").read_text())["variants"][variant]["files"].values()
        return sum(numpy_helper.to_array(i).nbytes for rel in files for i in onnx.load(str(folder / rel)).graph.initializer)

    for variant, most in (("fp32", 0.6), ("int8-dynamic", 0.95)):  # values at 1/2, one pattern byte per 4 weights
        assert weight_bytes(tmp_path / "export", variant) < most * weight_bytes(tmp_path / "unpacked", variant)
    bundles = {v: m["variants"][v]["bundle"]["bytes"] for v in ("fp32", "int8-dynamic")}
    dense_bundles = {v: dense.manifest["variants"][v]["bundle"]["bytes"] for v in ("fp32", "int8-dynamic")}
    assert bundles["fp32"] < dense_bundles["fp32"] and bundles["int8-dynamic"] < dense_bundles["int8-dynamic"]


def test_pack_round_trips_and_refuses_dense_weights():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 96)).astype(np.float32)
    groups = w.reshape(16, 4, 96)
    keep = np.argsort(rng.random(groups.shape), axis=1)[:, :2, :]
    mask = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=1)
    sparse = (groups * mask).reshape(64, 96)
    sparse[:4, 0] = 0  # a group with fewer than two non-zeros still packs
    values, codes = pack(sparse)
    assert values.shape == (32, 96) and codes.dtype == np.uint8 and codes.max() <= 5
    assert np.array_equal(unpack(values, codes), sparse)
    assert pack(w) is None  # dense: not 2:4


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
