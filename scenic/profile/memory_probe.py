"""Run in a fresh process: load one artifact, run one command end to end, print peak RSS (and GPU memory) as JSON."""

from __future__ import annotations

import json
import resource
import sys


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Linux's ru_maxrss is not that: exec keeps the larger of it and the parent's
    peak (subprocess forks with vfork, so a child of a 450 MB process reports 450 MB), while VmHWM belongs to the
    new address space alone."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # macOS reports bytes, Linux KiB


def main(folder: str, backend: str, device: str) -> None:
    prompts = ["turn off the kitchen lights"]
    gpu = None
    if backend == "torch":
        import torch

        from scenic.models import CommandModel

        cm = CommandModel.load(folder, device=device)
        cm.generate(prompts)
        if device.startswith("cuda"):
            gpu = torch.cuda.max_memory_allocated() / 2**20
    else:
        from scenic.profile.ort_backend import providers_for
        from scenic.runtime import load

        load(folder, providers=providers_for(device)).generate(prompts)  # GPU memory of onnxruntime: not measured
    peak_mb = _peak_rss_mb()
    print(json.dumps({"peak_rss_mb": round(peak_mb, 1), "gpu_peak_mb": None if gpu is None else round(gpu, 1)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
