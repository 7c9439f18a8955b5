"""Training: the triplet loss, deterministic batches, learning, memorisation, resume, the after_step hook, the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from scenic import ScenicError
from scenic.models import CommandModel
from scenic.train import Batch, BatchSource, LoopConfig, TrainConfig, train, train_loop, triplet_loss
from scenic.train.data import load_split
from tiny_data import make_dataset, make_memorise_dataset
from export_helpers import torch_one_thread  # noqa: F401 (a fixture)
from cli_helpers import run_cli


pytestmark = pytest.mark.usefixtures("torch_one_thread")  # micro models lose a lot to threads on 2 cores


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("tiny") / "data")


def cfg(data, out, **kw) -> TrainConfig:
    base = dict(data=data, out=out, preset="t5-micro", max_steps=20, batch_size=8, lr=3e-3, warmup_steps=5,
                eval_every=10, eval_examples=6, log_every=5, device="cpu")
    return TrainConfig(**{**base, **kw})


# ---- loss ------------------------------------------------------------------------------------------------------
def _unit(*rows):
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_triplet_loss_is_zero_when_the_margin_is_met():
    a = _unit([1.0, 0.0])
    p = _unit([1.0, 0.1])  # d(a,p) ~ 0.005
    n = _unit([0.0, 1.0])  # d(a,n) = 1
    assert triplet_loss(a, p, n, margin=0.5).item() == 0.0


def test_triplet_loss_is_positive_and_exact_when_the_margin_is_not_met():
    a, p, n = _unit([1.0, 0.0]), _unit([0.0, 1.0]), _unit([1.0, 0.0])  # d(a,p) = 1, d(a,n) = 0
    assert triplet_loss(a, p, n, margin=0.2).item() == pytest.approx(1.2)
    # margin only half met: 0.5 + d(a,p)=0 - d(a,n)=0.293 -> 0.207
    loss = triplet_loss(_unit([1.0, 0.0]), _unit([1.0, 0.0]), _unit([1.0, 1.0]), margin=0.5)
    assert loss.item() == pytest.approx(0.5 - (1 - 2 ** -0.5), abs=1e-6)


# ---- data ------------------------------------------------------------------------------------------------------
def test_batches_are_a_pure_function_of_seed_and_step(data):
    rows = load_split(data, "train")
    a, b = BatchSource(rows, 7, seed=3), BatchSource(rows, 7, seed=3)
    assert [a(s).prompts for s in (5, 0, 9)] == [b(s).prompts for s in (5, 0, 9)]
    epoch = sorted(i for s in range(len(rows)) for i in a.indices(s))  # len(rows) steps of 7 = 7 epochs
    assert epoch == sorted(list(range(len(rows))) * 7)
    assert BatchSource(rows, 7, seed=4)(0).prompts != a(0).prompts


def test_triplets_attach_to_their_anchor_rows(data):
    rows = load_split(data, "train")
    anchor = rows[0]
    trip = {"anchor": anchor["prompt"], "positive": "P", "negative": "N", "command": anchor["command"]}
    source = BatchSource(rows, len(rows), seed=0, triplets=[trip])
    batch = source(0)
    assert sorted(batch.prompts) == sorted(r["prompt"] for r in rows)  # rows without a triplet are still trained
    i = batch.prompts.index(anchor["prompt"])
    assert batch.triplet_rows == [i] and batch.positives[i] == "P" and batch.negatives[i] == "N"
    assert batch.num_sequences == len(rows) + 1 and source.triplet_coverage == pytest.approx(1 / len(rows))


def test_bad_data_folders_are_clear_errors(tmp_path):
    with pytest.raises(ScenicError, match="no such dataset folder"):
        train(cfg(tmp_path / "nope", tmp_path / "out"), progress=False)
    (tmp_path / "d").mkdir()
    with pytest.raises(ScenicError, match="no train.jsonl"):
        train(cfg(tmp_path / "d", tmp_path / "out"), progress=False)
    (tmp_path / "d" / "train.jsonl").write_text('{"prompt": "x", "command": "HassTurnOn"}\n{"prompt": "y"}\n')
    with pytest.raises(ScenicError, match=r"train.jsonl: line 2: missing string field 'command'"):
        train(cfg(tmp_path / "d", tmp_path / "out", examples="pairs"), progress=False)


# ---- learning --------------------------------------------------------------------------------------------------
def test_loss_falls_and_output_folder_is_complete(data, tmp_path):
    out = train(cfg(data, tmp_path / "out", max_steps=40, eval_every=20), progress=False)
    log = json.loads((out / "train_log.json").read_text())
    losses = [h["loss"] for h in log["history"] if "loss" in h]
    assert losses[-1] < 0.6 * losses[0]
    assert all("triplet" in h for h in log["history"] if "loss" in h)  # triplets.jsonl present: the term is on
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "train" and manifest["inputs"]["data"]
    assert manifest["summary"]["parameters"] == CommandModel.load(out).num_parameters
    assert manifest["config"]["preset"] == "t5-micro"
    assert {"model.safetensors", "tokenizer.json", "home.yaml", "scenic_model.json"} <= set(manifest["files"])
    assert not (out / "state").exists() and not (out / "best").exists()
    with pytest.raises(ScenicError, match="already holds a SCENIC train artifact .pass --force"):
        train(cfg(data, out), progress=False)
    finished = cfg(data, out, max_steps=40, eval_every=20)
    assert train(finished, progress=False, resume=True) == out  # finished: nothing to do
    with pytest.raises(ScenicError, match="holds a different, finished model .*max_steps 40 there, 20 asked"):
        train(cfg(data, out), progress=False, resume=True)  # another run's folder: an error naming both


def test_memorises_a_few_examples_exactly(tmp_path):
    from scenic.evaluate import evaluate

    data = make_memorise_dataset(tmp_path / "mem")
    out = train(cfg(data, tmp_path / "out", preset="llama-micro", max_steps=250, eval_every=50, eval_examples=8,
                    triplet_lambda=0.0), progress=False)
    assert CommandModel.load(out).info["val_em"] == 1.0
    report = evaluate(out, data_dir=data, split="test", beams=2, progress=False)
    assert report["em1"] == 1.0 and report["em5"] == 1.0 and report["validity"] == 1.0


def test_resume_reproduces_an_uninterrupted_run(data, tmp_path):
    c_straight = cfg(data, tmp_path / "a", max_steps=16, eval_every=8, checkpoint_every=0)
    straight = train(c_straight, progress=False)
    c_split = cfg(data, tmp_path / "b", max_steps=16, eval_every=8, checkpoint_every=0)
    train(c_split, progress=False, stop_at_step=7)
    assert json.loads((tmp_path / "b" / "state" / "state.json").read_text())["step"] == 7
    with pytest.raises(ScenicError, match="interrupted run"):
        train(c_split, progress=False)
    resumed = train(c_split, progress=False, resume=True)
    sa = CommandModel.load(straight).model.state_dict()
    sb = CommandModel.load(resumed).model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    la = json.loads((straight / "train_log.json").read_text())["history"]
    lb = json.loads((resumed / "train_log.json").read_text())["history"]
    assert la == lb


def test_train_loop_hook_and_existing_model(data, tmp_path):
    """The compression stage's use: start from a trained CommandModel, keep a mask applied after every step."""
    out = train(cfg(data, tmp_path / "base", max_steps=5, eval_examples=0), progress=False)
    cm = CommandModel.load(out)
    tok_before = cm.tokenizer.to_str()
    weight = cm.model.get_encoder().block[0].layer[1].DenseReluDense.wi.weight
    mask = (torch.arange(weight.numel()).reshape(weight.shape) % 2).bool()
    before = weight.detach().clone()
    calls = []

    def reapply(module):
        calls.append(module)
        with torch.no_grad():
            weight.masked_fill_(mask, 0.0)

    rows = load_split(data, "train")
    batches = (Batch([r["prompt"] for r in rows[i:i + 4]], [r["command"] for r in rows[i:i + 4]]) for i in range(0, 40, 4))
    result = train_loop(cm, batches, LoopConfig(max_steps=6, lr=1e-3, warmup_steps=0, triplet_lambda=0.0),
                        after_step=reapply, progress=False)
    assert result.completed and result.steps == 6 and len(calls) == 6 and calls[0] is cm.model
    assert (weight[mask] == 0).all() and not torch.equal(weight[~mask], before[~mask])
    assert cm.tokenizer.to_str() == tok_before
    # the same through `train`: init_from keeps the checkpoint's tokenizer and backbone
    ft = train(cfg(data, tmp_path / "ft", max_steps=3, eval_examples=0, init_from=out), progress=False)
    assert (ft / "tokenizer.json").read_text() == (out / "tokenizer.json").read_text()
    assert json.loads((ft / "scenic_model.json").read_text())["init_from"] == str(out)
    with pytest.raises(ScenicError, match="backbone overrides do not apply with init_from"):
        train(cfg(data, tmp_path / "ft2", init_from=out, backbone={"dropout": 0.0}), progress=False)


