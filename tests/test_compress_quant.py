"""INT8 / FP16 checkpoints: real int8 storage, zeros kept through quantization, honest reload, static ranges."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from compress_helpers import memorise_rows, trained
from scenic import ScenicError
from scenic.compress import CompressConfig, compress
from scenic.compress.masks import follows_2_4
from scenic.compress.quantize import remove_activation_simulation, simulating_activations
from scenic.compress.scope import select_linears
from scenic.compress.storage import QUANT_FILE, QUANT_WEIGHTS_FILE
from scenic.models import CommandModel


def _logits(cm, rows):
    batch = cm.training_batch([r["prompt"] for r in rows], [r["command"] for r in rows])
    with torch.no_grad():
        return cm.model(**{k: v for k, v in batch.items() if k != "prompt_mask"}).logits


def test_int8_stores_linear_weights_in_about_a_quarter_of_the_bytes(tmp_path_factory, tmp_path):
    ckpt, _ = trained(tmp_path_factory, "t5-micro", 120)
    out = compress(ckpt, tmp_path / "q", CompressConfig(quant="int8", device="cpu"), progress=False)
    meta = json.loads((out / QUANT_FILE).read_text())
    assert meta["mode"] == "int8" and meta["weights"]["dtype"] == "int8" and meta["layers"]
    # fp32 bytes the quantized weights took in the dense checkpoint vs their bytes now (int8 + scales + header)
    fp32_bytes = 0
    with safe_open(str(ckpt / "model.safetensors"), "pt") as f:
        for name in meta["layers"]:
            fp32_bytes += f.get_slice(f"{name}.weight").get_shape()[0] * f.get_slice(f"{name}.weight").get_shape()[1] * 4
        dense_keys = set(f.keys())
    moved = (ckpt / "model.safetensors").stat().st_size - (out / "model.safetensors").stat().st_size
    assert abs(moved - fp32_bytes) < 0.02 * fp32_bytes  # the fp32 copies really left model.safetensors
    int8_bytes = (out / QUANT_WEIGHTS_FILE).stat().st_size
    assert 3.4 < fp32_bytes / int8_bytes <= 4.0
    with safe_open(str(out / QUANT_WEIGHTS_FILE), "pt") as f:
        some = next(iter(meta["layers"]))
        assert f.get_tensor(f"{some}.weight").dtype == torch.int8
        assert f.get_tensor(f"{some}.weight_scale").dtype == torch.float32
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert not {f"{n}.weight" for n in meta["layers"]} & set(f.keys())
        assert set(f.keys()) < dense_keys
    # the reloaded model carries exactly the dequantized weights, close to the originals
    dense, q = CommandModel.load(ckpt), CommandModel.load(out)
    assert not simulating_activations(q.model)
    for t in select_linears(q.model):
        w0 = dense.model.get_submodule(t.name).weight
        step = w0.abs().amax(dim=1, keepdim=True) / 127
        assert ((t.weight - w0).abs() <= step / 2 + 1e-6).all()
    rows = memorise_rows()
    a, b = _logits(q, rows), _logits(dense, rows)
    assert (a - b).abs().max() < 0.05 * b.abs().max()  # weight rounding only: a small perturbation
    report = json.loads((out / "compression.json").read_text())
    assert report["quantization"]["num_layers"] == len(meta["layers"]) and report["quantization"]["file"] == QUANT_FILE


def test_2_4_then_int8_static_keeps_the_pattern_and_records_input_ranges(tmp_path_factory, tmp_path):
    ckpt, data = trained(tmp_path_factory, "t5-micro", 120)
    cfg = CompressConfig(sparsity="2:4", quant="int8-static", data=data, calib_batches=2, batch_size=8, device="cpu")
    out = compress(ckpt, tmp_path / "q", cfg, progress=False)
    meta = json.loads((out / QUANT_FILE).read_text())
    assert meta["mode"] == "int8-static" and meta["activations"]["qmin"] == -128
    assert all(r["input_amax"] > 0 and abs(r["input_scale"] - r["input_amax"] / 127) < 1e-9
               for r in meta["layers"].values())
    q = CommandModel.load(out)
    assert simulating_activations(q.model)
    pruned = [t for t in select_linears(q.model)]
    assert pruned and all(follows_2_4(t.weight) for t in pruned)  # zeros survive int8 (symmetric: 0 -> 0)
    with safe_open(str(out / QUANT_WEIGHTS_FILE), "pt") as f:
        for name in meta["layers"]:
            assert follows_2_4(f.get_tensor(f"{name}.weight"))
    report = json.loads((out / "compression.json").read_text())
    assert report["sparsity"]["pattern_2_4_all_pruned"] is True
    assert all(r["pattern_2_4"] for r in report["sparsity"]["layers"].values() if r["pruned"])
    rows = memorise_rows()
    simulated = _logits(q, rows)
    remove_activation_simulation(q.model)  # what the ONNX exporter does before tracing
    assert not torch.equal(simulated, _logits(q, rows))  # the hooks really quantized the inputs


def test_fp16_checkpoint_stores_half_precision(tmp_path_factory, tmp_path):
    ckpt, _ = trained(tmp_path_factory, "t5-micro", 120)
    out = compress(ckpt, tmp_path / "h", CompressConfig(quant="fp16", device="cpu"), progress=False)
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    assert (out / "model.safetensors").stat().st_size < 0.55 * (ckpt / "model.safetensors").stat().st_size
    q = CommandModel.load(out)
    assert next(q.model.parameters()).dtype == torch.float32  # upcast on CPU
    rows = memorise_rows()
    assert [p[0] for p in q.generate([r["prompt"] for r in rows])] == [r["command"] for r in rows]


def test_activation_simulation_stays_out_of_an_onnx_export(tmp_path_factory, tmp_path):
    import onnx

    ckpt, data = trained(tmp_path_factory, "t5-micro", 120)
    out = compress(ckpt, tmp_path / "q", CompressConfig(quant="int8-static", data=data, calib_batches=1, device="cpu"),
                   progress=False)
    q = CommandModel.load(out)
    assert simulating_activations(q.model)

    class Encoder(torch.nn.Module):
        def __init__(self, stack):
            super().__init__()
            self.stack = stack

        def forward(self, ids, mask):
            return self.stack(input_ids=ids, attention_mask=mask).last_hidden_state

    batch = q.prompt_batch(["turn on the kettle"])
    torch.onnx.export(Encoder(q.model.get_encoder()).eval(), (batch["input_ids"], batch["attention_mask"]),
                      str(tmp_path / "enc.onnx"), dynamo=False)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "enc.onnx")).graph.node}
    assert "Round" not in ops and "MatMul" in ops  # the float graph; fake quant only runs in torch evaluation


def test_quantizing_a_pruned_checkpoint_keeps_and_reports_its_pattern(tmp_path_factory, tmp_path):
    ckpt, _ = trained(tmp_path_factory, "t5-micro", 120)
    pruned = compress(ckpt, tmp_path / "p", CompressConfig(sparsity="2:4", device="cpu"), progress=False)
    q = compress(pruned, tmp_path / "q", CompressConfig(quant="int8", device="cpu"), progress=False)
    report = json.loads((q / "compression.json").read_text())
    assert report["previous"]["pruning"]["sparsity"] == "2:4"
    assert report["sparsity"]["pattern_2_4_all_pruned"] is True and report["sparsity"]["pruned_layers"] >= 0.5
    assert all(follows_2_4(t.weight) for t in select_linears(CommandModel.load(q).model))
    with pytest.raises(ScenicError, match="already quantized"):
        compress(q, tmp_path / "qq", CompressConfig(quant="int8", device="cpu"), progress=False)
