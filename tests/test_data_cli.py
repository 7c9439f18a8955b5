"""`scenic data ...` exit codes and outputs, run in-process through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenic.cli import main
from scenic.data import load_split


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["scenic", *args])
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def dataset(tmp_path, monkeypatch, capsys) -> Path:
    out = tmp_path / "ds"
    code, stdout, _ = run(monkeypatch, capsys, "data", "generate", "--out", str(out), "--num-examples", "300",
                          "--seed", "4")
    assert code == 0
    assert "overlap (must be 0)" in stdout and "train/val=0" in stdout
    return out


def test_generate_writes_the_folder(dataset):
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "triplets.jsonl", "home.yaml", "manifest.json"):
        assert (dataset / name).is_file()
    m = json.loads((dataset / "manifest.json").read_text())
    assert m["config"]["num_examples"] == 300 and m["config"]["seed"] == 4


def test_generate_from_recipe_with_overrides(tmp_path, monkeypatch, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data:\n  num_examples: 200\n  seed: 9\n  categories: {invalid: 0}\ntrain:\n  steps: 5\n")
    out = tmp_path / "ds"
    code, _, err = run(monkeypatch, capsys, "data", "generate", "--recipe", str(recipe), "--out", str(out),
                       "--set", "seed=10", "--set", "categories.noisy=0")
    assert code == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 10 and m["config"]["num_examples"] == 200
    assert all(m["counts"][s]["invalid"] == m["counts"][s]["noisy"] == 0 for s in ("train", "val", "test"))


@pytest.mark.parametrize("args, message", [
    (["--set", "num_exmaples=5"], "unknown key 'num_exmaples'"),
    (["--lang", "xx"], "unknown language 'xx' (known: en)"),
    (["--home", "/nonexistent/home.yaml"], "no such file"),
    (["--num-examples", "3"], "num_examples"),
])
def test_generate_user_errors_exit_2(tmp_path, monkeypatch, capsys, args, message):
    out = tmp_path / "ds"
    code, _, err = run(monkeypatch, capsys, "data", "generate", "--out", str(out), *args)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_missing_required_option_is_a_usage_error(monkeypatch, capsys):
    code, _, _ = run(monkeypatch, capsys, "data", "generate")
    assert code == 2


def test_import_and_stats(tmp_path, monkeypatch, capsys):
    src = tmp_path / "in.csv"
    src.write_text("text,cmd\n" + "".join(f"请打开{i % 7}号灯 {i},ON{i % 7}\n" for i in range(70)),
                   encoding="utf-8")
    out = tmp_path / "imp"
    code, stdout, err = run(monkeypatch, capsys, "data", "import", str(src), "--format", "csv", "--out", str(out),
                            "--prompt-field", "text", "--command-field", "cmd")
    assert code == 0, err
    assert "responses missing from train=0" in stdout
    assert {r["category"] for r in load_split(out, "train")} == {"imported"}
    code, stdout, _ = run(monkeypatch, capsys, "data", "stats", str(out), "--json")
    assert code == 0
    stats = json.loads(stdout)
    assert stats["total"]["examples"] == 70 and stats["total"]["distinct_commands"] == 7
    code, stdout, _ = run(monkeypatch, capsys, "data", "stats", str(out))
    assert code == 0 and "prompts per command" in stdout and "p99" in stdout


def test_import_malformed_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    src = tmp_path / "bad.json"
    src.write_text('[{"prompt": "a", "response": "A"}, {"prompt": "b", "response": ""}]', encoding="utf-8")
    out = tmp_path / "imp"
    code, _, err = run(monkeypatch, capsys, "data", "import", str(src), "--format", "scenic", "--out", str(out))
    assert code == 2 and "record 2 (index 1)" in err
    assert not out.exists()
    code, _, err = run(monkeypatch, capsys, "data", "import", str(src), "--format", "xml", "--out", str(out))
    assert code == 2 and "format" in err


def test_import_from_recipe(tmp_path, monkeypatch, capsys):
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"prompt": f"p{i}", "command": f"C{i % 3}"}) + "\n" for i in range(30)))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data:\n  source: import\n  file: {src}\n  format: jsonl\n  stats: {{percentiles: [50, 95]}}\n")
    out = tmp_path / "imp"
    code, _, err = run(monkeypatch, capsys, "data", "import", "--recipe", str(recipe), "--out", str(out))
    assert code == 0, err
    code, stdout, _ = run(monkeypatch, capsys, "data", "stats", str(out), "--recipe", str(recipe), "--json")
    assert code == 0 and "p95" in json.loads(stdout)["lengths"]["prompt"]


def test_stats_with_tokenizer_and_errors(dataset, tmp_path, monkeypatch, capsys):
    from scenic.models.tokenizer import train_tokenizer

    prompts = [r["prompt"] for r in load_split(dataset, "train")]
    tok = train_tokenizer(prompts, vocab_size=400)
    tok.save(str(tmp_path / "tokenizer.json"))
    code, stdout, _ = run(monkeypatch, capsys, "data", "stats", str(dataset), "--tokenizer", str(tmp_path), "--json")
    assert code == 0
    s = json.loads(stdout)
    assert s["lengths"]["unit"] == "tokens" and s["lengths"]["prompt"]["max"] >= s["lengths"]["prompt"]["p50"] > 0
    code, _, err = run(monkeypatch, capsys, "data", "stats", str(tmp_path / "nothing"))
    assert code == 2 and "no such file or folder" in err
    code, _, err = run(monkeypatch, capsys, "data", "stats", str(dataset), "--set", "stats.percentile=[1]")
    assert code == 2 and "unknown key 'stats.percentile'" in err


def test_python_dash_m_entry_point():
    res = subprocess.run([sys.executable, "-m", "scenic", "data", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "generate" in res.stdout and "import" in res.stdout and "stats" in res.stdout


def test_word_lengths_count_each_cjk_character_as_a_word():
    """A whitespace split would call a whole Chinese sentence one word; the statistic counts characters there."""
    from scenic.data.stats import rows_stats, word_count

    assert word_count("turn on  the kitchen light") == 5
    assert word_count("把客厅的灯打开") == 7 and word_count("打开 TV 的电源") == 6
    s = rows_stats({"train": [{"prompt": "把客厅的灯打开", "command": "HassTurnOn area=\"客厅\" domain=\"light\""}]},
                   percentiles=(50,))
    assert s["lengths"]["unit"] == "words" and s["lengths"]["prompt"]["p50"] == 7
    assert s["lengths"]["command"]["p50"] == 6  # HassTurnOn / area=" / 客 / 厅 / " / domain="light"
