"""The generator: determinism, split disjointness, triplets, command validity, language packs."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from scenic import ScenicError
from scenic.commands import parse, render, validate
from scenic.commands.language import TARGET_SLOTS
from scenic.config.base import ConfigError, validate_config
from scenic.data import GenerateConfig, dataset_stats, generate_dataset, get_language_pack, load_split
from scenic.data.generate import CATEGORIES, Generator, split_sizes
from scenic.data.lang import Core
from scenic.data.noise import add_noise
from scenic.data.templates import template_families
from scenic.homes import home_hash, load_home

SPLITS = ("train", "val", "test")
SEED = 7
N = 3000


def _rows(folder: Path) -> dict[str, list[dict]]:
    return {s: load_split(folder, s) for s in SPLITS}


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "data"
    generate_dataset(GenerateConfig(num_examples=N, seed=SEED), out)
    return out


@pytest.fixture(scope="module")
def rows(gen_dir) -> dict[str, list[dict]]:
    return _rows(gen_dir)


@pytest.fixture(scope="module")
def manifest(gen_dir) -> dict:
    return json.loads((gen_dir / "manifest.json").read_text())


@pytest.fixture(scope="module")
def big(home):
    """A larger in-memory run for the whole-dataset properties (no files)."""
    gen = Generator(home, get_language_pack("en"), 11)
    weights = GenerateConfig().categories.model_dump()
    return gen.run(split_sizes(15000, {"train": 0.8, "val": 0.1, "test": 0.1}), weights)


# ---- determinism ---------------------------------------------------------------------------------------------------

def test_same_seed_gives_identical_files(gen_dir, tmp_path):
    again = tmp_path / "again"
    generate_dataset(GenerateConfig(num_examples=N, seed=SEED), again)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "triplets.jsonl", "home.yaml"):
        assert (gen_dir / name).read_bytes() == (again / name).read_bytes(), name
    m1 = json.loads((gen_dir / "manifest.json").read_text())
    m2 = json.loads((again / "manifest.json").read_text())
    assert m1["files"] == m2["files"] and m1["counts"] == m2["counts"]


def test_same_seed_same_files_across_processes(tmp_path):
    """Nothing may depend on Python's per-process string hashing (set order)."""
    import os
    import subprocess
    import sys

    code = ("import sys; from scenic.data import GenerateConfig, generate_dataset; "
            "generate_dataset(GenerateConfig(num_examples=600, seed=2), sys.argv[1])")
    for i, hashseed in enumerate(("1", "12345")):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / str(i))], check=True, env=env, timeout=120)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "triplets.jsonl"):
        assert (tmp_path / "0" / name).read_bytes() == (tmp_path / "1" / name).read_bytes(), name


def test_different_seed_gives_different_data(gen_dir, tmp_path):
    other = tmp_path / "other"
    generate_dataset(GenerateConfig(num_examples=N, seed=SEED + 1), other)
    a = {r["prompt"] for r in load_split(gen_dir, "train")}
    b = {r["prompt"] for r in load_split(other, "train")}
    assert a != b and len(a & b) < len(a) // 2


# ---- folder contents and manifest ----------------------------------------------------------------------------------

def test_folder_files_and_manifest(gen_dir, rows, manifest, home):
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "triplets.jsonl", "home.yaml", "manifest.json"):
        assert (gen_dir / name).is_file(), name
    assert manifest["stage"] == "data" and manifest["seed"] == SEED and manifest["lang"] == "en"
    assert manifest["home_hash"] == home_hash(home) == home_hash(load_home(gen_dir / "home.yaml"))
    assert manifest["generator_version"]
    assert sum(len(r) for r in rows.values()) == N
    assert {s: len(rows[s]) for s in SPLITS} == split_sizes(N, {"train": 0.8, "val": 0.1, "test": 0.1})
    for s in SPLITS:
        assert manifest["counts"][s] == dict(Counter(r["category"] for r in rows[s]))
    assert manifest["conflicts"] == 0 and manifest["invalid_dropped"] == 0 and manifest["shortfall"] == {}


def test_categories_and_fields(rows):
    for split in SPLITS:
        cats = Counter(r["category"] for r in rows[split])
        assert set(cats) == set(CATEGORIES), split
        for r in rows[split]:
            assert isinstance(r["prompt"], str) and r["prompt"].strip()
            assert r["subcategory"] and r["template"] and r["lang"] == "en"
    train = Counter(r["category"] for r in rows["train"])
    assert train["direct"] > train["indirect"] and train["compound"] > train["invalid"] // 2


# ---- commands ------------------------------------------------------------------------------------------------------

