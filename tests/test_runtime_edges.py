"""The runtime on sharp inputs: exports naming files outside themselves are refused, and each request of a batch is
answered on its own (a bad string gets its own error)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

import scenic.runtime as runtime
from export_helpers import COMMANDS, PROMPTS, exported, torch_one_thread  # noqa: F401 (fixture)
from scenic.cli import app
from scenic.runtime.errors import ExportFormatError
from scenic.runtime.predictor import prompt_problem

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SECRET = "secret-content-that-must-not-leak"


@pytest.fixture
def export_copy(tmp_path, tmp_path_factory):
    _, out, _ = exported("t5-micro", tmp_path_factory)
    dst = tmp_path / "export"
    shutil.copytree(out, dst)
    return dst


def _rewrite(folder, fn):
    path = folder / "export.json"
    info = json.loads(path.read_text(encoding="utf-8"))
    fn(info)
    path.write_text(json.dumps(info), encoding="utf-8")


def _outside(tmp_path):
    """A file outside the export, as an attacker would point at it (YAML that would parse, to tempt a reader)."""
    path = tmp_path / "outside.yaml"
    path.write_text(f"name: {SECRET}\nfloors: []\nareas: []\nentities: []\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink", "symlinked_dir"])
@pytest.mark.parametrize("entry", ["home", "tokenizer", "graph"])
def test_export_naming_a_file_outside_itself_is_refused(export_copy, tmp_path, how, entry):
    outside = _outside(tmp_path)
    if how == "dotdot":
        name = "../outside.yaml"
    elif how == "absolute":
        name = str(outside)
    elif how == "symlink":
        os.symlink(outside, export_copy / "link.yaml")
        name = "link.yaml"
    else:
        os.symlink(tmp_path, export_copy / "up")
        name = "up/outside.yaml"

    def point(info):
        if entry == "home":
            info["home"] = name
        elif entry == "tokenizer":
            info["tokenizer"] = name
        else:
            info["variants"]["fp32"]["files"]["decoder"] = name
    _rewrite(export_copy, point)
    for verify in (True, False):
        with pytest.raises(ExportFormatError, match="outside the export folder; refusing to load it") as err:
            runtime.load(export_copy, verify=verify)
        text = str(err.value)
        assert "\n" not in text and SECRET not in text


def test_manifest_cannot_smuggle_files_in(export_copy, tmp_path):
    """verify_files itself refuses names that leave the folder, whatever lists them."""
    from scenic.runtime.verify import read_manifest, verify_files

    outside = _outside(tmp_path)
    manifest = read_manifest(export_copy)
    manifest["files"]["../outside.yaml"] = {"bytes": outside.stat().st_size, "sha256": "0" * 64}
    with pytest.raises(ExportFormatError, match="outside the export folder"):
        verify_files(export_copy, manifest, ["../outside.yaml"])


def test_cli_refuses_in_one_line(export_copy, tmp_path):
    outside = _outside(tmp_path)
    _rewrite(export_copy, lambda info: info.update(home=str(outside)))
    res = CliRunner().invoke(app, ["run", PROMPTS[0], "--model", str(export_copy)])
    assert res.exit_code != 0 and SECRET not in res.output
    assert isinstance(res.exception, ExportFormatError)


def test_inside_names_still_load(export_copy):
    _rewrite(export_copy, lambda info: info.update(tokenizer="./tokenizer.json"))
    manifest = json.loads((export_copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["./tokenizer.json"] = manifest["files"]["tokenizer.json"]
    manifest["files"]["export.json"] = {"bytes": (export_copy / "export.json").stat().st_size,
                                        "sha256": __import__("hashlib").sha256(
                                            (export_copy / "export.json").read_bytes()).hexdigest()}
    (export_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert runtime.load(export_copy).generate(PROMPTS[:1]) == [[COMMANDS[0]]]


# ---- one request, one answer --------------------------------------------------------------------------------------

BAD = ["lone \ud800 surrogate", "bytes \udcff from a bad file", None, 42]


def test_prompt_problem_names_what_is_wrong():
    assert prompt_problem("ok") is None
    assert "lone surrogate U+D800 at character 5" in prompt_problem(BAD[0])
    assert "not a string (got NoneType)" == prompt_problem(None)


@pytest.mark.parametrize("constrained", [False, True])
def test_a_bad_request_gets_its_own_error_and_the_rest_are_answered(tmp_path_factory, constrained):
    _, out, _ = exported("t5-micro", tmp_path_factory)
    predictor = runtime.load(out)
    good = PROMPTS[:4]
    mixed = [good[0], BAD[0], good[1], BAD[1], good[2], BAD[2], good[3], BAD[3]]
    alone = predictor.generate(good, num_beams=3, num_return=2, constrained=constrained)
    together = predictor.generate(mixed, num_beams=3, num_return=2, constrained=constrained, batch_size=3)
    assert [together[i] for i in (0, 2, 4, 6)] == alone
    assert [together[i] for i in (1, 3, 5, 7)] == [[]] * 4
    preds = predictor.predict(mixed, constrained=constrained)
    assert [p.command for p in preds[::2]] == COMMANDS[:4] and all(p.error is None for p in preds[::2])
    for p in preds[1::2]:
        assert p.command is None and p.error and p.calls is None
        json.dumps(p.to_json(), ensure_ascii=False).encode("utf-8")  # printable, whatever the prompt held


def test_scenic_run_file_with_an_undecodable_line(tmp_path, tmp_path_factory):
    _, out, _ = exported("t5-micro", tmp_path_factory)
    path = tmp_path / "in.txt"
    path.write_bytes(PROMPTS[0].encode() + b"\n" + b"turn on the \xff\xfe lamp\n" + PROMPTS[1].encode() + b"\n")
    res = CliRunner().invoke(app, ["run", "--file", str(path), "--model", str(out)])
    assert res.exit_code == 1
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["command"] for r in rows] == [COMMANDS[0], None, COMMANDS[1]]
    assert "not valid Unicode text" in rows[1]["error"] and "\\udcff" in rows[1]["prompt"]
    assert "1 of 3 request(s) could not be read" in res.stderr
