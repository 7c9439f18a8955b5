"""The CLI against a careless or hostile user (issue 22): every case must exit with the expected code, print exactly
one line (never a traceback), and leave every file that existed before exactly as it was.

One tiny memorised T5 (tests/export_helpers.py) with its export, a compressed copy, a generated dataset and an
interrupted training run make up the "world"; each test copies it, hashes every file, runs `scenic ...` in-process,
and hashes again. A full disk is real: the stage's temporary folder gets a file that is a link to /dev/full, so the
kernel answers the stage's own write with ENOSPC.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from cli_helpers import run_cli
from export_helpers import exported, torch_one_thread  # noqa: F401 (a fixture)
from scenic.artifacts import sha256_file

pytestmark = pytest.mark.usefixtures("torch_one_thread")

NOTES = "my own notes, not SCENIC's\n"


# ---- the world, made once per module ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Folders the cases attack: ckpt (a trained checkpoint), q8 (its INT8 compressed copy), export (with bundles),
    data (a generated dataset), run (an interrupted training run) and tiny (the dataset that run trains on)."""
    from scenic.compress import CompressConfig, compress
    from tiny_data import make_memorise_dataset

    root = tmp_path_factory.mktemp("world")
    _, export_dir, _ = exported("t5-micro", tmp_path_factory)
    ckpt = export_dir.parent / "ckpt"
    compress(ckpt, root / "q8", CompressConfig(quant="int8", device="cpu"), progress=False)
    shutil.copytree(ckpt, root / "ckpt")
    shutil.copytree(export_dir, root / "export")
    mp = pytest.MonkeyPatch()
    try:
        assert run_cli(mp, "data", "generate", "--out", root / "data", "-n", "40", "--seed", "1") == 0
        make_memorise_dataset(root / "tiny")
        assert run_cli(mp, "train", "--data", root / "tiny", "--out", root / "run", "--preset", "t5-micro",
                       "--max-steps", "4", "--batch-size", "4", "--device", "cpu", "--stop-at", "2", "--quiet",
                       "--set", "eval_every=0", "--set", "eval_examples=0", "--set", "checkpoint_every=0") == 0
    finally:
        mp.undo()
    assert (root / "run" / "state" / "trainer.pt").is_file()
    return root


@pytest.fixture
def w(world, tmp_path):
    """A private copy of the world (plus a folder of the user's own files, mine/) for one test."""
    dst = tmp_path / "w"
    shutil.copytree(world, dst, symlinks=True)
    (dst / "mine").mkdir()
    (dst / "mine" / "notes.txt").write_text(NOTES, encoding="utf-8")
    return dst


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (hidden ones too) with its sha256; links by their target."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = sha256_file(p)
    return out


def scenic(monkeypatch, capsys, *args, stdin: bytes | None = None) -> tuple[int, str]:
    """Run `scenic ARGS` in-process; return (exit code, stderr)."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    capsys.readouterr()
    code = run_cli(monkeypatch, *args)
    return code, capsys.readouterr().err


def refused(code: int, err: str, expected_code: int = 2, *words: str, alone: bool = True) -> str:
    """The expected exit code, no traceback, and the error as the one last line of stderr (`alone`: the only line;
    a command that started work may have printed progress lines before it). Returns the line."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected_code, err
    assert "Traceback" not in err and lines, err
    assert len(lines) == 1 if alone else sum(line.startswith(("error:", "internal error:")) for line in lines) <= 1, err
    for word in words:
        assert word in lines[-1], lines[-1]
    return lines[-1]


def attack(w: Path, monkeypatch, capsys, *args, code: int = 2, words=(), stdin: bytes | None = None,
           alone: bool = True) -> str:
    """The common case: refused with one line, and not one byte of the world changed or was added."""
    before = snapshot(w)
    line = refused(*scenic(monkeypatch, capsys, *args, stdin=stdin), code, *words, alone=alone)
    assert snapshot(w) == before
    return line


def flip_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0x01
    path.write_bytes(bytes(data))


