"""Hand-made tiny dataset folders in the docs/CONTRACTS.md format, for the train and evaluate tests.

Built here by hand (not by scenic.data) so these tests exercise only the folder format the training stage reads.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from scenic.homes import DEFAULT_HOME_PATH

# (area, name) pairs of the default home with their command for on/off
DEVICES = [("Kitchen", "Kettle"), ("Kitchen", "Coffee Maker"), ("Garage", "EV Charger"), ("Hallway", "Front Door"),
           ("Garage", "Garage Light"), ("Living Room", "Christmas Tree")]
ON = ["turn on the {n}", "switch the {n} on", "please start the {n}", "{n} on"]
OFF = ["turn off the {n}", "switch the {n} off", "please stop the {n}", "{n} off"]
ZH_ON = ["打开{n}", "请打开{n}"]
ROOMS = ["Kitchen", "Bedroom", "Study", "Bathroom"]
BRIGHT = ["set the {a} lights to {v} percent", "dim the {a} to {v}%"]


def _examples() -> list[dict]:
    rows = []
    for _, n in DEVICES:
        for i, t in enumerate(ON):
            rows.append({"prompt": t.format(n=n.lower()), "command": f'HassTurnOn name="{n}"', "category": "direct",
                         "template": f"on{i}", "lang": "en"})
        for i, t in enumerate(OFF):
            rows.append({"prompt": t.format(n=n.lower()), "command": f'HassTurnOff name="{n}"', "category": "direct",
                         "template": f"off{i}", "lang": "en"})
        for i, t in enumerate(ZH_ON):
            rows.append({"prompt": t.format(n=n), "command": f'HassTurnOn name="{n}"', "category": "direct",
                         "template": f"zh{i}", "lang": "zh"})
    for a in ROOMS:
        for v in (20, 50, 80):
            for i, t in enumerate(BRIGHT):
                rows.append({"prompt": t.format(a=a.lower(), v=v), "command": f'HassLightSet area="{a}" brightness={v}',
                             "category": "indirect", "template": f"b{i}", "lang": "en"})
    for p in ("what time is it", "tell me a joke", "how are you"):
        rows.append({"prompt": p, "command": "Unsupported reason=not_a_command", "category": "invalid",
                     "template": "x", "lang": "en"})
    return rows


def _triplets(rows: list[dict], rng: random.Random) -> list[dict]:
    by_cmd: dict[str, list[dict]] = {}
    for r in rows:
        by_cmd.setdefault(r["command"], []).append(r)
    out = []
    for r in rows:
        same = [x for x in by_cmd[r["command"]] if x["prompt"] != r["prompt"]]
        other = [x for x in rows if x["command"] != r["command"]]
        if not same:
            continue
        pos, neg = rng.choice(same), rng.choice(other)
        out.append({"anchor": r["prompt"], "positive": pos["prompt"], "negative": neg["prompt"],
                    "command": r["command"], "negative_command": neg["command"]})
    return out


def make_dataset(folder: Path, seed: int = 0, with_home: bool = True) -> Path:
    """A dataset folder whose val/test are a held-out slice; returns the folder."""
    rng = random.Random(seed)
    rows = _examples()
    rng.shuffle(rows)
    test, val, train = rows[:12], rows[12:24], rows[24:]
    folder.mkdir(parents=True, exist_ok=True)
    for name, split in (("train", train), ("val", val), ("test", test)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in split),
                                              encoding="utf-8")
    trips = _triplets(train, rng)
    (folder / "triplets.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in trips),
                                           encoding="utf-8")
    if with_home:
        (folder / "home.yaml").write_text(DEFAULT_HOME_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    manifest = {"stage": "data", "config": {"seed": seed}, "counts": {"train": len(train), "val": len(val),
                                                                      "test": len(test)}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def make_memorise_dataset(folder: Path) -> Path:
    """A handful of examples that are also the val and test set: a micro model must learn them exactly."""
    rows = [r for r in _examples() if r["template"] in ("on0", "off0", "zh0")][:8]
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "val", "test"):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                              encoding="utf-8")
    (folder / "home.yaml").write_text(DEFAULT_HOME_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"stage": "data", "config": {}}), encoding="utf-8")
    return folder
