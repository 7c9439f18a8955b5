"""Shared, cached fixtures for the compression tests: a memorisable dataset and micro models trained on it once.

Imported by tests/test_compress_*.py; the module-level cache makes each model train once per session even though
several test modules ask for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenic.homes import DEFAULT_HOME_PATH

_NAMES = ["Kettle", "Coffee Maker", "EV Charger", "Garage Light", "Christmas Tree", "Desk Lamp"]
_ON = ["turn on the {n}", "switch the {n} on"]
_OFF = ["turn off the {n}", "switch the {n} off"]
_CACHE: dict[str, Path] = {}


def memorise_rows() -> list[dict]:
    rows = []
    for n in _NAMES:
        for i, t in enumerate(_ON):
            rows.append({"prompt": t.format(n=n.lower()), "command": f'HassTurnOn name="{n}"',
                         "category": "direct", "template": f"on{i}"})
        for i, t in enumerate(_OFF):
            rows.append({"prompt": t.format(n=n.lower()), "command": f'HassTurnOff name="{n}"',
                         "category": "direct", "template": f"off{i}"})
    return rows


def write_dataset(folder: Path) -> Path:
    """A dataset folder (train = val = test: memorisation) with triplets, in the docs/CONTRACTS.md format."""
    rows = memorise_rows()
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    trips = []
    for i, r in enumerate(rows):
        pos = next(x for x in rows if x["command"] == r["command"] and x["prompt"] != r["prompt"])
        neg = rows[(i + 2) % len(rows)]
        trips.append({"anchor": r["prompt"], "positive": pos["prompt"], "negative": neg["prompt"],
                      "command": r["command"], "negative_command": neg["command"]})
    (folder / "triplets.jsonl").write_text("".join(json.dumps(t) + "\n" for t in trips), encoding="utf-8")
    (folder / "home.yaml").write_text(DEFAULT_HOME_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"stage": "data", "config": {}}), encoding="utf-8")
    return folder


def trained(tmp_path_factory: pytest.TempPathFactory, preset: str, steps: int) -> tuple[Path, Path]:
    """(checkpoint, data) for `preset` trained `steps` steps on the memorisable set; trained once per session."""
    key = f"{preset}-{steps}"
    if key not in _CACHE:
        from scenic.train import TrainConfig, train

        root = tmp_path_factory.mktemp(f"compress-{key}")
        data = write_dataset(root / "data")
        cfg = TrainConfig(data=data, out=root / "ckpt", preset=preset, max_steps=steps, batch_size=16, lr=3e-3,
                          warmup_steps=20, triplet_lambda=0.0, eval_every=0, eval_examples=0, checkpoint_every=0,
                          device="cpu", backbone={"dropout": 0.0})
        train(cfg, progress=False)
        _CACHE[key] = root / "ckpt"
        _CACHE[key + "-data"] = data
    return _CACHE[key], _CACHE[key + "-data"]


def exact_match_rate(cm, rows: list[dict]) -> float:
    preds = cm.generate([r["prompt"] for r in rows], num_beams=1)
    return sum(p[0] == r["command"] for p, r in zip(preds, rows)) / len(rows)
