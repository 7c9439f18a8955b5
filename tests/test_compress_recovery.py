"""Recovery fine-tuning keeps pruned weights at zero, and 2:4 + recovery stays close to dense."""

from __future__ import annotations

import json


from compress_helpers import exact_match_rate, memorise_rows, trained
from scenic.compress import CompressConfig, compress
from scenic.compress.data import load_training_rows
from scenic.compress.masks import follows_2_4
from scenic.compress.recovery import mask_hook, recover
from scenic.compress.scope import select_targets
from scenic.compress.sparsify import sparsify
from scenic.models import CommandModel


def test_masked_weights_stay_zero_through_recovery_while_the_rest_trains(tmp_path_factory):
    ckpt, data = trained(tmp_path_factory, "t5-micro", 120)
    cm = CommandModel.load(ckpt)
    targets = select_targets(cm.model)
    sp = sparsify(cm.model, 0.6, targets)
    before = {n: w.detach().clone() for n, w in sp.weights.items()}
    rows, triplets = load_training_rows(data)
    result = recover(cm, rows, 8, triplets=triplets, after_step=mask_hook(sp.masks, sp.weights), batch_size=8,
                     lr=1e-3, progress=False)
    assert result.steps == 8 and result.contrastive
    changed = 0
    for name, w in sp.weights.items():
        mask = sp.masks[name]
        assert bool((w.detach()[~mask] == 0).all()), name
        changed += int((w.detach()[mask] != before[name][mask]).sum())
    assert changed > 0  # the kept weights did train
    sp.check()


def test_2_4_with_recovery_stays_close_to_dense(tmp_path_factory, tmp_path):
    ckpt, data = trained(tmp_path_factory, "t5-micro", 120)
    rows = memorise_rows()
    dense = exact_match_rate(CommandModel.load(ckpt), rows)
    cfg = CompressConfig(sparsity="2:4", recover_steps=40, data=data, batch_size=16, lr=1e-3, device="cpu")
    out = compress(ckpt, tmp_path / "s24", cfg, progress=False)
    cm = CommandModel.load(out)
    assert dense == 1.0
    assert exact_match_rate(cm, rows) >= dense - 1 / len(rows)
    for t in select_targets(cm.model):
        assert follows_2_4(t.weight), t.name
    report = json.loads((out / "compression.json").read_text())
    assert report["recovery"][0]["steps"] == 40
    assert report["sparsity"]["pruned_layers"] == 0.5
    assert 0 < report["sparsity"]["whole_model"] < 0.5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "compress" and "compression.json" in manifest["files"]
    assert set(manifest["inputs"]) == {"checkpoint", "data"}


def test_progressive_magnitude_reaches_the_target_with_recovery_between_stages(tmp_path_factory, tmp_path):
    ckpt, data = trained(tmp_path_factory, "t5-micro", 120)
    cfg = CompressConfig(sparsity=0.6, stages=3, recover_steps=6, data=data, batch_size=8, device="cpu",
                         contrastive_weight=0.0)
    out = compress(ckpt, tmp_path / "prog", cfg, progress=False)
    report = json.loads((out / "compression.json").read_text())
    schedule = report["pruning"]["schedule"]
    assert len(schedule) == 3 and schedule == sorted(schedule) and abs(schedule[-1] - 0.6) < 1e-9
    assert [r["steps"] for r in report["recovery"]] == [2, 2, 2]
    assert not any(r["contrastive"] for r in report["recovery"])
    layers = [r for r in report["sparsity"]["layers"].values() if r["pruned"]]
    assert layers and all(abs(r["sparsity"] - 0.6) < 1e-3 for r in layers)
