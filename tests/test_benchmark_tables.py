"""The benchmark scripts' own table logic: merged gaps and the across-seed summary (pure functions, no training)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from merge_results import unfinished  # noqa: E402
from train_matrix import seed_summary  # noqa: E402


def test_a_config_that_finished_in_another_call_is_not_a_gap():
    skipped = ["llama-tiny:0.1:0:3000 (killed after 320s)", "llama-small:0:0:2000 (exit 1)",
               "llama-small:0:0:2000 (exit 1)"]
    assert unfinished("train_matrix", skipped, {"llama-tiny-l0.1-s0-3000"}) == ["llama-small:0:0:2000 (exit 1)"]
    assert unfinished("compress_matrix", ["2:4 (timeout)"], {"2:4"}) == []


def test_seed_summary_groups_by_preset_lambda_steps_and_lr():
    def row(seed, lam, em1, em5, steps=3000, lr=1e-3):
        return {"preset": "llama-tiny", "triplet_lambda": lam, "seed": seed, "max_steps": steps, "em1": em1, "em5": em5,
                "lr": lr}

    rows = [row(0, 0.0, 0.94, 0.97), row(1, 0.0, 0.96, 0.99), row(0, 0.1, 0.95, 0.98), row(0, 0.0, 0.90, 0.90, 100),
            row(1, 0.0, 0.50, 0.50, lr=1e-4)]
    (only,) = seed_summary(rows)  # lambda 0.1, the 100-step run and the lr 1e-4 run have one seed each
    assert (only["lambda"], only["steps"], only["lr"], only["seeds"]) == (0.0, 3000, 1e-3, 2)
    assert only["em1_mean"] == pytest.approx(95.0) and only["em1_std"] == pytest.approx(1.41421, rel=1e-4)
    assert only["em5_mean"] == pytest.approx(98.0)
