"""The benchmark scripts' own table logic: merged gaps, the across-seed summary and error buckets (pure functions,
no training)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from error_buckets import analyse, parse_bucket  # noqa: E402
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


def test_error_buckets_count_test_examples_errors_and_training_matches():
    def ex(prompt, category="direct"):
        return {"prompt": prompt, "command": "X", "category": category}

    test = [ex("draw the blinds"), ex("Draw all curtains"), ex("draw back the blinds"), ex("open it"), ex("hi", "noisy")]
    errors = [{**ex("draw the blinds"), "gold": "X", "predictions": ["Y"]},
              {**ex("Draw all curtains"), "gold": "X", "predictions": ["Y"]},
              {**ex("hi", "noisy"), "gold": "X", "predictions": ["Z"]}]
    train = [ex("draw back the shade"), ex("draw bakc it")]
    res = analyse(errors, test, train, [parse_bucket(r"draw=\bdraw\b(?! back)")])
    by = {b["bucket"]: b for b in res["buckets"]}
    assert (res["test_n"], res["wrong"], res["em1"]) == (5, 3, pytest.approx(0.4))
    assert (by["draw"]["test_n"], by["draw"]["wrong"], by["draw"]["train_matches"]) == (2, 2, 1)
    assert by["draw"]["em1_without_bucket"] == pytest.approx(2 / 3)  # 1 wrong of the 3 other test examples
    assert by["other direct"]["test_n"] == 2 and by["other direct"]["wrong"] == 0
    assert by["other noisy"]["share_of_errors"] == pytest.approx(1 / 3) and by["other noisy"]["train_matches"] is None
    with pytest.raises(SystemExit, match="expected NAME=REGEX"):
        parse_bucket("no-equals-sign")


def test_figures_are_saved_under_their_final_name_only(tmp_path):
    """save_figure_atomic (every benchmark plot): the PNG lands in one rename and no temporary file is left."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scenic.artifacts import save_figure_atomic

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure_atomic(fig, tmp_path / "sub" / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and [p.name for p in path.parent.iterdir()] == ["plot.png"]
    assert not plt.get_fignums()  # closed