# ---- CLI -------------------------------------------------------------------------------------------------------
def test_cli_train_errors_and_success(data, tmp_path, monkeypatch, capsys):
    assert run_cli(monkeypatch, "train", "--data", tmp_path / "nope", "--out", tmp_path / "o") == 2
    assert "no such dataset folder" in capsys.readouterr().err
    assert run_cli(monkeypatch, "train", "--data", data, "--out", tmp_path / "o", "--preset", "t5-huge") == 2
    assert "unknown preset 't5-huge'" in capsys.readouterr().err
    assert run_cli(monkeypatch, "train", "--data", data, "--out", tmp_path / "o", "--set", "lamda=0.5") == 2
    assert "unknown key 'lamda'" in capsys.readouterr().err
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("train:\n  preset: llama-micro\n  batch_size: 4\n  eval_examples: 0\n  backbone: {dropout: 0.0}\n")
    code = run_cli(monkeypatch, "train", "--recipe", recipe, "--data", data, "--out", tmp_path / "o",
                   "--max-steps", 3, "--set", "triplet_lambda=0", "--quiet")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "llama-micro" in err and "parameters" in err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["max_steps"] == 3 and manifest["config"]["triplet_lambda"] == 0
    assert manifest["config"]["backbone"]["dropout"] == 0.0
