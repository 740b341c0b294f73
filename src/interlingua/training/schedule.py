"""Learning-rate schedules that follow steps, wall-clock time, or whichever runs out first.

A budgeted run does not know its step count in advance, so its schedule is driven by progress
p = max(step / max_steps, elapsed / budget): warm-up while p < warmup fraction, then decay to
zero at p = 1.  A run with only ``max_steps`` gets the ordinary step-based schedule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

CLOCKS: dict[str, Callable[[], float]] = {"wall": time.monotonic, "cpu": time.process_time}


class RunClock:
    """Time spent training, carried across resumes (``elapsed_before``).

    ``kind`` is ``wall`` (elapsed time) or ``cpu`` (the process's CPU time summed over its threads):
    on a shared machine a wall-clock budget buys fewer steps when others load the cores, a CPU-time
    budget buys the same work, which is what a comparison between runs needs.
    """

    def __init__(self, elapsed_before: float = 0.0, kind: str = "wall") -> None:
        if kind not in CLOCKS:
            raise ValueError(f"unknown clock {kind!r}: choose {' or '.join(CLOCKS)}")
        self.now = CLOCKS[kind]
        self.elapsed_before = elapsed_before
        self.started: float | None = None

    def start(self) -> None:
        self.started = self.now()

    def elapsed(self) -> float:
        return self.elapsed_before + (self.now() - self.started if self.started is not None else 0.0)


def progress_function(
    max_steps: int | None, budget_seconds: float | None, clock: RunClock
) -> Callable[[int], float]:
    """Fraction of the run done after ``step`` optimiser steps (0..1)."""
    if max_steps is None and budget_seconds is None:
        raise ValueError("a schedule needs max_steps, a time budget, or both")

    def progress(step: int) -> float:
        by_steps = step / max_steps if max_steps else 0.0
        by_time = clock.elapsed() / budget_seconds if budget_seconds else 0.0
        return min(1.0, max(by_steps, by_time))

    return progress


def lr_multiplier(progress: float, warmup_fraction: float, schedule: str) -> float:
    """Multiplier of the peak learning rate at a given progress."""
    if progress < warmup_fraction:
        return progress / warmup_fraction
    if schedule == "constant":
        return 1.0
    remaining = (1.0 - progress) / max(1e-12, 1.0 - warmup_fraction)
    if schedule == "linear":
        return max(0.0, remaining)
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * (1.0 - remaining)))
    raise ValueError(f"unknown schedule {schedule!r}")
