"""Evaluation: metrics on hand-made predictions, the report files, and the end-to-end path with a trained micro model."""

from __future__ import annotations

import json

import pytest
import torch

from scenic import ScenicError
from scenic.evaluate import compute_report, evaluate, normalize_command, write_predictions, write_report
from tiny_data import make_memorise_dataset
from cli_helpers import run_cli

ON = 'HassTurnOn name="Kettle"'
LIGHT = 'HassLightSet area="Kitchen" brightness=40'


def rec(command: str, category: str = "direct", prompt: str = "p") -> dict:
    return {"prompt": prompt, "command": command, "category": category}


def test_normalisation_is_nfkc_and_whitespace():
    assert normalize_command('  HassLightSet   area="Kitchen"\tbrightness=４０ ') == LIGHT  # full-width digits
    assert normalize_command("ＨａｓｓＴｕｒｎＯｎ") == "HassTurnOn"
    assert normalize_command('HassTurnOn name="kettle"') != ON  # case is meaningful


def test_em_at_1_and_at_5(home):
    records = [rec(ON), rec(ON), rec(ON), rec(ON)]
    preds = [[ON, "x"], ["x", "y", "z", "w", ON], ["x", "y", "z", "w", "v", ON], [" HassTurnOn  name=\"Kettle\""]]
    r = compute_report(records, preds, home)
    assert r["n"] == 4
    assert r["em1"] == pytest.approx(2 / 4)  # first and the whitespace-normalised last
    assert r["em5"] == pytest.approx(3 / 4)  # gold at rank 5 counts, rank 6 does not


def test_semantic_match_ignores_slot_order_and_validity_uses_the_home(home):
    reordered = 'HassLightSet brightness=40 area="Kitchen"'
    records = [rec(LIGHT), rec(ON), rec('HassTurnOn name="Nowhere Lamp"')]
    preds = [[reordered], ['HassTurnOn name="Nowhere Lamp"'], ['HassTurnOn name="Nowhere Lamp"']]
    r = compute_report(records, preds, home)
    assert r["em1"] == pytest.approx(1 / 3)  # only the third is the same string
    assert r["semantic"] == pytest.approx(2 / 3)  # the reordered one and the third
    assert r["validity"] == pytest.approx(1 / 3)  # "Nowhere Lamp" is not in the home; the reordered one is valid
    assert r["validity_against_home"] is True
    no_home = compute_report(records, preds, None)
    assert no_home["validity"] == 1.0 and no_home["validity_against_home"] is False  # parse-only


def test_confusion_kinds(home):
    cases = [
        (ON, "HassTurnOn name=", "unparseable"),
        (ON, ON + ' ; HassTurnOff name="Kettle"', "call_count"),
        (ON, 'HassTurnOff name="Kettle"', "intent"),
        (ON, 'HassTurnOn name="Coffee Maker"', "target"),
        (LIGHT, 'HassLightSet area="Kitchen" brightness=50', "value"),
        (LIGHT, 'HassLightSet brightness=40 area="Kitchen"', "format"),
        ("dim the lights (opaque)", "something else", "opaque"),
        (ON, ON, None),
    ]
    records = [rec(g, category="compound" if i % 2 else "direct", prompt=f"p{i}") for i, (g, _, _) in enumerate(cases)]
    r = compute_report(records, [[p] for _, p, _ in cases], home)
    kinds = r["confusion"]["kinds"]
    assert kinds == {k: 1 for k in ("unparseable", "call_count", "intent", "target", "value", "format", "opaque")}
    assert r["confusion"]["wrong"] == 7
    assert r["confusion"]["examples"]["target"][0] == {"prompt": "p3", "gold": ON,
                                                       "predicted": 'HassTurnOn name="Coffee Maker"',
                                                       "category": "compound"}
    # opaque gold: validity and semantic are not applicable, EM still counts
    assert r["opaque"] == 1
    assert r["per_category"]["compound"]["n"] == 4 and r["per_category"]["direct"]["n"] == 4


def test_per_category_and_opaque_only(home):
    records = [rec(ON, "direct"), rec(ON, "noisy"), rec(LIGHT, "noisy"), rec("opaque thing", "imported")]
    preds = [[ON], [ON], ["HassLightSet"], ["opaque thing"]]
    r = compute_report(records, preds, home)
    assert r["per_category"]["direct"] == {"n": 1, "em1": 1.0, "em5": 1.0, "validity": 1.0, "semantic": 1.0}
    assert r["per_category"]["noisy"]["em1"] == 0.5 and r["per_category"]["noisy"]["validity"] == 0.5
    assert r["per_category"]["imported"] == {"n": 1, "em1": 1.0, "em5": 1.0, "validity": None, "semantic": None}
    with pytest.raises(ValueError, match="1 records but 2 predictions"):
        compute_report(records[:1], preds[:2], home)


