"""`scenic pipeline`: a micro recipe through every stage; a second run skips them all; a changed config or an
interrupted stage reruns exactly what it must; recipes are validated (unknown keys named) before any work."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scenic import ScenicError
from scenic.artifacts import folder_hash
from scenic.cli import app, main
from scenic.config.base import ConfigError
from scenic.pipeline import STATE_FILE, load_recipe, run_pipeline

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
STAGES = ["data", "train", "compress", "export", "evaluate", "profile"]
FOLDERS = {"data": "data", "train": "model", "compress": "compressed", "export": "export", "evaluate": "eval",
           "profile": "profile"}

MICRO = {
    "name": "micro",
    "data": {"num_examples": 300, "seed": 0},
    "train": {"preset": "t5-micro", "max_steps": 6, "batch_size": 16, "warmup_steps": 1, "eval_every": 0,
              "eval_examples": 8, "checkpoint_every": 0, "device": "cpu"},
    "compress": {"sparsity": "2:4", "recover_steps": 2, "batch_size": 8, "quant": "int8", "device": "cpu"},
    "export": {"parity_prompts": 2, "bundle": "none", "min_token_agreement": 0.5},
    "evaluate": {"limit": 4, "beams": 2, "batch_size": 4, "device": "cpu"},
    "profile": {"batches": [1], "repeats": 3, "warmup": 0, "memory": False, "max_seconds_per_group": 0.5},
    "compare": ["model", "fp32"],
}


def _write_recipe(folder: Path, doc: dict) -> Path:
    path = folder / "micro.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _run(recipe: Path, out: Path, overrides=None, **kw):
    return run_pipeline(load_recipe(recipe, overrides, out=out), progress=False, **kw)


def _snapshot(out: Path) -> dict[str, tuple[float, str]]:
    return {s: ((out / d).stat().st_mtime_ns, folder_hash(out / d)) for s, d in FOLDERS.items()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One full pipeline run; tests that change it work on a copy of its output folder."""
    root = tmp_path_factory.mktemp("pipeline")
    recipe = _write_recipe(root, MICRO)
    result = _run(recipe, root / "out")
    return recipe, root / "out", result


def _copy(first_run, tmp_path: Path) -> tuple[Path, Path]:
    recipe, out, _ = first_run
    shutil.copytree(out, tmp_path / "out")
    return recipe, tmp_path / "out"


def test_first_run_runs_every_stage_and_writes_results(first_run):
    _, out, result = first_run
    assert result.status == {s: "ran" for s in STAGES}
    for s, d in FOLDERS.items():
        assert (out / d / "manifest.json").is_file(), s
    state = json.loads((out / STATE_FILE).read_text())["stages"]
    assert all(state[s]["status"] == "done" for s in STAGES)
    results = json.loads((out / "results.json").read_text())
    assert [r["artifact"] for r in results["rows"]] == ["model", "fp32"]
    assert results["rows"] == result.results["rows"]
    for r in results["rows"]:
        assert r["n"] == 4 and 0 <= r["em1"] <= r["em5"] <= 1 and r["size_bytes"] > 0 and r["latency_ms"] > 0
    assert results["rows"][0]["size_reduction"] == 1.0
    md = (out / "results.md").read_text()
    assert "| model |" in md and "| fp32 |" in md and "EM@1" in md


def test_second_run_skips_every_stage_and_touches_nothing(first_run, tmp_path):
    recipe, out = _copy(first_run, tmp_path)  # also checks that a moved output folder keeps its state
    before = _snapshot(out)
    result = _run(recipe, out)
    assert result.status == {s: "skipped" for s in STAGES}
    assert _snapshot(out) == before


def test_changed_train_config_reruns_train_and_downstream_only(first_run, tmp_path):
    recipe, out = _copy(first_run, tmp_path)
    before = _snapshot(out)
    result = _run(recipe, out, ["train.max_steps=7"])
    assert result.status["data"] == "skipped"
    assert [s for s in STAGES if result.status[s] == "ran"] == STAGES[1:]
    after = _snapshot(out)
    assert after["data"] == before["data"]
    assert after["train"][1] != before["train"][1]  # a different checkpoint
    assert json.loads((out / "model" / "manifest.json").read_text())["config"]["max_steps"] == 7
    assert _run(recipe, out, ["train.max_steps=7"]).status == {s: "skipped" for s in STAGES}


