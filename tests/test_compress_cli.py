"""`scenic compress`: bad options are one-line errors with exit 2 and no output folder; a full run works."""

from __future__ import annotations

import json
import sys

import pytest

from compress_helpers import trained
from scenic.cli import main
from scenic.compress import modelopt_sparsity
from scenic.models import CommandModel


def _run(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["scenic", "compress", *map(str, args)])
    main()


@pytest.mark.parametrize("extra", [
    ["--sparsity", "0.5:4"],
    ["--sparsity", "1.5"],
    ["--sparsity", "0.5", "--recover-steps", "5"],  # recovery without --data
    ["--quant", "int4"],
    ["--sparsity", "0.5", "--set", "sparsty=0.5"],
])
def test_bad_options_exit_2_with_one_line_and_no_output(extra, tmp_path_factory, tmp_path, monkeypatch, capsys):
    ckpt, _ = trained(tmp_path_factory, "t5-micro", 120)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        _run(monkeypatch, ckpt, "--out", out, *extra)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_missing_modelopt_is_a_clear_error(tmp_path_factory, tmp_path, monkeypatch, capsys):
    ckpt, _ = trained(tmp_path_factory, "t5-micro", 120)
    monkeypatch.setattr(modelopt_sparsity, "modelopt_available", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        _run(monkeypatch, ckpt, "--out", tmp_path / "out", "--sparsity", "2:4", "--method", "modelopt-magnitude")
    assert exit_info.value.code == 2
    assert "nvidia-modelopt" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_not_a_checkpoint_is_an_error(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run(monkeypatch, tmp_path, "--out", tmp_path / "out", "--sparsity", "0.5")
    assert exit_info.value.code == 2 and "not a SCENIC checkpoint" in capsys.readouterr().err


def test_cli_run_with_recipe_and_overrides(tmp_path_factory, tmp_path, monkeypatch, capsys):
    ckpt, data = trained(tmp_path_factory, "t5-micro", 120)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f'compress:\n  sparsity: "2:4"\n  data: {data}\n  batch_size: 8\n  exclude: ["decoder.*"]\n')
    out = tmp_path / "out"
    _run(monkeypatch, ckpt, "--out", out, "--recipe", recipe, "--recover-steps", "3", "--quant", "int8",
         "--set", "calib_batches=1", "--quiet")
    printed = capsys.readouterr().out
    assert "compressed checkpoint" in printed and str(out) in printed
    report = json.loads((out / "compression.json").read_text())
    assert report["config"]["sparsity"] == "2:4" and report["config"]["exclude"] == ["decoder.*"]
    pruned = {n for n, r in report["sparsity"]["layers"].items() if r["pruned"]}
    assert pruned and all(n.startswith("encoder.") for n in pruned)
    assert report["quantization"]["mode"] == "int8"
    assert CommandModel.load(out).generate(["turn on the kettle"])[0][0]
    # an existing checkpoint in --out is kept unless --force (alias --overwrite)
    with pytest.raises(SystemExit):
        _run(monkeypatch, ckpt, "--out", out, "--sparsity", "0.5")
    assert "--force" in capsys.readouterr().err
