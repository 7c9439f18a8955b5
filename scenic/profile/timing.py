"""Interleaved timing: every artifact's run of a case follows the others', so ratios come from the same minutes."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

# decoder steps are timed with a realistic cache: this many command tokens already decoded (every backend)
DECODER_CONTEXT_TOKENS = 16


@dataclass
class Case:
    """One thing to time: `fn` runs it once; `items` sequences per call (for throughput)."""

    artifact: str
    component: str  # encoder | decoder_step | end_to_end (| end_to_end_static on CUDA)
    batch: int
    length: str  # short | long
    fn: Callable[[], object]
    items: int = 1
    sync: Callable[[], None] | None = None  # e.g. torch.cuda.synchronize

    @property
    def group(self) -> tuple[str, int, str]:
        return (self.component, self.batch, self.length)


@dataclass
class Timing:
    artifact: str
    component: str
    batch: int
    length: str
    samples_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        s = sorted(self.samples_ms)
        p50 = statistics.median(s)
        p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
        return {"artifact": self.artifact, "component": self.component, "batch": self.batch, "length": self.length,
                "n": len(s), "p50_ms": p50, "p95_ms": p95, "min_ms": s[0], "mean_ms": statistics.fmean(s),
                "throughput_per_s": self.batch * 1000.0 / p50 if p50 > 0 else None}


def _once(case: Case) -> float:
    if case.sync:
        case.sync()
    t0 = time.perf_counter()
    case.fn()
    if case.sync:
        case.sync()
    return (time.perf_counter() - t0) * 1000.0


def run_interleaved(cases: list[Case], warmup: int = 3, repeats: int = 30, on_step: Callable[[], None] | None = None,
                    max_seconds_per_group: float | None = None) -> list[Timing]:
    """Time cases group by group (component, batch, length); within a group artifacts alternate A B C A B C ...

    Warm-up rounds are run the same way and thrown away (first calls pay for allocation and graph optimisation).
    """
    groups: dict[tuple, list[Case]] = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    timings: dict[tuple, Timing] = {}
    for group, members in groups.items():
        for _ in range(warmup):
            for c in members:
                _once(c)
        start = time.perf_counter()
        for r in range(repeats):
            order = members if r % 2 == 0 else list(reversed(members))  # no artifact always goes first
            for c in order:
                key = (c.artifact, *c.group)
                timings.setdefault(key, Timing(c.artifact, c.component, c.batch, c.length)).samples_ms.append(_once(c))
            if on_step:
                on_step()
            if max_seconds_per_group and time.perf_counter() - start > max_seconds_per_group and r >= 4:
                break
    return list(timings.values())
