"""Imports that must not go quietly wrong: BOMs, truncated or malformed rows, commands that do not parse (counted,
reported, refused with --strict), and the scalable hard-negative miner against the exact one."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from scenic import ScenicError
from scenic.data import ImportConfig, import_dataset, load_split, load_triplets
from scenic.data.hard_negatives import exact_negatives, nearest_negatives
from scenic.data.triplets import random_positives

SPLITS = ("train", "val", "test")
GOOD = [(f"turn on lamp {i}", f'HassTurnOn name="Lamp {i}"') for i in range(1, 7)]


def _csv(rows, tail: str = "") -> str:
    lines = ["prompt,command"] + [f'{p},"{c.replace(chr(34), chr(34) * 2)}"' for p, c in rows]
    return "\n".join(lines) + "\n" + tail


def _prompts(folder) -> dict[str, str]:
    return {r["prompt"]: r["command"] for s in SPLITS for r in load_split(folder, s)}


def test_truncated_quoted_field_is_skipped_and_counted_never_imported_cut(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_text(_csv(GOOD, 'turn on lamp 20,"HassTurnOn name=""Lamp 20'), encoding="utf-8")  # file ends mid-field
    m = import_dataset(ImportConfig(file=str(path), format="csv"), tmp_path / "o")
    got = _prompts(tmp_path / "o")
    assert "turn on lamp 20" not in got and all('Lamp 20' not in c for c in got.values())
    assert got == dict(GOOD)
    assert m["skipped_rows"] == {"truncated": 1} and m["records"] == len(GOOD) + 1
    assert m["skipped_examples"][0][:2] == ["line 8 (row 7)", "truncated"]
    with pytest.raises(ScenicError, match=r"line 8 \(row 7\): truncated .*--strict") as err:
        import_dataset(ImportConfig(file=str(path), format="csv", strict=True), tmp_path / "strict")
    assert "\n" not in str(err.value) and not (tmp_path / "strict").exists()


def test_malformed_csv_row_and_unparsable_commands_are_counted(tmp_path):
    path = tmp_path / "bad.csv"
    text = _csv(GOOD) + 'lamp x,"Hass"TurnOn\n' + 'lamp y,"HassTurnOn name=""Lamp y"" ;"\n'
    path.write_text(text, encoding="utf-8")
    m = import_dataset(ImportConfig(file=str(path), format="csv"), tmp_path / "o")
    assert m["commands"] == "scenic" and m["opaque_commands"] is False
    assert m["skipped_rows"] == {"malformed": 1, "unparsable_command": 1}
    assert _prompts(tmp_path / "o") == dict(GOOD)
    with pytest.raises(ScenicError, match="--strict"):
        import_dataset(ImportConfig(file=str(path), format="csv", strict=True), tmp_path / "s")


def test_opaque_commands_are_not_parsed(tmp_path):
    rows = [{"prompt": f"打开{i}号灯", "response": f"好的，已打开{i}号灯。"} for i in range(8)]
    rows.append({"prompt": "hello", "response": 'HassTurnOn name="Lamp'})  # parses or not: opaque data is kept as is
    path = tmp_path / "zh.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    m = import_dataset(ImportConfig(file=str(path)), tmp_path / "o")
    assert m["commands"] == "opaque" and m["opaque_commands"] is True and m["skipped_rows"] == {}
    assert _prompts(tmp_path / "o") == {r["prompt"]: r["response"] for r in rows}


def test_all_rows_unparsable_is_an_error(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"p{i}", "command": 'HassTurnOn name="x'}) + "\n"
                            for i in range(3)), encoding="utf-8")
    with pytest.raises(ScenicError, match="no record could be imported"):
        import_dataset(ImportConfig(file=str(path), format="jsonl", commands="scenic"), tmp_path / "o")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "scenic"])
def test_utf8_bom_is_stripped(tmp_path, fmt):
    if fmt == "csv":
        text = _csv(GOOD)
    elif fmt == "jsonl":
        text = "".join(json.dumps({"prompt": p, "command": c}) + "\n" for p, c in GOOD)
    else:
        text = json.dumps([{"prompt": p, "response": c} for p, c in GOOD])
    path = tmp_path / f"bom.{fmt}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    import_dataset(ImportConfig(file=str(path), format=fmt), tmp_path / "o")
    assert _prompts(tmp_path / "o") == dict(GOOD)


def test_jsonl_cut_inside_its_last_line_is_truncated_not_an_error(tmp_path):
    path = tmp_path / "cut.jsonl"
    body = "".join(json.dumps({"prompt": p, "command": c}) + "\n" for p, c in GOOD)
    path.write_text(body + '{"prompt": "turn on lamp 9", "command": "HassTurnOn na', encoding="utf-8")
    m = import_dataset(ImportConfig(file=str(path), format="jsonl"), tmp_path / "o")
    assert m["skipped_rows"] == {"truncated": 1} and _prompts(tmp_path / "o") == dict(GOOD)
    path.write_text(body + '{"prompt": "broken"\n' + body.replace("lamp", "light"), encoding="utf-8")
    with pytest.raises(ScenicError, match="line 7: not valid JSON"):  # a broken line inside stays an error
        import_dataset(ImportConfig(file=str(path), format="jsonl"), tmp_path / "o2")


def test_cli_reports_skipped_rows_and_strict(tmp_path, monkeypatch, capsys):
    from scenic.cli import main

    path = tmp_path / "cut.csv"
    path.write_text(_csv(GOOD, 'turn on lamp 20,"HassTurnOn name=""Lamp 20'), encoding="utf-8")

    def run(*args):
        monkeypatch.setattr("sys.argv", ["scenic", *args])
        monkeypatch.setenv("COLUMNS", "300")
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code
        return code, capsys.readouterr()

    code, out = run("data", "import", str(path), "--format", "csv", "--out", str(tmp_path / "o"), "--threads", "1")
    assert code == 0 and "rows skipped (not imported): truncated 1" in out.out
    code, out = run("data", "import", str(path), "--format", "csv", "--out", str(tmp_path / "s"), "--strict")
    assert code == 2 and "truncated" in out.err and not (tmp_path / "s").exists()


# ---- the hard-negative miner -----------------------------------------------------------------------------------

def _paraphrase_set(n_commands: int = 120, seed: int = 0):
    rng = random.Random(seed)
    rooms = ["kitchen", "bedroom", "study", "garage", "hallway", "garden", "bathroom", "attic", "cellar", "porch"]
    things = ["light", "lamp", "fan", "heater", "blinds", "speaker", "kettle", "lock", "valve", "tv", "vacuum", "plug"]
    frames = ["turn on the {r} {t}", "please switch the {t} in the {r} on", "{r} {t} on now", "could you start the {r} {t}",
              "i want the {t} of the {r} running", "hey, the {r} {t} on please"]
    prompts, commands = [], []
    for i in range(n_commands):
        r, t = rng.choice(rooms), rng.choice(things)
        for f in rng.sample(frames, 4):
            prompts.append(f.format(r=r, t=t) + f" #{i}")
            commands.append(f"cmd {r} {t} {i}")
    return prompts, commands


@pytest.mark.parametrize("flat_max", [20_000, 0])  # exact dense search, and the HNSW index used beyond 20k rows
def test_scalable_miner_finds_nearly_the_exact_negatives(flat_max):
    prompts, commands = _paraphrase_set()
    exact = exact_negatives(prompts, commands)
    phases = []
    got = nearest_negatives(prompts, commands, seed=0, flat_max=flat_max,
                            progress=lambda phase, done, total: phases.append((phase, done, total)))
    assert got.info["index"] == ("flat" if flat_max else "hnsw-sq8") and got.info["without_negative"] == 0
    ok = got.negative >= 0
    assert ok.all()
    assert all(commands[i] != commands[j] for i, j in enumerate(got.negative))
    ratio = got.similarity / exact.similarity
    assert ratio.mean() >= 0.9 and np.median(ratio) == pytest.approx(1.0, abs=1e-3)
    assert {p for p, _, _ in phases} >= {"vectorising", "indexing", "searching"}
    assert all(done <= total for _, done, total in phases)


def test_miner_edge_cases():
    assert nearest_negatives(["a b"], ["x"]).info["without_negative"] == 1
    one_command = nearest_negatives(["turn on a", "turn on b", "turn on c"], ["x"] * 3)
    assert (one_command.negative == -1).all()
    two = nearest_negatives(["turn on the lamp", "turn off the lamp", "turn on the lamp now"], ["on", "off", "on"])
    assert two.negative.tolist() == [1, 0, 1]


def test_positives_are_another_row_of_the_same_command():
    groups = np.array([0, 1, 0, 2, 1, 0, 3])
    pos = random_positives(groups, seed=5)
    for i, p in enumerate(pos.tolist()):
        if (groups == groups[i]).sum() == 1:
            assert p == -1
        else:
            assert p != i and groups[p] == groups[i]


def test_import_triplets_stream_from_the_miner(tmp_path):
    prompts, commands = _paraphrase_set(40)
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"prompt": p, "command": c}) + "\n" for p, c in zip(prompts, commands)))
    m = import_dataset(ImportConfig(file=str(path), format="jsonl"), tmp_path / "o")
    triplets = load_triplets(tmp_path / "o")
    assert m["triplets"] == len(triplets) > 0 and m["triplet_mining"]["method"] == "ann"
    train = {r["prompt"]: r["command"] for r in load_split(tmp_path / "o", "train")}
    for t in triplets:
        assert train[t["anchor"]] == train[t["positive"]] == t["command"] != t["negative_command"]
        assert train[t["negative"]] == t["negative_command"] and t["anchor"] != t["positive"]
