"""`scenic serve`: a real server process on 127.0.0.1 with a tiny exported model, driven by the `wyoming` package's
own client (as Home Assistant's integration drives it) and by HTTP; bad events are answered and the server lives on."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest
from wyoming.asr import Transcript
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.intent import Intent, NotRecognized

from export_helpers import COMMANDS, PROMPTS, exported, torch_one_thread  # noqa: F401 (fixture)
from ha_helpers import SATELLITE_DEVICE, storage_files
from scenic.commands import parse
from serve_helpers import ServeProcess, ask, exchange, free_port

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server (Wyoming + HTTP) for this module, on the tiny t5-micro export and an imported home."""
    _, export, _ = exported("t5-micro", tmp_path_factory)
    root = tmp_path_factory.mktemp("serve")
    from scenic.homeassistant import import_storage, write_home, write_satellites

    result = import_storage(storage_files(root / ".storage") and root / ".storage")
    write_home(result, root / "home.yaml", "test")
    write_satellites(result, root / "satellites.yaml")
    wy, http = free_port(), free_port()
    proc = ServeProcess(["--wyoming", f"tcp://127.0.0.1:{wy}", "--http", f"127.0.0.1:{http}", "--model", str(export),
                         "--home", str(root / "home.yaml"), "--satellites", str(root / "satellites.yaml"),
                         "--variant", "int8-dynamic", "--threads", "1"], root / "serve.log", [wy, http])
    yield proc, wy, http
    code = proc.stop()
    assert code == 0, proc.text()  # SIGTERM stops it cleanly
    assert "stopping" in proc.text()


def _expected(command: str) -> list[tuple[str, dict]]:
    return [(c.intent, dict(c.slots)) for c in parse(command) if c.intent != "Unsupported"]


def _intents(events: list[Event]) -> list[tuple[str, dict]]:
    out = []
    for e in events:
        if Intent.is_type(e.type):
            intent = Intent.from_event(e)
            out.append((intent.name, {ent.name: ent.value for ent in intent.entities}))  # HA: {name: {"value": v}}
    return out


def test_describe_names_an_installed_intent_program_and_its_languages(server):
    _, wy, _ = server
    [[reply]] = asyncio.run(exchange(wy, [Describe().event()]))
    info = Info.from_event(reply)
    [program] = info.intent
    assert program.name == "scenic" and program.installed
    [model] = program.models
    assert model.installed and model.languages == ["en"] and model.name == "export"


def test_every_transcript_gets_its_calls_as_intent_events(server):
    _, wy, _ = server
    answers = ask(wy, *PROMPTS)
    for prompt, command, events in zip(PROMPTS, COMMANDS, answers):
        calls = _expected(command)
        if not calls:  # Unsupported only
            [event] = events
            nr = NotRecognized.from_event(event)
            assert nr.text == "Sorry, I didn't understand that." and nr.context["reason"] == "not_a_command"
        elif len(calls) == 1:
            assert [e.type for e in events] == ["intent"], prompt
        else:
            assert [e.type for e in events] == ["intents-start", *["intent"] * len(calls), "intents-stop"], prompt
        assert _intents(events) == calls, prompt
    light = dict(_intents(answers[PROMPTS.index("set the bedside lamp to 40 percent")]))
    assert light["HassLightSet"] == {"brightness": 40, "name": "Bedside Lamp"}  # a number, as HA's schema wants


def test_bad_events_are_answered_and_the_connection_and_server_live_on(server):
    proc, wy, _ = server
    bad = [Event("transcript", {}), Event("transcript", {"text": 12}), Event("synthesize", {"text": "hi"}),
           Transcript("x" * 5000).event(), Transcript("   ").event(), Transcript(PROMPTS[0]).event()]
    answers = asyncio.run(exchange(wy, bad))
    assert [a[0].type for a in answers[:4]] == ["error"] * 4
    assert answers[0][0].data["code"] == "bad-request" and "text" in answers[0][0].data["text"]
    assert answers[2][0].data["code"] == "unsupported"
    assert answers[4][0].type == "not-recognized"  # an empty transcript is not a command
    assert _intents(answers[5]) == _expected(COMMANDS[0])  # same connection, still answering
    # a line that is not JSON: the wyoming library drops that connection; the server serves the next one
    with socket.create_connection(("127.0.0.1", wy), timeout=10) as s:
        s.sendall(b"{this is not json\n")
        assert s.recv(100) == b""
    assert _intents(ask(wy, PROMPTS[0])[0]) == _expected(COMMANDS[0])
    assert proc.proc.poll() is None


