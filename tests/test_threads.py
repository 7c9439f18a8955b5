"""The thread policy (scenic.threads): cores granted by affinity and cgroup quota, overrides, and where it is recorded."""

from __future__ import annotations

import pytest

import scenic.threads as threads
from scenic import ScenicError
from scenic.artifacts import environment_info, make_manifest


def _cgroup(tmp_path, proc_lines: str, files: dict[str, str]):
    tmp_path.mkdir(parents=True, exist_ok=True)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(proc_lines)
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root, proc


def test_cgroup_v2_quota_of_the_process_and_its_parents(tmp_path):
    root, proc = _cgroup(tmp_path, "0::/ci/job\n", {"ci/job/cpu.max": "max 100000\n", "ci/cpu.max": "150000 100000\n",
                                                       "cpu.max": "800000 100000\n"})
    assert threads.cgroup_cpu_quota(root, proc) == 1.5  # the tightest on the way up
    root, proc = _cgroup(tmp_path / "b", "0::/\n", {"cpu.max": "max 100000\n"})
    assert threads.cgroup_cpu_quota(root, proc) is None


def test_cgroup_v1_quota(tmp_path):
    root, proc = _cgroup(tmp_path, "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n",
                         {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000\n",
                          "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"})
    assert threads.cgroup_cpu_quota(root, proc) == 2.0
    root, proc = _cgroup(tmp_path / "b", "1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"})
    assert threads.cgroup_cpu_quota(root, proc) is None


def test_available_cpus_follow_quota_affinity_and_load(monkeypatch):
    monkeypatch.setattr(threads, "_affinity_cpus", lambda: 8)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: 2.5)
    assert threads.granted_cpus() == (3, "cgroup quota")  # a fractional quota rounds up
    assert threads.available_cpus() == (3, "cgroup quota")  # the host's load says nothing of a container's cores
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: None)
    assert threads.available_cpus() == (8, "affinity")
    # a whole 2-core machine: other processes' load takes cores away, never below one
    monkeypatch.setattr(threads, "_affinity_cpus", lambda: 2)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads, "_load_average", lambda: 0.2)
    assert threads.available_cpus() == (2, "affinity")
    monkeypatch.setattr(threads, "_load_average", lambda: 1.1)
    assert threads.available_cpus()[0] == 1
    monkeypatch.setattr(threads, "_load_average", lambda: 12.0)
    n, why = threads.available_cpus()
    assert n == 1 and "load average 12.0" in why


@pytest.fixture
def fresh_decision():
    saved = dict(threads._decided)
    threads._decided.clear()
    yield
    threads._decided.clear()
    threads._decided.update(saved)
    threads.apply_threads(saved.get("threads"))


def test_explicit_threads_win_and_the_first_decision_stands(fresh_decision, monkeypatch):
    import torch

    monkeypatch.setattr(threads, "available_cpus", lambda: (2, "affinity"))
    assert threads.resolve_threads() == 2
    monkeypatch.setattr(threads, "available_cpus", lambda: (1, "idle cores"))
    assert threads.resolve_threads() == 2  # decided once per process: library calls keep the command's choice
    assert threads.apply_threads(3) == 3 and torch.get_num_threads() == 3
    assert threads.thread_info()["threads"] == 3 and threads.thread_info()["source"] == "--threads"
    assert threads.apply_threads() == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ScenicError, match="threads must be a whole number"):
            threads.resolve_threads(bad)


def test_onnxruntime_options_get_the_same_count(fresh_decision):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    assert threads.ort_threads(opts, 2) == 2
    assert opts.intra_op_num_threads == 2 and opts.inter_op_num_threads == 1


def test_every_manifest_and_results_environment_records_the_threads():
    env = environment_info()
    assert env["threads"] == threads.current_threads() >= 1
    assert {"source", "granted_cpus", "affinity_cpus", "cgroup_cpu_quota"} <= set(env["thread_policy"])
    assert make_manifest("data", {"x": 1})["environment"]["threads"] == env["threads"]


def test_threads_option_on_the_commands_that_compute():
    from typer.testing import CliRunner

    from scenic.cli import app

    for cmd in (["train"], ["compress"], ["export"], ["evaluate"], ["run"], ["profile"], ["pipeline"],
                ["data", "import"]):
        res = CliRunner().invoke(app, [*cmd, "--help"], env={"COLUMNS": "200"})
        assert res.exit_code == 0 and "--threads" in res.output, cmd


def test_pipeline_recipe_threads_is_an_execution_setting(tmp_path):
    from scenic.config.base import ConfigError
    from scenic.pipeline import load_recipe
    from scenic.pipeline.stages import stage_config

    recipe = tmp_path / "r.yaml"
    recipe.write_text("threads: 1\ndata: {num_examples: 100}\ntrain: {preset: t5-micro}\n")
    cfg = load_recipe(recipe)
    assert cfg.threads == 1
    other = load_recipe(recipe, ["threads=2"])
    assert other.threads == 2
    for stage in cfg.stages():  # no stage's key changes with the thread count: nothing reruns
        assert stage_config(cfg, stage) == stage_config(other, stage)
    with pytest.raises(ConfigError, match="threads"):
        load_recipe(recipe, ["threads=0"])
