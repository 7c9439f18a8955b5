"""How many CPU threads SCENIC's compute libraries use: the cores this process may actually run on.

torch, onnxruntime and faiss size their thread pools from the machine's core count by default. In a container or a
CI job limited to 2 cores (by CPU affinity or a cgroup quota) that count can be far larger than the cores granted,
and the surplus threads spin against each other: on a busy 2-core machine training ran about 13x slower with torch's
default than with one thread per process. So every command that computes takes its thread count from here:

- `granted_cpus()`: the cores granted, i.e. the smaller of the CPU affinity mask (`os.sched_getaffinity`) and the
  cgroup CPU quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us / cpu.cfs_period_us`, on this process's cgroup path
  and its parents), rounded up to whole cores.
- `available_cpus()`: the granted cores less those other processes keep busy (1-minute load average), where the
  load average describes the same cores (see its docstring); at least 1.
- `resolve_threads(requested)`: `--threads N` when given (validated); else the count this process already decided
  (the first decision stands, so a library call inside a command keeps the command's choice); else
  `available_cpus()`.
- `apply_threads(n)`: sets torch's intra-op pool, the BLAS / OpenMP pools numpy and scikit-learn use
  (threadpoolctl) and faiss, for this process. train, compress, evaluate, export and profile call it on entry; the
  CLI calls it first with `--threads`.
- `ort_threads(options, n)`: the same count on an onnxruntime SessionOptions (intra-op n, inter-op 1).
- `thread_info()`: what was decided and why, recorded in every manifest and results file (`environment.threads`).

Only the process's own settings change; nothing is read from or written to environment variables.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

from scenic import ScenicError

CGROUP_ROOT = Path("/sys/fs/cgroup")

# what the last resolve_threads() decided (thread_info() reports it; None until a command resolves its threads)
_decided: dict[str, Any] = {}


def _affinity_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _own_cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """This process's cgroup path per controller ('' = the unified v2 hierarchy) from /proc/self/cgroup."""
    out: dict[str, str] = {}
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            out[controller] = parts[2]
    return out


def _quota_at(folder: Path) -> float | None:
    """The CPU quota (in cores) set on one cgroup folder, or None when unlimited / not readable."""
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]  # v2: "max 100000" or "200000 100000"
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())  # v1: -1 = unlimited
        period = int((folder / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The tightest CPU quota (in cores, possibly fractional) over this process's cgroup and its parents."""
    paths = _own_cgroup_paths(proc_cgroup)
    folders = []  # (mount, this process's folder under it)
    if "" in paths:  # cgroup v2: one unified hierarchy
        folders.append((root, root / paths[""].lstrip("/")))
    if "cpu" in paths:  # cgroup v1: the cpu controller's own mount
        for mount in (root / "cpu", root / "cpu,cpuacct"):
            folders.append((mount, mount / paths["cpu"].lstrip("/")))
    quotas = []
    for mount, folder in folders:
        while True:
            q = _quota_at(folder)
            if q is not None:
                quotas.append(q)
            if folder == mount or mount not in folder.parents:
                break
            folder = folder.parent
    return min(quotas) if quotas else None


def granted_cpus() -> tuple[int, str]:
    """(cores this process is allowed, where the number came from: 'affinity' or 'cgroup quota')."""
    cpus, source = _affinity_cpus(), "affinity"
    quota = cgroup_cpu_quota()
    if quota is not None and math.ceil(quota) < cpus:
        cpus, source = max(1, math.ceil(quota)), "cgroup quota"
    return max(1, cpus), source


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def available_cpus() -> tuple[int, str]:
    """(cores this process may actually use, and why): the granted cores, less those other processes keep busy.

    The 1-minute load average counts the runnable processes of the whole machine, so it is used only when this
    process may run on every core of it (no narrower affinity, no cgroup quota): a container's quota says nothing of
    the host's load. On a 2-core machine already running two busy processes that gives 1 thread, which trains
    faster than torch's default of 2 there (benchmarks/threads.py measures it)."""
    cpus, source = granted_cpus()
    load = _load_average()
    if source == "affinity" and cpus == (os.cpu_count() or cpus) and load is not None:
        idle = max(1, min(cpus, cpus - round(load)))
        if idle < cpus:
            return idle, f"idle cores (load average {load:.1f} on {cpus})"
    return cpus, source


def resolve_threads(requested: int | None = None) -> int:
    """`requested` (from --threads or a config's `threads`) if given; else what this process already decided; else
    the cores available. The decision is remembered for thread_info() and later calls."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ScenicError(f"threads must be a whole number >= 1 (got {requested!r})")
        _decided.update(threads=requested, source="--threads")
        return requested
    if not _decided:
        n, source = available_cpus()
        _decided.update(threads=n, source=source)
    return _decided["threads"]


current_threads = resolve_threads  # for libraries imported late, such as faiss inside the import's miner


def apply_threads(requested: int | None = None) -> int:
    """Resolve the thread count and set it on torch (when this process has imported it: the runtime never does),
    numpy's BLAS / scikit-learn's OpenMP pools and faiss (when imported); returns it."""
    n = resolve_threads(requested)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass
    if "faiss" in sys.modules:
        sys.modules["faiss"].omp_set_num_threads(n)
    return n


def ort_threads(options: Any, threads: int | None = None) -> int:
    """Set an onnxruntime SessionOptions to `threads` (resolved as above): intra-op n, inter-op 1 (our graphs run
    sequentially, so a second pool would only compete for the same cores)."""
    n = resolve_threads(threads)
    options.intra_op_num_threads = n
    options.inter_op_num_threads = 1
    return n


def thread_info() -> dict[str, Any]:
    """The thread decision for results files and manifests: threads used, their source, and the cores seen."""
    if not _decided:
        resolve_threads()
    granted, _ = granted_cpus()
    info: dict[str, Any] = {"threads": _decided["threads"], "source": _decided["source"], "granted_cpus": granted,
                            "affinity_cpus": _affinity_cpus(), "cgroup_cpu_quota": cgroup_cpu_quota(),
                            "load_average_1min": _load_average(), "os_cpu_count": os.cpu_count()}
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    return info