def test_write_report_json_and_markdown(home, tmp_path):
    r = compute_report([rec(ON), rec(LIGHT, "indirect")], [[ON], ['HassLightSet area="Kitchen" brightness=41']], home)
    path = write_report(r, tmp_path / "sub" / "report.json")
    assert json.loads(path.read_text())["em1"] == 0.5
    md = (tmp_path / "sub" / "report.md").read_text()
    assert "| EM@1 | 50.00% |" in md and "| indirect | 1 | 0.00%" in md and "### value" in md


def test_write_predictions_keeps_every_example_with_its_beams_and_outcome(home, tmp_path):
    records = [rec(ON, prompt="kettle on"), rec(LIGHT, "indirect", prompt="bright kitchen")]
    preds = [[ON, LIGHT], ['HassLightSet area="Kitchen" brightness=41', LIGHT]]
    rows: list = []
    compute_report(records, preds, home, rows_out=rows)
    path = write_predictions(rows, preds, tmp_path / "sub" / "predictions.jsonl")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["prompt"] for x in lines] == ["kettle on", "bright kitchen"]
    assert lines[0] == {"prompt": "kettle on", "gold": ON, "category": "direct", "em1": True, "em5": True,
                        "error": None, "predictions": [ON, LIGHT]}
    assert (lines[1]["em1"], lines[1]["em5"], lines[1]["error"]) == (False, True, "value")
    assert lines[1]["predictions"][1] == LIGHT
    wrong = write_predictions(rows, preds, tmp_path / "wrong.jsonl", wrong_only=True).read_text().splitlines()
    assert [json.loads(x)["prompt"] for x in wrong] == ["bright kitchen"]


# ---- end to end with a real trained micro model -----------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from scenic.train import TrainConfig, train

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # micro models: threads only add contention on a shared 2-core machine
    root = tmp_path_factory.mktemp("e2e")
    data = make_memorise_dataset(root / "data")
    out = train(TrainConfig(data=data, out=root / "ck", preset="llama-micro", max_steps=250, batch_size=8, lr=3e-3,
                            warmup_steps=5, eval_every=50, eval_examples=8, triplet_lambda=0.0, device="cpu"),
                progress=False)
    yield data, out
    torch.set_num_threads(before)


def test_evaluate_end_to_end(trained, tmp_path):
    data, ck = trained
    report = evaluate(ck, data_dir=data, split="test", beams=5, progress=False)
    assert report["n"] == 8 and report["em1"] == 1.0 and report["em5"] == 1.0
    assert report["validity"] == 1.0 and report["validity_against_home"] and report["semantic"] == 1.0
    assert report["settings"]["beams"] == 5 and report["settings"]["num_return"] == 5
    # the same records through --file, with a loaded model object instead of a folder
    from scenic.models import CommandModel

    r2 = evaluate(CommandModel.load(ck), file=data / "test.jsonl", beams=2, progress=False, limit=3)
    assert r2["n"] == 3 and r2["em1"] == 1.0


def test_evaluate_errors(trained, tmp_path):
    data, ck = trained
    with pytest.raises(ScenicError, match="no such dataset folder"):
        evaluate(ck, data_dir=tmp_path / "nope", progress=False)
    with pytest.raises(ScenicError, match="exactly one of"):
        evaluate(ck, progress=False)
    with pytest.raises(ScenicError, match="no such model folder"):
        evaluate(tmp_path / "nope", data_dir=data, progress=False)
    with pytest.raises(ScenicError, match="not a SCENIC checkpoint"):
        evaluate(data, data_dir=data, progress=False)


def test_cli_evaluate(trained, tmp_path, monkeypatch, capsys):
    data, ck = trained
    out = tmp_path / "rep.json"
    preds = tmp_path / "preds.jsonl"
    assert run_cli(monkeypatch, "evaluate", ck, "--data", data, "--out", out, "--beams", 3, "--quiet",
                   "--predictions", preds) == 0
    assert json.loads(out.read_text())["em1"] == 1.0 and (tmp_path / "rep.md").is_file()
    lines = [json.loads(x) for x in preds.read_text().splitlines()]
    assert len(lines) == 8 and all(x["em1"] and len(x["predictions"]) == 3 for x in lines)
    assert "EM@1 100.00%" in capsys.readouterr().out
    assert run_cli(monkeypatch, "evaluate", ck, "--file", tmp_path / "none.jsonl") == 2
    assert "none.jsonl: no such file" in capsys.readouterr().err
    assert run_cli(monkeypatch, "evaluate", ck, "--data", data, "--set", "beam=3") == 2
    assert "unknown key 'beam'" in capsys.readouterr().err


def test_evaluate_dispatches_an_export_folder_to_the_runtime(trained, tmp_path):
    """A folder with export.json is evaluated through scenic.runtime (onnxruntime), with the same results."""
    from scenic.export import export

    data, ck = trained
    export(ck, tmp_path / "ex")
    report = evaluate(tmp_path / "ex", data_dir=data, beams=3, progress=False)
    assert report["settings"]["device"].startswith("onnxruntime")
    assert report["em1"] == 1.0 and report["validity"] == 1.0 and report["validity_against_home"]