def test_interrupted_stage_reruns_and_leftovers_are_removed(first_run, tmp_path):
    recipe, out = _copy(first_run, tmp_path)
    shutil.rmtree(out / "export")  # a process killed during the export: its folder was never renamed into place
    leftover = out / ".export.99999999-abcdefgh.partial"  # what its atomic write left behind (pid 99999999 is gone)
    leftover.mkdir()
    result = _run(recipe, out)
    assert [s for s in STAGES if result.status[s] == "ran"][0] == "export"
    assert all(result.status[s] == "skipped" for s in ("data", "train", "compress"))
    assert (out / "export" / "manifest.json").is_file() and not leftover.exists()


def test_a_stage_folder_with_the_users_files_is_refused(first_run, tmp_path):
    recipe, out = _copy(first_run, tmp_path)
    (out / "export" / "manifest.json").unlink()  # no longer provably SCENIC's
    (out / "export" / "notes.txt").write_text("mine")
    with pytest.raises(ScenicError, match="not a SCENIC artifact"):
        _run(recipe, out, force=["export"])
    assert (out / "export" / "notes.txt").read_text() == "mine"


def test_force_and_from_rerun_stages(first_run, tmp_path):
    recipe, out = _copy(first_run, tmp_path)
    result = _run(recipe, out, force=["evaluate"])
    assert result.ran == ["evaluate"]
    result = _run(recipe, out, from_stage="evaluate")
    assert result.ran == ["evaluate", "profile"]
    with pytest.raises(ScenicError, match="unknown stage 'evaluation'"):
        _run(recipe, out, force=["evaluation"])


def test_cli_runs_a_recipe_and_prints_the_results_table(first_run, tmp_path):
    recipe, out = _copy(first_run, tmp_path)
    res = CliRunner().invoke(app, ["pipeline", str(recipe), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "skipped: data, train, compress, export, evaluate, profile" in res.output
    assert "EM@1" in res.output and "fp32" in res.output


@pytest.mark.parametrize("change, named", [
    ({"train": {"max_step": 5}}, "unknown key 'max_step'"),
    ({"trian": {}}, "unknown key 'trian'"),
    ({"compress": {"sparsty": 0.5}}, "unknown key 'sparsty'"),
    ({"train": {"out": "elsewhere"}}, "'out' is set by the pipeline"),
    ({"compare": ["model", "int8-dynamic"]}, "export.int8 is false"),
])
def test_bad_recipe_is_an_error_naming_the_key(tmp_path, change, named):
    doc = {**MICRO, **change}
    with pytest.raises(ConfigError, match=named):
        load_recipe(_write_recipe(tmp_path, doc), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_override_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    recipe = _write_recipe(tmp_path, MICRO)
    monkeypatch.setattr(sys, "argv", ["scenic", "pipeline", str(recipe), "--set", "evaluate.beamz=3"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err and "unknown key 'beamz'" in err


@pytest.mark.parametrize("name", ["quickstart", "encdec-2of4-int8", "decoder-2of4-int8"])
def test_shipped_recipes_validate(name):
    cfg = load_recipe(RECIPES / f"{name}.yaml")
    assert cfg.out == Path("exports") / name and cfg.compress is not None and cfg.compress.sparsity == "2:4"


def test_imported_recipe_needs_a_data_path(tmp_path):
    with pytest.raises(ConfigError, match="--data-path"):
        load_recipe(RECIPES / "scenic-zh.yaml")
    data = tmp_path / "zh.json"
    data.write_text(json.dumps([{"prompt": "打开厨房灯", "response": "HassTurnOn area=\"Kitchen\" domain=light"}]))
    cfg = load_recipe(RECIPES / "scenic-zh.yaml", data_path=data)
    assert cfg.data.source == "import" and cfg.data.file == str(data)
