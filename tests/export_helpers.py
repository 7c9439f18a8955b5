"""Shared, cached fixtures for the export and runtime tests (no tests here).

Tiny CommandModels (micro presets, ~100k params) memorise a dozen valid default-home commands in a few seconds;
each is trained, saved and exported once per test session, whichever test module asks first.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import torch

from scenic.artifacts import make_manifest, write_json_atomic
from scenic.homes import DEFAULT_HOME_PATH

PAIRS = [
    ("turn on the kitchen ceiling light", 'HassTurnOn area="Kitchen" name="Ceiling Light"'),
    ("turn off the kitchen ceiling light", 'HassTurnOff area="Kitchen" name="Ceiling Light"'),
    ("switch on the coffee maker", 'HassTurnOn name="Coffee Maker"'),
    ("set the bedside lamp to 40 percent", 'HassLightSet brightness=40 name="Bedside Lamp"'),
    ("make the garden lights blue", 'HassLightSet color="blue" name="Garden Lights"'),
    ("set the study heater to 21 degrees", 'HassClimateSetTemperature name="Heater" temperature=21'),
    ("open the garage door", 'HassTurnOn name="Garage Door"'),
    ("pause the tv", 'HassMediaPause name="TV"'),
    ("what is the meaning of life", "Unsupported reason=not_a_command"),
    ("turn off all lights in the living room", 'HassTurnOff area="Living Room" domain="light"'),
    ("lock the front door and turn off the hallway light",
     'HassTurnOn name="Front Door" ; HassTurnOff area="Hallway" name="Ceiling Light"'),
    ("start the vacuum in the study", 'HassVacuumStart area="Study" name="Robot Vacuum"'),
]
PROMPTS = [p for p, _ in PAIRS]
COMMANDS = [c for _, c in PAIRS]
MIN_STEPS, MAX_STEPS = 150, 800

_cache: dict = {}


@contextlib.contextmanager
def one_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine torch's spinning threads make
    training many times slower."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture(scope="module")
def torch_one_thread():
    """Used by the export/runtime test modules for every PyTorch call they make (see one_thread)."""
    with one_thread():
        yield


def train_memoriser(preset_name: str, steps: int | None = None, seed: int = 0, lr: float = 3e-3, **overrides):
    """A CommandModel that has memorised PAIRS (plain AdamW over training_batch/forward); `overrides` change
    the preset's backbone fields."""
    from scenic.models import CommandModel, preset, train_tokenizer

    torch.manual_seed(seed)
    tok = train_tokenizer([*PROMPTS, *COMMANDS] * 3, vocab_size=400, min_frequency=2)
    cfg = preset(preset_name, dropout=0.0, **overrides)
    cm = CommandModel.create(cfg, tok, home_yaml=DEFAULT_HOME_PATH.read_text("utf-8"), max_prompt_tokens=32,
                             max_command_tokens=48, info={"preset": preset_name})
    opt = torch.optim.AdamW(cm.model.parameters(), lr=lr)
    cm.model.train()
    with one_thread():
        # byte-level BPE merges can differ between processes (hash seeds), so train until memorised, not for a
        # fixed count; `steps` forces a fixed count (for models that are pruned next anyway)
        for step in range(1, (steps or MAX_STEPS) + 1):
            loss, _ = cm.forward(cm.training_batch(PROMPTS, COMMANDS))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if steps is None and step >= MIN_STEPS and step % 50 == 0:
                cm.model.eval()
                if [r[0] for r in cm.generate(PROMPTS)] == COMMANDS:
                    break
                cm.model.train()
    cm.model.eval()
    return cm


def save_checkpoint(cm, folder: Path, compression: dict | None = None) -> Path:
    cm.save(folder)
    if compression is not None:
        (folder / "compression.json").write_text(json.dumps(compression), encoding="utf-8")
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    write_json_atomic(folder / "manifest.json", make_manifest("train", {"preset": cm.info.get("preset")},
                                                             files=files, root=folder))
    return folder


def write_dataset(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        lines = [json.dumps({"prompt": p, "command": c, "category": "direct"}) for p, c in PAIRS]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def trained(preset_name: str, factory):
    """(CommandModel, checkpoint folder, dataset folder), made once per session."""
    key = ("trained", preset_name)
    if key not in _cache:
        base = factory.mktemp(preset_name)
        cm = train_memoriser(preset_name)
        assert [r[0] for r in cm.generate(PROMPTS)] == COMMANDS, f"{preset_name} did not memorise the set"
        _cache[key] = (cm, save_checkpoint(cm, base / "ckpt"), write_dataset(base / "data"))
    return _cache[key]


def exported(preset_name: str, factory):
    """(CommandModel, export folder, ExportResult) with fp32, fp16, int8-dynamic and int8-qdq, made once."""
    from scenic.export import ExportConfig, export

    key = ("exported", preset_name)
    if key not in _cache:
        cm, ckpt, data = trained(preset_name, factory)
        out = ckpt.parent / "export"
        with one_thread():
            result = export(ckpt, out, ExportConfig(int8=True, fp16=True, calibration_prompts=12), data=data)
        _cache[key] = (cm, out, result)
    return _cache[key]
