"""Importing other people's data: SCENIC JSON (with Chinese text), JSONL, CSV, malformed input, splits, triplets."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from scenic import ScenicError
from scenic.data import ImportConfig, dataset_stats, import_dataset, load_split, load_triplets

SPLITS = ("train", "val", "test")
ROOMS = ["客厅", "卧室", "书房", "厨房"]
DEVICES = ["灯", "空调", "窗帘"]
ACTIONS = {"打开": "开", "关闭": "关"}
PHRASINGS = ["请{a}{r}{d}。", "把{r}{d}{a}", "帮我{a}一下{r}的{d}", "{r}{d}{s}一下", "麻烦{a}{r}{d}", "{a}{r}的{d}吧"]


def _scenic_records() -> list[dict]:
    """24 responses with 6 phrasings each, plus 2 responses with one phrasing (they must stay in train)."""
    rows = []
    for r in ROOMS:
        for d in DEVICES:
            for a, s in ACTIONS.items():
                response = f"好的，已{a}{r}{d}。"
                rows += [{"prompt": p.format(a=a, r=r, d=d, s=s), "response": response, "id": len(rows)}
                         for p in PHRASINGS]
    rows.append({"prompt": "播放一首周杰伦的歌", "response": "好的，正在播放周杰伦的歌。"})
    rows.append({"prompt": "今天天气怎么样", "response": "抱歉，我只能控制家里的设备。"})
    return rows


@pytest.fixture(scope="module")
def scenic_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("src") / "train.json"
    path.write_text(json.dumps(_scenic_records(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def imported(scenic_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imp") / "zh"
    import_dataset(ImportConfig(file=str(scenic_file), format="scenic", seed=3), out)
    return out


def test_scenic_import_writes_the_dataset_files(imported, scenic_file):
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "triplets.jsonl", "manifest.json"):
        assert (imported / name).is_file(), name
    assert not (imported / "home.yaml").exists()
    m = json.loads((imported / "manifest.json").read_text(encoding="utf-8"))
    assert m["stage"] == "data" and m["opaque_commands"] is True and m["format"] == "scenic"
    assert m["records"] == len(_scenic_records()) == sum(m["num_examples"].values())
    rows = {s: load_split(imported, s) for s in SPLITS}
    assert all(r["category"] == "imported" for s in SPLITS for r in rows[s])
    source = {r["prompt"]: r["response"] for r in _scenic_records()}
    for s in SPLITS:
        for r in rows[s]:
            assert source[r["prompt"]] == r["command"]  # kept verbatim, Chinese included
    # about 10% / 10% of rows held out
    n = m["records"]
    assert abs(len(rows["val"]) - round(0.1 * n)) <= 1 and abs(len(rows["test"]) - round(0.1 * n)) <= 1


def test_import_splits_keep_every_heldout_response_in_train(imported):
    rows = {s: load_split(imported, s) for s in SPLITS}
    prompts = {s: {r["prompt"] for r in rows[s]} for s in SPLITS}
    assert not prompts["train"] & prompts["val"] and not prompts["train"] & prompts["test"]
    assert not prompts["val"] & prompts["test"]
    train_by_cmd = Counter(r["command"] for r in rows["train"])
    for s in ("val", "test"):
        for r in rows[s]:
            assert train_by_cmd[r["command"]] >= 1
    total = Counter(r["command"] for s in SPLITS for r in rows[s])
    for cmd, n in total.items():
        if n < 3:
            assert train_by_cmd[cmd] == n  # too few phrasings to hold any out
        assert train_by_cmd[cmd] >= n / 2  # at least half of each response's phrasings stay in train
    m = json.loads((imported / "manifest.json").read_text(encoding="utf-8"))
    assert set(m["overlap"]["exact_prompt"].values()) == {0}
    assert m["overlap"]["val_test_commands_missing_from_train"] == 0


def test_import_triplets(imported):
    train = {r["prompt"]: r["command"] for r in load_split(imported, "train")}
    triplets = load_triplets(imported)
    assert len(triplets) == sum(1 for p, c in train.items() if sum(x == c for x in train.values()) >= 2)
    for t in triplets:
        assert t["anchor"] in train and t["positive"] in train and t["negative"] in train
        assert t["positive"] != t["anchor"]
        assert train[t["positive"]] == train[t["anchor"]] == t["command"]
        assert train[t["negative"]] == t["negative_command"] != t["command"]
        bigrams = lambda s: {s[i:i + 2] for i in range(len(s) - 1)}  # noqa: E731
        assert bigrams(t["anchor"]) & bigrams(t["negative"])  # similar by character n-grams


def test_hard_negative_is_the_closest_other_response(tmp_path):
    rows = [{"prompt": "打开客厅的灯", "response": "A"}, {"prompt": "请打开客厅的灯", "response": "A"},
            {"prompt": "关闭客厅的灯", "response": "B"}, {"prompt": "今天天气很好", "response": "C"},
            {"prompt": "关掉客厅的灯吧", "response": "B"}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    import_dataset(ImportConfig(file=str(path), val_fraction=0, test_fraction=0), tmp_path / "o")
    by_anchor = {t["anchor"]: t for t in load_triplets(tmp_path / "o")}
    assert by_anchor["打开客厅的灯"]["negative"] == "关闭客厅的灯"
    assert by_anchor["关闭客厅的灯"]["negative"] in ("打开客厅的灯", "请打开客厅的灯")


def test_jsonl_and_csv_with_chosen_fields(tmp_path):
    recs = _scenic_records()
    jl = tmp_path / "d.jsonl"
    jl.write_text("\n".join(json.dumps({"text": r["prompt"], "target": r["response"]}, ensure_ascii=False)
                            for r in recs) + "\n\n", encoding="utf-8")
    cv = tmp_path / "d.csv"
    with open(cv, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["utterance", "cmd", "extra"])
        w.writerows([r["prompt"], r["response"], "x"] for r in recs)
    outs = []
    for fmt, path in (("jsonl", jl), ("csv", cv)):
        out = tmp_path / fmt
        field = {"jsonl": ("text", "target"), "csv": ("utterance", "cmd")}[fmt]
        m = import_dataset(ImportConfig(file=str(path), format=fmt, prompt_field=field[0], command_field=field[1]), out)
        assert m["records"] == len(recs) and m["fields"] == list(field)
        outs.append(out)
    for s in SPLITS:  # same records, same seed: the same split whatever the container
        assert load_split(outs[0], s) == load_split(outs[1], s)


def test_duplicates_and_conflicting_prompts_are_dropped_and_counted(tmp_path):
    rows = [{"prompt": "开灯", "response": "A"}, {"prompt": "开灯 ", "response": "A"},
            {"prompt": "开灯", "response": "B"}, {"prompt": "关灯", "response": "C"}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    m = import_dataset(ImportConfig(file=str(path)), tmp_path / "o")
    assert m["repeats_dropped"] == 1 and m["conflicts_dropped"] == 1
    prompts = [r["prompt"] for s in SPLITS for r in load_split(tmp_path / "o", s)]
    assert sorted(prompts) == ["关灯", "开灯"]


def test_import_stats(imported):
    s = dataset_stats(imported)
    assert s["total"]["categories"] == {"imported": s["total"]["examples"]}
    assert s["total"]["distinct_commands"] == 26
    assert s["total"]["prompts_per_command"]["min"] == 1 and s["total"]["prompts_per_command"]["max"] == 6
    assert s["lengths"]["prompt_chars"]["max"] >= s["lengths"]["prompt_chars"]["p50"] > 0
    assert s["triplets"] == len(load_triplets(imported))


# ---- malformed input: a clear error that names the record, and no output folder ----------------------------------

MALFORMED = [
    ("scenic", '{"prompt": "x", "response": "y"}', r"expected a JSON list"),
    ("scenic", '[{"prompt": "开灯", "response": "A"}, {"prompt": "关灯"}]', r"record 2 \(index 1\): 'response' is missing"),
    ("scenic", '[{"prompt": "开灯", "response": "A"}, {"prompt": "关灯", "response": "  "}]',
     r"record 2 \(index 1\): 'response' must be a non-empty string"),
    ("scenic", '[{"prompt": "开灯", "response": "A"}, ["关灯", "B"]]', r"record 2 \(index 1\): expected an object"),
    ("scenic", '[{"prompt": "开灯", "response": "A"},\n {"prompt": 5, "response": "B"}]',
     r"record 2 \(index 1\): 'prompt' must be a non-empty string \(got 5\)"),
    ("scenic", '[{"prompt": "开灯", "response": "A"}\n {"prompt": "x"}]', r"not valid JSON .* line 2"),
    ("scenic", "[]", r"no records"),
    ("jsonl", '{"prompt": "a", "command": "A"}\n\n{"prompt": "b", "command": "B"\n', r"line 3: not valid JSON"),
    ("jsonl", '{"prompt": "a", "command": "A"}\n{"prompt": "b", "cmd": "B"}\n', r"line 2: 'command' is missing"),
    ("csv", "prompt,response\na,A\n", r"header has no column 'command' \(columns: prompt, response\)"),
    ("csv", "prompt,command\na,A\nb,\n", r"line 3 \(row 2\): 'command' must be a non-empty string"),
    ("csv", "prompt,command\na,A\nb,B,extra\n", r"line 3 \(row 2\): more fields than the header"),
]


@pytest.mark.parametrize("fmt, text, message", MALFORMED)
def test_malformed_input_names_the_record_and_writes_nothing(tmp_path, fmt, text, message):
    path = tmp_path / f"bad.{fmt}"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out" / "ds"
    with pytest.raises(ScenicError, match=message) as err:
        import_dataset(ImportConfig(file=str(path), format=fmt), out)
    assert "\n" not in str(err.value)
    assert not out.exists() and not (tmp_path / "out").exists()


def test_not_utf8_and_missing_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'[{"prompt": "\xff\xfe", "response": "A"}]')
    with pytest.raises(ScenicError, match="not UTF-8"):
        import_dataset(ImportConfig(file=str(path)), tmp_path / "o")
    with pytest.raises(ScenicError, match="no such file"):
        import_dataset(ImportConfig(file=str(tmp_path / "nope.json")), tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_failed_import_keeps_an_existing_dataset(imported, tmp_path):
    before = {p.name: p.read_bytes() for p in imported.iterdir()}
    bad = tmp_path / "bad.json"
    bad.write_text('[{"prompt": "x"}]', encoding="utf-8")
    with pytest.raises(ScenicError):
        import_dataset(ImportConfig(file=str(bad)), imported)
    assert {p.name: p.read_bytes() for p in imported.iterdir()} == before
    leftovers = [p for p in imported.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_split_spreads_heldout_prompts_over_many_responses(tmp_path):
    from scenic.data.splits import split_by_response

    commands = [f"c{i // 10}" for i in range(500)]  # 50 responses x 10 prompts
    labels = split_by_response(commands, seed=0, val_fraction=0.1, test_fraction=0.1)
    held = defaultdict(int)
    for c, lab in zip(commands, labels):
        if lab != "train":
            held[c] += 1
    assert Counter(labels) == {"train": 400, "val": 50, "test": 50}
    assert len(held) == 50 and max(held.values()) <= 5
