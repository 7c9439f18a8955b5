"""The runtime install: with every package of the `train` extra unimportable, the runtime, the server, the home import
and the thin CLI (`--help`, `run`, `serve`, `home import`) still work; the dependency split in pyproject.toml is the
one docs promise."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from export_helpers import COMMANDS, PROMPTS, exported, torch_one_thread  # noqa: F401 (fixture)
from ha_helpers import storage_files
from serve_helpers import ServeProcess, ask, free_port

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = str(Path(__file__).with_name("no_train_deps.py"))
RUNTIME_DEPS = {"numpy", "onnxruntime", "tokenizers", "pydantic", "pyyaml", "typer", "rich", "zstandard", "wyoming",
                "websockets"}
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _scenic(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, LAUNCHER, *map(str, args)], capture_output=True, text=True, timeout=180,
                          cwd=cwd)


def test_runtime_server_and_import_modules_load_without_training_packages():
    code = ("import sys\n"
            "import scenic.runtime, scenic.commands, scenic.homes, scenic.cli\n"
            "import scenic.serve, scenic.serve.engine, scenic.serve.wyoming_service, scenic.serve.http_api\n"
            "import scenic.homeassistant, scenic.homeassistant.live, scenic.homeassistant.storage\n"
            "try:\n    import torch\nexcept ImportError:\n    pass\nelse:\n    raise SystemExit('not blocked')\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'onnx'))\n"
            "assert not bad, bad\n")
    proc = _scenic("-c", code)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["serve", "--help"], ["home", "import", "--help"]])
def test_the_thin_cli_answers_help_without_training_packages(args):
    proc = _scenic(*args)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: scenic" in proc.stdout


def test_run_home_import_and_serve_work_without_training_packages(tmp_path, tmp_path_factory):
    _, export, _ = exported("t5-micro", tmp_path_factory)
    storage_files(tmp_path / ".storage")
    proc = _scenic("home", "import", "--from-storage", tmp_path / ".storage", "--out", tmp_path / "home.yaml")
    assert proc.returncode == 0, proc.stderr
    proc = _scenic("run", "--model", export, "--home", tmp_path / "home.yaml", "--constrained", PROMPTS[0])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["command"] == COMMANDS[0]
    port = free_port()
    server = ServeProcess(["--wyoming", f"tcp://127.0.0.1:{port}", "--model", str(export), "--home",
                           str(tmp_path / "home.yaml")], tmp_path / "serve.log", [port], launcher=[LAUNCHER])
    try:
        [[event]] = ask(port, PROMPTS[2])
        assert event.type == "intent" and event.data["name"] == "HassTurnOn"
    finally:
        assert server.stop() == 0, server.text()


def test_base_install_is_the_runtime_and_training_is_an_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {re.split(r"[<>=\[ ]", dep)[0].lower() for dep in project["dependencies"]}
    assert base == RUNTIME_DEPS
    train = " ".join(project["optional-dependencies"]["train"])
    for heavy in ("torch", "transformers", "sentence-transformers", "onnx>=", "onnxscript", "scikit-learn",
                  "matplotlib"):
        assert heavy in train
    assert project["requires-python"] == ">=3.10"
    for path in (ROOT / ".ci" / "run", ROOT / "README.md"):
        assert '".[train,dev]"' in path.read_text()
