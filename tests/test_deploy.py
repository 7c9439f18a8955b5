"""The commands of docs/home-assistant.md, the HA add-on's run.sh and the systemd unit's ExecStart, run as written
(paths and ports pointed at a test folder): HA storage files of a 58-entity home -> `scenic home import` -> a tiny
exported model -> `scenic serve` -> a Wyoming transcript answered with HA's intent."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import COMMANDS, PROMPTS, exported, torch_one_thread  # noqa: F401 (fixture)
from ha_helpers import SATELLITE_DEVICE, storage_files
from scenic.commands import parse
from serve_helpers import ServeProcess, ask, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "home-assistant.md"
ADDON = ROOT / "deploy" / "home-assistant-addon" / "scenic"
UNIT = ROOT / "deploy" / "systemd" / "scenic-serve.service"
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _doc_commands() -> dict[str, list[str]]:
    """The doc's `scenic ...` lines from its bash blocks, by subcommand."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    lines = [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip().startswith("scenic ")]
    found: dict[str, list[str]] = {}
    for line in lines:
        found.setdefault(" ".join(shlex.split(line)[1:3]), []).append(line)
    return found


def _scenic_exe() -> str:
    exe = Path(sys.executable).with_name("scenic")
    return str(exe) if exe.exists() else shutil.which("scenic")


def _intent(events) -> tuple[str, dict]:
    [event] = events
    assert event.type == "intent", event
    return event.data["name"], {e["name"]: e["value"] for e in event.data["entities"]}


def _call(command: str) -> tuple[str, dict]:
    [call] = parse(command)
    return call.intent, dict(call.slots)


def test_the_docs_walk_from_ha_storage_files_to_an_answered_transcript(tmp_path, tmp_path_factory):
    cmds = _doc_commands()
    _, export, _ = exported("t5-micro", tmp_path_factory)
    work = tmp_path / "work"
    work.mkdir()
    storage = tmp_path / "config" / ".storage"
    storage_files(storage)

    # step 1, as written (the storage folder is the test's)
    [line] = [c for c in cmds["home import"] if "--from-storage" in c]
    args = shlex.split(line.replace("/config/.storage", str(storage)))
    proc = subprocess.run([sys.executable, "-m", "scenic", *args[1:]], cwd=work, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "58 entities in 11 areas" in proc.stderr and "skipped" in proc.stderr

    # step 2: the doc's pipeline command is checked to be a valid recipe + overrides; the model is the test's memoriser
    [line] = cmds["pipeline recipes/quickstart.yaml"]
    args = shlex.split(line)
    from scenic.pipeline import load_recipe

    overrides = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    cfg = load_recipe(ROOT / args[2], overrides, out=work / args[args.index("--out") + 1])
    assert cfg.data.home == "my-home.yaml"
    model_dir = work / "exports" / "my-home" / "export"
    shutil.copytree(export, model_dir)

    # step 3, as written (a free loopback port instead of 0.0.0.0:10300)
    [line] = cmds["serve --wyoming"]
    port = free_port()
    args = shlex.split(line.replace("tcp://0.0.0.0:10300", f"tcp://127.0.0.1:{port}"))
    server = ServeProcess(args[2:], tmp_path / "serve.log", [port], cwd=work)
    try:
        answers = ask(port, PROMPTS[0], context={"conversation_id": "x", "device_id": SATELLITE_DEVICE})
        assert _intent(answers[0]) == _call(COMMANDS[0])
    finally:
        assert server.stop() == 0, server.text()
    assert "requester_area=Kitchen" in server.text()


def test_the_addon_run_script_imports_the_home_and_serves(tmp_path, tmp_path_factory):
    _, export, _ = exported("t5-micro", tmp_path_factory)
    storage_files(tmp_path / "homeassistant" / ".storage")
    (tmp_path / "data").mkdir()
    options = {"model": str(export), "import_home": True, "home": "/unused.yaml", "log_level": "info"}
    (tmp_path / "data" / "options.json").write_text(json.dumps(options))
    config = (ADDON / "config.yaml").read_text()
    assert set(options) == set(re.findall(r"^  (\w+):", config.split("schema:")[1], re.M))  # options = schema keys
    port = free_port()
    env = {**os.environ, "OPTIONS": str(tmp_path / "data" / "options.json"),
           "STORAGE": str(tmp_path / "homeassistant" / ".storage"), "DATA": str(tmp_path / "data"),
           "SCENIC": _scenic_exe(), "PORT": str(port)}
    log = open(tmp_path / "addon.log", "w")
    proc = subprocess.Popen(["bash", str(ADDON / "run.sh")], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_listening(proc, [port], (tmp_path / "addon.log").read_text)
        assert _intent(ask(port, PROMPTS[2])[0]) == _call(COMMANDS[2])
    finally:
        proc.terminate()
        code = proc.wait(30)
        log.close()
    assert code == 0, (tmp_path / "addon.log").read_text()  # run.sh execs scenic serve, which stops cleanly
    assert (tmp_path / "data" / "home.yaml").is_file() and (tmp_path / "data" / "satellites.yaml").is_file()


def test_the_systemd_unit_starts_the_server(tmp_path, tmp_path_factory):
    _, export, _ = exported("t5-micro", tmp_path_factory)
    text = UNIT.read_text()
    [exec_start] = re.findall(r"^ExecStart=(.+)$", text, re.M)
    assert re.search(r"^Restart=on-failure$", text, re.M) and re.search(r"^User=scenic$", text, re.M)
    shutil.copytree(export, tmp_path / "export")
    from scenic.homes import DEFAULT_HOME_PATH

    shutil.copy(DEFAULT_HOME_PATH, tmp_path / "home.yaml")
    port = free_port()
    args = shlex.split(exec_start.replace("/var/lib/scenic", str(tmp_path))
                       .replace("tcp://0.0.0.0:10300", f"tcp://127.0.0.1:{port}"))
    assert args[:2] == ["/opt/scenic/bin/scenic", "serve"]
    server = ServeProcess(args[2:], tmp_path / "unit.log", [port])
    try:
        assert _intent(ask(port, PROMPTS[5])[0]) == _call(COMMANDS[5])
    finally:
        assert server.stop() == 0, server.text()