def test_every_command_parses_round_trips_and_validates(rows, home):
    for split in SPLITS:
        for r in rows[split]:
            calls = parse(r["command"])
            assert render(calls) == r["command"]
            if r["category"] == "invalid":
                assert len(calls) == 1 and calls[0].intent == "Unsupported", r
                assert str(calls[0].slots["reason"]) == r["subcategory"]
                assert r["command"] == f"Unsupported reason={r['subcategory']}"
            else:
                assert validate(calls, home) == [], r
                assert all(c.intent != "Unsupported" for c in calls)
            if r["category"] == "compound":
                assert 2 <= len(calls) <= 3
            else:
                assert len(calls) == 1


def test_invalid_covers_all_reasons(rows):
    reasons = Counter(r["subcategory"] for s in SPLITS for r in rows[s] if r["category"] == "invalid")
    assert set(reasons) == {"unknown_device", "unsupported_action", "out_of_range", "not_a_command"}


def test_prompt_to_command_is_a_function_over_the_whole_dataset(big, home):
    pack = get_language_pack("en")
    assert big.conflicts == [] and big.invalid_dropped == [] and big.shortfall == {}
    seen: dict[str, str] = {}
    for split in SPLITS:
        for e in big.splits[split]:
            key = pack.normalize(e.prompt)
            assert seen.setdefault(key, e.command) == e.command, (e.prompt, e.command, seen[key])
    assert len(seen) == sum(len(v) for v in big.splits.values())
    for cmd in {e.command for s in SPLITS for e in big.splits[s] if e.category != "invalid"}:
        assert validate(parse(cmd), home) == [], cmd


def test_values_use_words_and_relative_phrasing(big):
    direct = [e for e in big.splits["train"] if e.category == "direct"]
    tags = Counter(t for e in direct for t in e.tags)
    for tag in ("by_name", "by_area", "absolute_value", "word_value", "relative_value", "polite", "colloquial", "filler"):
        assert tags[tag] > 0, tag
    halves = [e for e in direct if "word_value" in e.tags and " half" in e.prompt.lower()
              and "brightness=" in e.command]
    assert halves and all("brightness=50" in e.command for e in halves)


# ---- splits --------------------------------------------------------------------------------------------------------

def test_splits_are_disjoint_by_prompt_and_template(rows, manifest):
    pack = get_language_pack("en")
    prompts = {s: {r["prompt"] for r in rows[s]} for s in SPLITS}
    norm = {s: {pack.normalize(p) for p in prompts[s]} for s in SPLITS}
    templates = {s: {r["template"] for r in rows[s]} for s in SPLITS}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not prompts[a] & prompts[b]
        assert not norm[a] & norm[b]
        assert not templates[a] & templates[b]
        assert manifest["overlap"]["exact_prompt"][f"{a}/{b}"] == 0
        assert manifest["overlap"]["template"][f"{a}/{b}"] == 0


def _combo(call) -> str:
    return render([type(call)(call.intent, {k: v for k, v in call.slots.items() if k in TARGET_SLOTS})])


def test_heldout_entity_action_pairs_only_in_val_and_test(rows, manifest, big):
    heldout = set(manifest["heldout_combos"])
    assert heldout
    train = {_combo(c) for r in rows["train"] for c in parse(r["command"])}
    assert not train & heldout
    evals = {_combo(c) for s in ("val", "test") for r in rows[s] for c in parse(r["command"])}
    assert evals & heldout
    assert manifest["overlap"]["heldout_combos_in_train"] == 0
    # on a larger run: each held-out pair's intent and target still occur in train (with other partners)
    heldout = set(big.heldout_combos)
    train = {_combo(c) for e in big.splits["train"] for c in e.calls}
    assert not train & heldout
    intents = {c.split(" ", 1)[0] for c in train}
    targets = {c.split(" ", 1)[1] for c in train if " " in c}
    for h in heldout:
        intent, target = h.split(" ", 1)
        assert intent in intents and target in targets, h


def test_heldout_wordings_use_only_train_vocabulary():
    pack = get_language_pack("en")
    from scenic.data.templates import split_templates

    pools = split_templates(pack, SEED, 0.15, 0.15, 0.1)
    held = set(pools.heldout_cores["val"]) | set(pools.heldout_cores["test"])
    assert held
    train_words = {w for cores in pools.cores["train"].values() for c in cores if isinstance(c, Core)
                   for w in pack.words(c.text)}
    train_words |= {w for f in pack.frames for w in pack.words(f.text)}
    for fam, (cores, _) in template_families(pack).items():
        for c in cores:
            if isinstance(c, Core) and c.id in held:
                assert set(pack.words(c.text)) <= train_words, c.text
                assert not any(c.id == u.id for u in pools.cores["train"][fam])


# ---- triplets ------------------------------------------------------------------------------------------------------

def _fields(call):
    s = call.slots
    return (call.intent, {k: v for k, v in s.items() if k in TARGET_SLOTS},
            {k: v for k, v in s.items() if k not in TARGET_SLOTS})


