"""`scenic profile` on real tiny exports: report shape, ratios from the same run, files, errors, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from export_helpers import one_thread, save_checkpoint, train_memoriser, write_dataset
from scenic import ScenicError
from scenic.cli import app, main
from scenic.profile import ProfileConfig, profile, write_profile
from scenic.profile.timing import run_interleaved

COMPONENTS = {"encoder", "decoder_step", "end_to_end"}
LENGTHS = {"short", "long"}
FAST = dict(warmup=1, repeats=3, threads=1, max_seconds_per_group=None)


def _make(tmp_path_factory, preset: str, int8: bool) -> tuple[Path, Path]:
    """(checkpoint, export) of a briefly trained micro model: profiling needs real graphs, not a good model, so
    the INT8 token-agreement gate is off."""
    from scenic.export import ExportConfig, export

    base = tmp_path_factory.mktemp(preset)
    cm = train_memoriser(preset, steps=40)
    ckpt = save_checkpoint(cm, base / "ckpt")
    with one_thread():
        export(ckpt, base / "tiny", ExportConfig(int8=int8, min_token_agreement=0.0, parity_prompts=4,
                                                 calibration_prompts=4, bundle="none"),
               data=write_dataset(base / "data"))
    return ckpt, base / "tiny"


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    return _make(tmp_path_factory, "t5-micro", int8=True)


@pytest.fixture(scope="module")
def report(t5):
    _, export_dir = t5
    cfg = ProfileConfig(artifacts=[str(export_dir / "fp32"), str(export_dir / "int8-dynamic")], batches=[1, 3], **FAST)
    with one_thread():
        return profile(cfg, progress=False)


def test_report_has_every_case_with_percentiles_and_throughput(report, t5):
    names = [a["name"] for a in report["artifacts"]]
    assert names == ["tiny/fp32", "tiny/int8-dynamic"] and report["baseline"] == "tiny/fp32"
    keys = [(r["artifact"], r["component"], r["batch"], r["length"]) for r in report["results"]]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(a, c, b, n) for a in names for c in COMPONENTS for b in (1, 3) for n in LENGTHS}
    for r in report["results"]:
        assert r["n"] == 3
        assert 0 < r["min_ms"] <= r["p50_ms"] <= r["p95_ms"]
        assert r["throughput_per_s"] == pytest.approx(r["batch"] * 1000.0 / r["p50_ms"])
    manifest = json.loads((t5[1] / "manifest.json").read_text())
    for a, variant in zip(report["artifacts"], ("fp32", "int8-dynamic")):
        assert (a["backend"], a["variant"], a["kind"], a["providers"][0]) == \
            ("onnxruntime", variant, "encoder-decoder", "CPUExecutionProvider")
        assert a["size_bytes"] == manifest["variants"][variant]["raw_bytes"]  # the variant's files, not the folder
        assert a["peak_memory"]["peak_rss_mb"] > 0 and a["peak_memory"]["gpu_peak_mb"] is None
    assert report["artifacts"][1]["size_bytes"] < report["artifacts"][0]["size_bytes"]
    env = report["environment"]
    assert env["threads"] == 1 and env["onnxruntime"] and env["cpu_count"]
    assert report["config"]["repeats"] == 3


def test_ratios_are_the_medians_of_the_same_report(report):
    p50 = {(r["artifact"], r["component"], r["batch"], r["length"]): r["p50_ms"] for r in report["results"]}
    for r in report["results"]:
        base = p50[(report["baseline"], r["component"], r["batch"], r["length"])]
        assert r["speedup_vs_baseline"] == pytest.approx(base / r["p50_ms"], rel=1e-12)
        if r["artifact"] == report["baseline"]:
            assert r["speedup_vs_baseline"] == 1.0


def test_profile_files_are_written(report, tmp_path):
    out = write_profile(report, tmp_path / "prof")
    assert json.loads((out / "profile.json").read_text()) == json.loads(json.dumps(report))
    md = (out / "profile.md").read_text()
    for name in ("tiny/fp32", "tiny/int8-dynamic", *COMPONENTS):
        assert name in md
    base_rows = [ln for ln in md.splitlines() if "| tiny/fp32 |" in ln and ln.endswith("x |")]
    assert len(base_rows) == len(COMPONENTS) * 2 * len(LENGTHS) and all(ln.endswith("| 1.00x |") for ln in base_rows)
    assert (out / "profile.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_artifacts_alternate_within_each_case(t5):
    """Side by side: every repeat of a case runs each artifact once, in alternating order."""
    from scenic.profile.ort_backend import ort_cases

    _, export_dir = t5
    prompts = {"short": ["pause the tv"]}
    calls: list[str] = []
    cases = []
    for name, variant in (("a", "fp32"), ("b", "int8-dynamic")):
        made, _ = ort_cases(name, str(export_dir / variant), prompts, [1], threads=1)
        for c in made:
            c.fn = (lambda f, n: lambda: (calls.append(n), f())[1])(c.fn, name)
        cases += made
    run_interleaved(cases, warmup=0, repeats=4)
    per_group = [calls[i:i + 8] for i in range(0, len(calls), 8)]
    assert len(per_group) == 3 and all(g == ["a", "b", "b", "a", "a", "b", "b", "a"] for g in per_group)


def test_decoder_only_prefill_and_fixed_length_cache(tmp_path_factory):
    from scenic.profile.ort_backend import ort_cases

    _, export_dir = _make(tmp_path_factory, "llama-micro", int8=False)
    cases, info = ort_cases("x", str(export_dir), {"long": ["lock the front door and turn off the hallway light"]},
                            [2], threads=1)  # the export root: its default variant
    assert info["variant"] == "fp32" and info["kind"] == "decoder-only"
    by = {c.component: c for c in cases}
    assert set(by) == COMPONENTS and all(c.batch == 2 for c in cases)
    state, logits = by["encoder"].fn()  # the prompt prefill: a cache as long as the prompt
    assert logits.shape[0] == 2 and state.past[0].shape[2] == state.mask.shape[1]
    first, second = by["decoder_step"].fn(), by["decoder_step"].fn()
    np.testing.assert_array_equal(first, second)  # repeats see the same cache, not one a token longer each time
    commands = by["end_to_end"].fn()
    assert len(commands) == 2 and all(isinstance(c[0], str) for c in commands)


def test_bad_input_is_one_line_scenic_error(t5, tmp_path, monkeypatch):
    ckpt, export_dir = t5

    def fails(**kw):
        with pytest.raises(ScenicError) as err:
            profile(ProfileConfig(**{"memory": False, **FAST, **kw}), progress=False)
        assert "\n" not in str(err.value)
        return str(err.value)

    assert "no such artifact folder" in fails(artifacts=[str(tmp_path / "missing")])
    assert "--backend onnxruntime" in fails(artifacts=[str(export_dir)], backend="torch")
    assert "scenic export" in fails(artifacts=[str(ckpt)], backend="onnxruntime")
    assert "distinct name" in fails(artifacts=[str(export_dir), str(export_dir)])
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert "onnxruntime-gpu" in fails(artifacts=[str(export_dir)], device="cuda")
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # `import tensorrt` raises ImportError, as on our machines
    assert "pip install" in fails(artifacts=[str(export_dir)], backend="tensorrt")


def test_cli_profiles_and_writes_files(t5, tmp_path, monkeypatch, capsys):
    _, export_dir = t5
    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["profile", str(export_dir), str(export_dir / "int8-dynamic"), "--batch", "1",
                                   "--repeats", "3", "--threads", "1", "--name", "fp32", "--name", "int8",
                                   "--out", str(out), "--set", "warmup=0", "--set", "memory=false"])
    assert res.exit_code == 0, res.output
    assert "| end_to_end | 1 | long | int8 |" in res.output
    report = json.loads((out / "profile.json").read_text())
    assert [a["name"] for a in report["artifacts"]] == ["fp32", "int8"]
    assert {r["batch"] for r in report["results"]} == {1} and "peak_memory" not in report["artifacts"][0]
    assert (out / "profile.md").is_file() and (out / "profile.png").is_file()

    monkeypatch.setattr(sys, "argv", ["scenic", "profile", str(export_dir), "--backend", "torch"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_profiling_an_export_never_imports_torch(t5, tmp_path):
    """A Jetson runtime install has no torch: `scenic profile EXPORT` must not need it (memory probe included)."""
    _, export_dir = t5
    code = ("import sys; sys.modules['torch'] = None  # any `import torch` now fails\n"
            "from scenic.profile import ProfileConfig, profile, write_profile\n"
            f"cfg = ProfileConfig(artifacts=[{str(export_dir / 'int8-dynamic')!r}], batches=[1], warmup=0, repeats=3, "
            "threads=1)\n"
            f"r = profile(cfg, progress=False); write_profile(r, {str(tmp_path / 'p')!r})\n"
            "assert r['artifacts'][0]['peak_memory']['peak_rss_mb'] > 0, r['artifacts'][0]\n"
            "assert 'torch' not in r['environment']")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "p" / "profile.json").is_file()