def rehash(folder: Path, name: str) -> None:
    """Make the manifest agree with a changed file (an attacker, or a careless script, who knows the format)."""
    m = json.loads((folder / "manifest.json").read_text())
    m["files"][name] = {"bytes": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
    (folder / "manifest.json").write_text(json.dumps(m))


# ---- data loss -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [
    ("data", "generate", "-n", "20", "--out", "{out}"),
    ("data", "import", "{data}/train.jsonl", "--format", "jsonl", "--out", "{out}"),
    ("export", "{ckpt}", "--out", "{out}"),
    ("compress", "{ckpt}", "--quant", "int8", "--out", "{out}"),
    ("train", "--data", "{tiny}", "--preset", "t5-micro", "--max-steps", "1", "--out", "{out}"),
])
@pytest.mark.parametrize("force", [False, True])
def test_a_folder_with_the_users_files_is_never_replaced(w, monkeypatch, capsys, command, force):
    args = [a.format(out=w / "mine", data=w / "data", ckpt=w / "ckpt", tiny=w / "tiny") for a in command]
    attack(w, monkeypatch, capsys, *args, *(["--force"] if force else []), words=("mine", "not be replaced"))


@pytest.mark.parametrize("force", [False, True])
def test_export_into_the_folder_that_holds_the_checkpoint_is_refused(w, monkeypatch, capsys, force):
    (w / "notes.txt").write_text(NOTES, encoding="utf-8")
    attack(w, monkeypatch, capsys, "export", w / "ckpt", "--out", w, *(["--force"] if force else []),
           words=("an input of this command",))
    attack(w, monkeypatch, capsys, "export", w / "ckpt", "--out", w / "ckpt" / "onnx", words=("inside",))


def test_a_scenic_artifact_with_foreign_files_is_not_replaced_even_with_force(w, monkeypatch, capsys):
    (w / "data" / "notes.txt").write_text(NOTES, encoding="utf-8")
    attack(w, monkeypatch, capsys, "data", "generate", "-n", "20", "--out", w / "data", "--force",
           words=("notes.txt", "does not list"))


def test_another_kind_of_artifact_needs_force_and_an_output_file_is_refused(w, monkeypatch, capsys):
    attack(w, monkeypatch, capsys, "data", "generate", "-n", "20", "--out", w / "ckpt", words=("--force",))
    attack(w, monkeypatch, capsys, "data", "generate", "-n", "20", "--out", w / "mine" / "notes.txt",
           words=("not a folder",))
    code, err = scenic(monkeypatch, capsys, "data", "generate", "-n", "20", "--out", w / "ckpt", "--force")
    assert code == 0, err
    assert json.loads((w / "ckpt" / "manifest.json").read_text())["stage"] == "data"


def test_a_pipeline_root_with_the_users_files_is_refused(w, monkeypatch, capsys):
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "quickstart.yaml"
    attack(w, monkeypatch, capsys, "pipeline", recipe, "--out", w / "mine", "--quiet", words=("pipeline_state.json",))


def test_same_kind_is_replaced_and_a_killed_runs_leftovers_are_cleaned(w, monkeypatch, capsys):
    """The positive control: a dataset folder is regenerated in place, and the temporary folder that a SIGKILLed
    run left beside it is removed by this run (one whose process still lives would be kept)."""
    code = ("import os, signal, sys; from scenic.artifacts import atomic_dir\n"
            "with atomic_dir(sys.argv[1]) as tmp:\n"
            "    (tmp / 'half.jsonl').write_text('x')\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", code, str(w / "data")], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    leftovers = [p for p in w.iterdir() if p.name.startswith(".data.") and p.name.endswith(".partial")]
    assert len(leftovers) == 1
    notes = (w / "mine" / "notes.txt").read_bytes()
    code, err = scenic(monkeypatch, capsys, "data", "generate", "-n", "20", "--seed", "3", "--out", w / "data")
    assert code == 0, err
    assert json.loads((w / "data" / "manifest.json").read_text())["seed"] == 3
    assert not leftovers[0].exists() and (w / "mine" / "notes.txt").read_bytes() == notes