def test_triplets_positive_same_command_negative_differs_in_one_field(gen_dir, rows):
    triplets = [json.loads(line) for line in (gen_dir / "triplets.jsonl").read_text().splitlines()]
    assert len(triplets) > N // 3
    cmd = {r["prompt"]: r["command"] for r in rows["train"]}
    kinds = Counter()
    for t in triplets:
        assert {"anchor", "positive", "negative", "command"} <= set(t)
        assert t["anchor"] in cmd and t["positive"] in cmd and t["negative"] in cmd  # train only
        assert t["positive"] != t["anchor"]
        assert cmd[t["anchor"]] == cmd[t["positive"]] == t["command"]
        assert cmd[t["negative"]] == t["negative_command"] != t["command"]
        a, n = parse(t["command"]), parse(t["negative_command"])
        assert len(a) == len(n)
        diffs = [(i, f) for i, (ca, cn) in enumerate(zip(a, n))
                 for f, (x, y) in zip(("intent", "target", "value"), zip(_fields(ca), _fields(cn))) if x != y]
        assert len(diffs) == 1, (t["command"], t["negative_command"])
        assert diffs[0][1] == t["difference"]
        kinds[diffs[0][1]] += 1
    assert set(kinds) == {"intent", "target", "value"}


# ---- noise ---------------------------------------------------------------------------------------------------------

def test_noise_keeps_numbers_and_makes_one_typo_at_most():
    pack = get_language_pack("en")
    rng = random.Random(0)
    prompts = ["set the kitchen lights to 45%", "turn the bedroom thermostat to twenty one degrees",
               "could you switch off the ceiling fan in the study please", "put the tv volume at half"]
    for _ in range(300):
        p = rng.choice(prompts)
        out = add_noise(p, rng, pack)
        assert out is not None
        text, kind = out
        assert kind in ("asr", "typo", "asr+typo")
        assert text != p and text == text.lower()
        for w in p.replace("%", " ").split():
            if any(ch.isdigit() for ch in w) or w in pack.protected:
                assert w in text.replace("%", " ").split(), (p, text)


# ---- other homes, languages and configs ----------------------------------------------------------------------------

SMALL_HOME = """
name: Flat
floors: [{name: Main Floor, id: main}]
areas:
  - {name: Lounge, id: lounge, floor: main}
  - {name: Office, id: office, floor: main}
entities:
  - {name: Lamp, id: light.lounge_lamp, area: lounge, attributes: {brightness: true}}
  - {name: Lamp, id: light.office_lamp, area: office, attributes: {brightness: true, color: true}}
  - {name: Radiator, id: climate.office_radiator, area: office, attributes: {min_temp: 10, max_temp: 22}}
  - {name: Blind, id: cover.office_blind, area: office, attributes: {device_class: blind, position: true}}
  - {name: Door, id: lock.flat_door, area: lounge}
"""


def test_custom_home(tmp_path):
    path = tmp_path / "flat.yaml"
    path.write_text(SMALL_HOME)
    out = tmp_path / "flat"
    manifest = generate_dataset(GenerateConfig(home=str(path), num_examples=400, seed=1), out)
    flat = load_home(path)
    assert (out / "home.yaml").read_text() == SMALL_HOME
    assert manifest["home_hash"] == home_hash(flat) and manifest["conflicts"] == 0
    names = set()
    for s in SPLITS:
        for r in load_split(out, s):
            calls = parse(r["command"])
            if r["category"] != "invalid":
                assert validate(calls, flat) == [], r
                names |= {c.slots["name"] for c in calls if "name" in c.slots}
    assert names <= {"Lamp", "Radiator", "Blind", "Door"}
    stats = dataset_stats(out)
    assert stats["total"]["examples"] == sum(manifest["num_examples"].values())


def test_unknown_language_lists_known_ones():
    with pytest.raises(ScenicError, match=r"unknown language 'xx' \(known: en\)"):
        get_language_pack("xx")


def test_config_rejects_unknown_keys_and_bad_fractions():
    with pytest.raises(ConfigError, match="unknown key 'num_exmaples'"):
        validate_config(GenerateConfig, {"num_exmaples": 5})
    with pytest.raises(ConfigError, match="must be 1"):
        validate_config(GenerateConfig, {"splits": {"train": 0.5, "val": 0.1, "test": 0.1}})
    with pytest.raises(ConfigError, match="categories.typo"):
        validate_config(GenerateConfig, {"categories": {"typo": 1}})


def test_category_weights_are_honoured(tmp_path):
    cfg = validate_config(GenerateConfig, {"num_examples": 200, "categories": {"invalid": 0, "noisy": 0}})
    m = generate_dataset(cfg, tmp_path / "d")
    for s in SPLITS:
        assert set(m["counts"][s]) == set(CATEGORIES)
        assert m["counts"][s]["invalid"] == m["counts"][s]["noisy"] == 0
