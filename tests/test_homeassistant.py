"""`scenic home import`: HA's storage files and a websocket stub on 127.0.0.1 give the same home, every skipped
entity is named with its reason, and a failed import writes nothing."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from typer.testing import CliRunner

from ha_helpers import SATELLITE_DEVICE, StubHomeAssistant, storage_files
from scenic import ScenicError
from scenic.cli import app
from scenic.homeassistant import import_live, import_storage
from scenic.homeassistant.live import LiveImportError, websocket_url
from scenic.homeassistant.storage import StorageError
from scenic.homes import default_home, load_home


def _by_id(home):
    doc = home.model_dump(mode="json")
    doc["entities"] = sorted(doc["entities"], key=lambda e: e["id"])
    return doc


def _check_skips(result, expected: dict[str, str]) -> None:
    got = {s.entity_id: s.reason for s in result.skipped}
    assert set(got) == set(expected), (set(got) ^ set(expected))
    for entity_id, why in expected.items():
        assert why in got[entity_id], (entity_id, got[entity_id])


def test_storage_import_gives_the_default_home_and_names_every_skip(tmp_path):
    regs = storage_files(tmp_path / ".storage")
    result = import_storage(tmp_path / ".storage")
    assert _by_id(result.home) == _by_id(default_home())  # names, areas, floors, aliases, capabilities
    _check_skips(result, regs["expected_skips"])
    assert result.satellites[SATELLITE_DEVICE] == "Kitchen"
    assert result.satellites["assist_satellite.kitchen"] == "Kitchen"


def test_live_import_from_a_websocket_stub_matches_the_storage_import(tmp_path):
    storage_files(tmp_path / ".storage")
    from_files = import_storage(tmp_path / ".storage")
    with StubHomeAssistant() as ha:
        result, version = import_live(ha.url, ha.TOKEN)
    assert version == "2025.6.0"
    assert _by_id(result.home) == _by_id(from_files.home)
    assert {s.entity_id for s in result.skipped} == {s.entity_id for s in from_files.skipped}
    assert ha.received[0] == {"type": "auth", "access_token": ha.TOKEN}
    sent = [m["type"] for m in ha.received[1:]]
    for kind in ("config/area_registry/list", "config/floor_registry/list", "config/device_registry/list",
                 "config/entity_registry/list", "config/entity_registry/get_entries", "get_states",
                 "homeassistant/expose_entity/list"):
        assert kind in sent
    assert [m["id"] for m in ha.received[1:]] == list(range(1, len(sent) + 1))  # ids count up, as HA requires


def test_live_import_with_a_non_admin_token_uses_the_registry_options(tmp_path):
    with StubHomeAssistant(admin=False) as ha:
        result, _ = import_live(ha.url, ha.TOKEN)
    assert _by_id(result.home) == _by_id(default_home())


def test_live_import_refused_token_and_unreachable_host_are_one_clear_error():
    with StubHomeAssistant() as ha:
        with pytest.raises(LiveImportError, match="refused the token.*long-lived access token"):
            import_live(ha.url, "wrong")
        url = ha.url
    with pytest.raises(LiveImportError, match="cannot reach Home Assistant"):
        import_live(url, "x")  # the stub is gone: connection refused


def test_websocket_url_forms():
    assert websocket_url("http://ha.local:8123") == "ws://ha.local:8123/api/websocket"
    assert websocket_url("https://ha.example/") == "wss://ha.example/api/websocket"
    assert websocket_url("ws://1.2.3.4:8123/api/websocket") == "ws://1.2.3.4:8123/api/websocket"
    with pytest.raises(LiveImportError):
        websocket_url("ha.local:8123")


def test_cli_import_writes_a_loadable_home_and_reports_skips(tmp_path):
    storage_files(tmp_path / ".storage")
    out, sats = tmp_path / "home.yaml", tmp_path / "satellites.yaml"
    res = CliRunner().invoke(app, ["home", "import", "--from-storage", str(tmp_path / ".storage"), "--out", str(out),
                                   "--satellites", str(sats)])
    assert res.exit_code == 0, res.output
    assert _by_id(load_home(out)) == _by_id(default_home())
    assert "58 entities in 11 areas" in res.output and "skipped 3: not exposed to Assist" in res.output
    assert "sensor.kitchen_temperature" in res.output
    assert yaml.safe_load(sats.read_text())[SATELLITE_DEVICE] == "Kitchen"
    # an existing file is not replaced without --force
    before = out.read_text()
    res = CliRunner().invoke(app, ["home", "import", "--from-storage", str(tmp_path / ".storage"), "--out", str(out)])
    assert res.exit_code != 0 and out.read_text() == before


def test_cli_live_import_with_a_token_file(tmp_path):
    token = tmp_path / "token"
    token.write_text(StubHomeAssistant.TOKEN + "\n")
    with StubHomeAssistant() as ha:
        res = CliRunner().invoke(app, ["home", "import", "--url", ha.url, "--token-file", str(token),
                                       "--out", str(tmp_path / "home.yaml")])
    assert res.exit_code == 0, res.output
    assert "Home Assistant 2025.6.0" in (tmp_path / "home.yaml").read_text()


@pytest.mark.parametrize("damage", ["missing", "not-json", "wrong-key", "version-2", "entities-not-list"])
def test_bad_storage_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, damage):
    folder = tmp_path / ".storage"
    storage_files(folder)
    path = folder / "core.entity_registry"
    doc = json.loads(path.read_text())
    if damage == "missing":
        path.unlink()
    elif damage == "not-json":
        path.write_text(path.read_text()[:500])
    elif damage == "wrong-key":
        doc["key"] = "core.area_registry"
        path.write_text(json.dumps(doc))
    elif damage == "version-2":
        doc["version"] = 2
        path.write_text(json.dumps(doc))
    else:
        doc["data"]["entities"] = {"a": 1}
        path.write_text(json.dumps(doc))
    out = tmp_path / "home.yaml"
    monkeypatch.setattr(sys, "argv", ["scenic", "home", "import", "--from-storage", str(folder), "--out", str(out)])
    from scenic.cli import main

    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "core.entity_registry" in err, err
    assert not out.exists() and list(tmp_path.glob(".home.yaml.*")) == []
    with pytest.raises(StorageError):
        import_storage(folder)


def test_a_home_with_nothing_importable_is_refused(tmp_path):
    folder = tmp_path / ".storage"
    storage_files(folder)
    path = folder / "core.entity_registry"
    doc = json.loads(path.read_text())
    doc["data"]["entities"] = [e for e in doc["data"]["entities"] if e["entity_id"].startswith("sensor.")]
    path.write_text(json.dumps(doc))
    res = CliRunner().invoke(app, ["home", "import", "--from-storage", str(folder), "--out", str(tmp_path / "h.yaml")])
    assert res.exit_code != 0 and isinstance(res.exception, ScenicError) and "nothing written" in str(res.exception)
    assert not (tmp_path / "h.yaml").exists()


def test_area_ids_outside_the_schema_alphabet_are_slugged(tmp_path):
    folder = tmp_path / ".storage"
    storage_files(folder)
    path = folder / "core.area_registry"
    doc = json.loads(path.read_text())
    doc["data"]["areas"].append({"aliases": [None, "den"], "floor_id": "nowhere", "id": "Büro-1", "name": "Büro",
                                 "icon": None, "labels": [], "picture": None})
    path.write_text(json.dumps(doc))
    reg = folder / "core.entity_registry"
    doc = json.loads(reg.read_text())
    doc["data"]["entities"].append({"entity_id": "switch.buro_fan", "area_id": "Büro-1", "name": "Desk Fan",
                                    "options": {"conversation": {"should_expose": True}}, "aliases": [None]})
    reg.write_text(json.dumps(doc))
    home = import_storage(folder).home
    area = home.area_by_name["Büro"]
    assert area.id == "b_ro_1" and area.floor is None and area.aliases == ["den"]
    assert [e.area for e in home.entities if e.id == "switch.buro_fan"] == ["b_ro_1"]