def test_concurrent_clients_get_the_same_answers_as_one_client(server):
    _, wy, _ = server
    alone = [_intents(a) for a in ask(wy, *PROMPTS)]

    async def many():
        return await asyncio.gather(*(exchange(wy, [Transcript(p).event() for p in PROMPTS[i:] + PROMPTS[:i]])
                                      for i in range(8)))

    for i, answers in enumerate(asyncio.run(many())):
        assert [_intents(a) for a in answers] == alone[i:] + alone[:i]


def test_satellite_area_from_context_is_resolved_and_logged(server):
    proc, wy, _ = server
    ask(wy, PROMPTS[0], context={"conversation_id": "c1", "device_id": SATELLITE_DEVICE})
    ask(wy, PROMPTS[1], context={"area": "lounge"})  # an area alias
    ask(wy, PROMPTS[2], context={"device_id": "unknown-device"})
    lines = [ln for ln in proc.text().splitlines() if "wyoming req=" in ln]
    assert any("requester_area=Kitchen (not used by the runtime yet: issue 14)" in ln for ln in lines)
    assert any("requester_area=Living Room" in ln for ln in lines)
    assert any("requester_area=None" in ln for ln in lines)
    assert all("model_ms=" in ln and "total_ms=" in ln for ln in lines)  # latency of every request


def _post(port: int, body: bytes, path: str = "/v1/command"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_http_command_endpoint(server):
    _, _, http = server
    status, body = _post(http, json.dumps({"text": PROMPTS[10], "area": "Kitchen"}).encode())
    assert status == 200 and body["command"] == COMMANDS[10] and body["valid"] is True
    assert [c["intent"] for c in body["calls"]] == ["HassTurnOn", "HassTurnOff"]
    assert body["requester_area"] == "Kitchen" and body["latency_ms"]["total"] >= body["latency_ms"]["model"] > 0
    assert _post(http, b"{not json")[0] == 400
    assert _post(http, json.dumps({"txt": "hi"}).encode())[0] == 400
    status, body = _post(http, json.dumps({"text": "hi", "area": "Moon Base"}).encode())
    assert status == 400 and "unknown area" in body["error"]
    assert _post(http, b"{}", "/v2/other")[0] == 404
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/v1/health", timeout=10) as r:
        health = json.loads(r.read())
    assert health["status"] == "ok" and health["entities"] == 58


def test_serve_refuses_bad_options_with_one_line(tmp_path, monkeypatch, capsys):
    import sys

    from scenic.cli import main

    for args, named in ((["--wyoming", "http://x:1"], "--wyoming"), ([], "nothing to serve"),
                        (["--http", "nohost"], "--http"),
                        (["--wyoming", "tcp://127.0.0.1:1", "--model", str(tmp_path)], "export.json")):
        monkeypatch.setattr(sys, "argv", ["scenic", "serve", *args])
        with pytest.raises(SystemExit) as exc:
            main()
        err = capsys.readouterr().err.strip()
        assert exc.value.code == 2 and len(err.splitlines()) == 1 and named in err, err


def test_one_connection_of_the_packages_client_carries_several_requests(server):
    """AsyncTcpClient, the client Home Assistant's integration uses, as a context manager."""
    _, wy, _ = server

    async def run():
        async with AsyncTcpClient("127.0.0.1", wy) as client:
            return await exchange(wy, [Transcript(p).event() for p in PROMPTS[:3]], client=client)

    assert [_intents(a) for a in asyncio.run(run())] == [_expected(c) for c in COMMANDS[:3]]
