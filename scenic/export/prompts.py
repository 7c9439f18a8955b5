"""Prompts for the parity check and INT8 calibration: the dataset's when given, else a built-in handful."""

from __future__ import annotations

import json
import random
from pathlib import Path

from scenic import ScenicError

BUILTIN_PROMPTS = [
    "turn off the kitchen lights", "switch on the living room ceiling light", "set the bedroom lamp to 30 percent",
    "make the garden lights blue", "set the thermostat to 21 degrees", "open the garage door",
    "lock the front door", "pause the tv", "next song on the kitchen speaker", "set the volume to 40",
    "start the vacuum", "close the study blinds", "turn on the coffee maker and the kettle",
    "what's the weather like tomorrow", "set the fan speed to 50 percent in the bedroom", "dim the hallway light",
]


def _read_prompts(path: Path) -> list[str]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(str(json.loads(line)["prompt"]))
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise ScenicError(f"{path}:{n}: not a dataset line with a 'prompt'") from None
    return out


def dataset_prompts(data: Path, splits: tuple[str, ...], count: int, seed: int) -> tuple[list[str], str]:
    """Up to `count` prompts from the first split file that exists, in a seeded random order."""
    for split in splits:
        path = Path(data) / f"{split}.jsonl"
        if path.is_file():
            prompts = _read_prompts(path)
            random.Random(seed).shuffle(prompts)
            if prompts:
                return prompts[:count], str(path)
    raise ScenicError(f"{data}: no {' / '.join(s + '.jsonl' for s in splits)} with prompts (not a dataset folder?)")


def parity_and_calibration_prompts(data: Path | None, parity: int, calibration: int,
                                   seed: int) -> tuple[list[str], list[str], dict[str, str]]:
    if data is None:
        return BUILTIN_PROMPTS[:parity], BUILTIN_PROMPTS[:calibration], {"parity": "built-in", "calibration": "built-in"}
    p, p_src = dataset_prompts(data, ("val", "test", "train"), parity, seed)
    c, c_src = dataset_prompts(data, ("train", "val"), calibration, seed + 1)
    return p, c, {"parity": p_src, "calibration": c_src}
