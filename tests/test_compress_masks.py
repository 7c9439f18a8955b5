"""Masks, the 2:4 pattern and its check, layer scope, config parsing, INT8 weight rounding (no training needed)."""

from __future__ import annotations

import pytest
import torch

from scenic.compress.config import CompressConfig, parse_sparsity
from scenic.compress.masks import (
    cubic_schedule, follows_2_4, layer_sparsity, magnitude_masks, semi_structured_mask, total_sparsity,
)
from scenic.compress.quantize import dequantize_weight, quantize_weight
from scenic.compress.scope import select_linears, select_targets
from scenic.compress.sparsify import sparsify
from scenic.config.base import ConfigError
from scenic.models import build_model, preset


@pytest.fixture(scope="module")
def t5():
    torch.manual_seed(0)
    return build_model(preset("t5-micro", dropout=0.0)).eval()


def test_magnitude_masks_per_layer_have_the_requested_sparsity_and_drop_the_smallest():
    torch.manual_seed(0)
    weights = {"a": torch.randn(32, 64), "b": torch.randn(16, 48)}
    for s in (0.3, 0.5, 0.7):
        masks = magnitude_masks(weights, s, "layer")
        for n, w in weights.items():
            pruned = ~masks[n]
            assert int(pruned.sum()) == round(s * w.numel())
            assert w.abs()[pruned].max() <= w.abs()[masks[n]].min()  # everything pruned is smaller than what is kept


def test_global_magnitude_masks_reach_the_target_overall_but_not_per_layer():
    torch.manual_seed(0)
    weights = {"small": torch.randn(32, 64) * 0.01, "large": torch.randn(32, 64)}
    masks = magnitude_masks(weights, 0.5, "global")
    pruned = {n: float((~m).float().mean()) for n, m in masks.items()}
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.5 * 2 * 32 * 64)
    assert pruned["small"] > 0.9 and pruned["large"] < 0.1


def test_2_4_mask_keeps_the_two_largest_of_every_four_along_the_input_dim():
    torch.manual_seed(0)
    w = torch.randn(8, 16)
    keep = semi_structured_mask(w)
    groups, kept = w.abs().reshape(-1, 4), keep.reshape(-1, 4)
    assert (kept.sum(1) == 2).all()
    for g, k in zip(groups, kept):
        assert set(torch.topk(g, 2).indices.tolist()) == set(torch.nonzero(k).flatten().tolist())
    assert follows_2_4(w * keep)
    assert not follows_2_4(w)
    broken = w * keep
    broken[3, 5] = broken[3, 4] = broken[3, 6] = 1.0  # three non-zeros in one group
    assert not follows_2_4(broken)


def test_sparsify_2_4_prunes_every_linear_exactly_and_leaves_head_and_embeddings(t5):
    import copy

    model = copy.deepcopy(t5)
    targets = select_targets(model)
    result = sparsify(model, "2:4", targets)
    assert len(result.masks) == len(targets) > 0
    for t in targets:
        w = t.weight.detach()
        groups = (w.reshape(-1, 4) == 0).sum(1)
        assert (groups >= 2).all(), t.name  # every group of 4 along the input dim has >= 2 zeros
    assert float((model.shared.weight == 0).float().mean()) == 0.0  # embeddings / tied head untouched


def test_scope_defaults_and_patterns(t5):
    names = [t.name for t in select_targets(t5)]
    assert names and all("lm_head" not in n and n != "shared" for n in names)
    assert "encoder.block.0.layer.1.DenseReluDense.wi" in names
    with_head = select_targets(t5, lm_head=True)
    assert [t.name for t in with_head if t.kind == "lm_head"] == ["lm_head"]  # tied weight counted once
    assert len(with_head) == len(names) + 1
    ffn_only = [t.name for t in select_targets(t5, include=["*DenseReluDense*"])]
    assert ffn_only and all("DenseReluDense" in n for n in ffn_only)
    no_decoder = [t.name for t in select_targets(t5, exclude=["decoder.*"])]
    assert no_decoder and all(n.startswith("encoder.") for n in no_decoder)
    emb = select_targets(t5, embeddings=True)
    assert [t.kind for t in emb].count("embedding") == 1
    assert len(select_linears(t5)) == len(names)


def test_layer_report_counts_zeros(t5):
    w = {"x": torch.tensor([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 3.0, 4.0]])}
    rows = layer_sparsity(w, check_2_4=["x"])
    assert rows["x"]["zeros"] == 4 and rows["x"]["sparsity"] == 0.5 and rows["x"]["pattern_2_4"] is True
    assert total_sparsity(rows) == 0.5


@pytest.mark.parametrize("value, expected", [("0.5", 0.5), (0.3, 0.3), ("2:4", "2:4"), (" 2:4 ", "2:4")])
def test_sparsity_values_accepted(value, expected):
    assert parse_sparsity(value) == expected


@pytest.mark.parametrize("value", ["0.5:4", "1.5", "0", "1", "half", "4:8", -0.2, 124])
def test_bad_sparsity_values_are_one_line_errors(value):
    with pytest.raises(ConfigError) as err:
        CompressConfig(sparsity=value)
    assert "\n" not in str(err.value) and "sparsity" in str(err.value)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(sparsity=0.5, recover_steps=10), "--data"),
    (dict(quant="int8-static"), "--data"),
    (dict(sparsity=0.5, method="modelopt-magnitude"), "2:4"),
    (dict(sparsity=0.7, stages=3), "recovery"),
    (dict(), "nothing to do"),
])
def test_inconsistent_configs_are_rejected(kwargs, needle, tmp_path):
    with pytest.raises(ConfigError, match=needle):
        CompressConfig(**kwargs)


def test_unknown_config_key_is_named():
    from scenic.config.base import validate_config

    with pytest.raises(ConfigError, match="sparsty"):
        validate_config(CompressConfig, {"sparsty": 0.5})


def test_cubic_schedule_increases_to_the_target():
    s = cubic_schedule(0.7, 4)
    assert s == sorted(s) and s[-1] == pytest.approx(0.7) and s[0] > 0.7 / 4


def test_int8_weights_keep_zeros_and_round_within_half_a_step():
    torch.manual_seed(0)
    w = torch.randn(16, 32)
    w = w * semi_structured_mask(w)
    w[3] = 0.0  # an all-zero row must not divide by zero
    q, scale = quantize_weight(w)
    assert q.dtype == torch.int8 and scale.shape == (16,)
    assert q.abs().max() <= 127
    back = dequantize_weight(q, scale)
    assert torch.equal(back == 0, w == 0)  # symmetric: 0 -> 0, and nothing else becomes 0 here
    assert follows_2_4(back)
    assert ((back - w).abs() <= scale[:, None] / 2 + 1e-7).all()