# ---- code execution --------------------------------------------------------------------------------------------
class _Payload:
    """Unpickling this calls open(marker, "w"): a file appears if the loader runs code from the file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_trainer_state_is_refused_not_executed(w, monkeypatch, capsys, tmp_path):
    import torch

    marker = tmp_path / "pwned"
    run_config = w / "run" / "state" / "train_config.json"  # the copied run, as if made here (so resume gets as
    config = json.loads(run_config.read_text())  # far as loading the state)
    run_config.write_text(json.dumps({**config, "data": str(w / "tiny"), "out": str(w / "run")}))
    with open(w / "run" / "state" / "trainer.pt", "wb") as f:  # a real torch zip file whose pickle runs code
        torch.save({"model": _Payload(marker)}, f)
    plain = w / "run-plain"
    shutil.copytree(w / "run", plain)
    (plain / "state" / "trainer.pt").write_bytes(pickle.dumps(_Payload(marker)))  # and a bare pickle
    for run in (w / "run", plain):
        attack(w, monkeypatch, capsys, "train", "--data", w / "tiny", "--out", run, "--preset", "t5-micro",
               "--max-steps", "4", "--batch-size", "4", "--device", "cpu", "--resume", "--quiet",
               "--set", "eval_every=0", "--set", "eval_examples=0", "--set", "checkpoint_every=0",
               words=("refused to load", "asks to run code"), alone=False)  # after train's one line of model facts
        assert not marker.exists()


# ---- silent wrong results: corrupt or mismatched checkpoints -------------------------------------------------------
@pytest.mark.parametrize("command", [
    ("evaluate", "{ckpt}", "--data", "{data}", "--limit", "4", "--quiet"),
    ("compress", "{ckpt}", "--quant", "int8", "--out", "{new}"),
    ("export", "{ckpt}", "--out", "{new}"),
])
def test_flipped_bytes_in_weights_are_refused_before_use(w, monkeypatch, capsys, command):
    flip_byte(w / "ckpt" / "model.safetensors")
    args = [a.format(ckpt=w / "ckpt", data=w / "data", new=w / "new") for a in command]
    attack(w, monkeypatch, capsys, *args, words=("model.safetensors", "sha256 does not match"))


def test_flipped_int8_weights_of_a_compressed_checkpoint_are_refused(w, monkeypatch, capsys):
    flip_byte(w / "q8" / "quantized_weights.safetensors")
    attack(w, monkeypatch, capsys, "evaluate", w / "q8", "--data", w / "data", "--limit", "4", "--quiet",
           words=("quantized_weights.safetensors", "sha256"))


def test_a_wrong_kind_in_scenic_model_json_is_refused(w, monkeypatch, capsys):
    meta = w / "ckpt" / "scenic_model.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "kind": "decoder-only"}))
    attack(w, monkeypatch, capsys, "evaluate", w / "ckpt", "--data", w / "data", "--quiet",
           words=("scenic_model.json", "refusing to load"))
    rehash(w / "ckpt", "scenic_model.json")  # consistent with its manifest, still the wrong kind
    attack(w, monkeypatch, capsys, "evaluate", w / "ckpt", "--data", w / "data", "--quiet",
           words=("decoder-only", "config.json"))


# ---- tracebacks that must be one line ------------------------------------------------------------------------------
def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:1000])


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _garbage(p: Path) -> None:
    p.write_bytes(b"\x00\xff not json \xfe")


@pytest.mark.parametrize("name, damage", [
    ("model.safetensors", _truncate), ("model.safetensors", _empty), ("model.safetensors", Path.unlink),
    ("scenic_model.json", _garbage), ("tokenizer.json", Path.unlink), ("tokenizer.json", _garbage),
    ("config.json", _garbage),
])
@pytest.mark.parametrize("verify", [True, False])
def test_damaged_checkpoint_files_are_one_line(w, monkeypatch, capsys, name, damage, verify):
    damage(w / "ckpt" / name)
    flags = [] if verify else ["--no-verify"]
    line = attack(w, monkeypatch, capsys, *flags, "evaluate", w / "ckpt", "--data", w / "data", "--limit", "2",
                  "--quiet")
    assert str(w / "ckpt") in line


def test_binary_recipe_home_and_graph_are_one_line(w, monkeypatch, capsys):
    binary = w / "mine" / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    attack(w, monkeypatch, capsys, "data", "generate", "--home", binary, "--out", w / "new", words=("binary.yaml",))
    attack(w, monkeypatch, capsys, "train", "--recipe", binary, "--data", w / "tiny", "--out", w / "new",
           words=("binary.yaml", "UTF-8"))
    graph = w / "export" / "int8-dynamic" / "decoder.onnx"
    graph.write_bytes(graph.read_bytes()[:5000])
    attack(w, monkeypatch, capsys, "--no-verify", "run", "hi", "--model", w / "export" / "int8-dynamic",
           words=("onnxruntime cannot load",))


def test_a_checkpoint_without_a_manifest_is_refused_unless_no_verify(w, monkeypatch, capsys):
    (w / "ckpt" / "manifest.json").unlink()
    attack(w, monkeypatch, capsys, "evaluate", w / "ckpt", "--data", w / "data", "--quiet", words=("--no-verify",))
    code, err = scenic(monkeypatch, capsys, "--no-verify", "evaluate", w / "ckpt", "--data", w / "data",
                       "--limit", "2", "--quiet")
    assert code == 0, err


def _link_to_dev_full(monkeypatch, name: str) -> None:
    """The next atomic folder a stage opens holds `name` as a link to /dev/full: the stage's own write of that file
    gets ENOSPC from the kernel, exactly as on a full disk."""
    real = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        folder = real(*args, **kwargs)
        if folder.endswith(".partial"):
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).symlink_to("/dev/full")
            monkeypatch.setattr(tempfile, "mkdtemp", real)
        return folder

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("name, command", [
    ("train.jsonl", ("data", "generate", "-n", "20", "--out", "{data}")),
    ("tokenizer.json", ("export", "{ckpt}", "--out", "{export}")),
    ("state/trainer.pt", ("train", "--data", "{tiny}", "--preset", "t5-micro", "--max-steps", "3", "--batch-size",
                          "4", "--device", "cpu", "--stop-at", "1", "--quiet", "--set", "eval_examples=0",
                          "--out", "{new}")),
])
def test_a_full_disk_is_one_line_and_replaces_nothing(w, monkeypatch, capsys, name, command):
    if name.startswith("state/"):  # train's state folder is an atomic folder of its own inside --out
        name = name.removeprefix("state/")
    _link_to_dev_full(monkeypatch, name)
    args = [a.format(data=w / "data", ckpt=w / "ckpt", export=w / "export", tiny=w / "tiny", new=w / "new")
            for a in command]
    before = snapshot(w)
    line = refused(*scenic(monkeypatch, capsys, *args), 2, "no space left on the device",
                   alone=command[0] == "data")  # train and export print a line of facts as they start
    after = snapshot(w)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing replaced or damaged
    assert not [k for k in after if k not in before and ".partial" in k]  # and no half-written folder left
    assert line.startswith("error: ")


def test_non_utf8_requests_are_one_line(w, monkeypatch, capsys):
    binary = b"\xff\xfe\x00\x01turn on\x80 the light\n"
    (w / "mine" / "requests.txt").write_bytes(binary)
    attack(w, monkeypatch, capsys, "run", "--model", w / "export", "--file", w / "mine" / "requests.txt",
           words=("requests.txt", "not UTF-8"))
    attack(w, monkeypatch, capsys, "run", "--model", w / "export", stdin=binary, words=("stdin", "not UTF-8"))


def test_export_json_missing_a_key_is_one_line(w, monkeypatch, capsys):
    info = json.loads((w / "export" / "export.json").read_text())
    del info["special_ids"]
    (w / "export" / "export.json").write_text(json.dumps(info))
    attack(w, monkeypatch, capsys, "run", "turn on the light", "--model", w / "export", words=("export.json",))
    rehash(w / "export", "export.json")
    attack(w, monkeypatch, capsys, "run", "turn on the light", "--model", w / "export",
           words=("missing special_ids",))


def _bundle(w: Path) -> Path:
    return next((w / "export" / "bundles").glob("*int8-dynamic.tar.zst"))


def _rewrite_bundle(src: Path, dst: Path, change) -> None:
    """Rewrite a .tar.zst bundle entry by entry, letting `change(name, data)` alter (or add) entries."""
    with open(src, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as zr, \
            tarfile.open(fileobj=zr, mode="r|") as tar:
        entries = [(m.name, tar.extractfile(m).read()) for m in tar if m.isfile()]
    with open(dst, "wb") as f, zstandard.ZstdCompressor().stream_writer(f) as zw, \
            tarfile.open(fileobj=zw, mode="w|") as out:
        for name, data in change(entries):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def test_a_bundle_runs_and_a_tampered_or_unsafe_one_is_one_line(w, monkeypatch, capsys, tmp_path):
    bundle = _bundle(w)
    code, err = scenic(monkeypatch, capsys, "run", "turn on the kitchen ceiling light", "--model", bundle)
    assert code == 0, err

    def tamper(entries):
        return [(n, bytes(d[:100]) + bytes([d[100] ^ 1]) + d[101:] if n.endswith("decoder.onnx") else d)
                for n, d in entries]

    tampered = w / "mine" / "tampered.tar.zst"
    _rewrite_bundle(bundle, tampered, tamper)
    attack(w, monkeypatch, capsys, "run", "hi", "--model", tampered, words=("decoder.onnx", "sha256"))

    escape = w / "mine" / "escape.tar.zst"
    _rewrite_bundle(bundle, escape, lambda entries: entries + [("../../../evil.txt", b"gotcha")])
    attack(w, monkeypatch, capsys, "run", "hi", "--model", escape, words=("unsafe",))
    assert not list(tmp_path.parent.rglob("evil.txt"))

    unsafe_zip = w / "mine" / "escape.zip"
    with zipfile.ZipFile(unsafe_zip, "w") as zf:
        zf.writestr("x/../../evil.txt", "gotcha")
    attack(w, monkeypatch, capsys, "run", "hi", "--model", unsafe_zip, words=("unsafe",))

    broken = w / "mine" / "broken.tar.zst"
    broken.write_bytes(bundle.read_bytes()[:2000])
    attack(w, monkeypatch, capsys, "run", "hi", "--model", broken, words=("damaged bundle",))


# ---- interrupts ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signum, code, line", [(signal.SIGINT, 130, "interrupted"),
                                               (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_or_sigterm_during_export_exits_non_zero_and_leaves_nothing(w, monkeypatch, capsys, signum, code, line):
    """A real signal, delivered while the real ONNX export runs (the wrapper only sends it)."""
    import scenic.export.onnx_encdec as encdec

    real = encdec.export_encoder_decoder

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(encdec, "export_encoder_decoder", interrupted)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # pytest-xdist workers may ignore SIGINT
    try:
        said = attack(w, monkeypatch, capsys, "export", w / "ckpt", "--out", w / "new", code=code)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert said == line


# ---- --resume against another model's folder -----------------------------------------------------------------------
def test_resume_against_another_models_folder_names_both(w, monkeypatch, capsys):
    common = ("--data", w / "tiny", "--batch-size", "4", "--device", "cpu", "--quiet",
              "--set", "eval_every=0", "--set", "eval_examples=0", "--set", "checkpoint_every=0")
    finished = w / "finished"
    code, err = scenic(monkeypatch, capsys, "train", *common, "--out", finished, "--preset", "t5-micro",
                       "--max-steps", "2")
    assert code == 0, err
    line = attack(w, monkeypatch, capsys, "train", *common, "--resume", "--out", finished, "--preset", "llama-micro",
                  "--max-steps", "2", words=("--resume", "t5-micro", "llama-micro", "finished"))
    assert str(finished) in line
    attack(w, monkeypatch, capsys, "train", *common, "--resume", "--out", w / "run", "--preset", "llama-micro",
           "--max-steps", "4", words=("interrupted run", "t5-micro", "llama-micro"))
    code, err = scenic(monkeypatch, capsys, "train", *common, "--resume", "--out", finished, "--preset", "t5-micro",
                       "--max-steps", "2")
    assert code == 0 and "nothing to resume" in err, err


# ---- --debug -------------------------------------------------------------------------------------------------------
def test_debug_shows_the_traceback(w, monkeypatch, capsys):
    flip_byte(w / "ckpt" / "model.safetensors")
    code, err = scenic(monkeypatch, capsys, "--debug", "evaluate", w / "ckpt", "--data", w / "data", "--quiet")
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")

