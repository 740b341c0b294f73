"""Learning-rate schedules that follow steps, wall-clock time, or whichever runs out first.

A budgeted run does not know its step count in advance, so its schedule is driven by progress
p = max(step / max_steps, elapsed / budget): warm-up while p < warmup fraction, then decay to
zero at p = 1.  A run with only ``max_steps`` gets the ordinary step-based schedule.

Warm-up given in steps (W >= 1, the papers' 2,000 or 10,000) is clamped to the run, so that every
run reaches its peak and decays until its end (before, decay started at step 0 and a 20-minute run
never got above 12% of the peak):

* bounded by ``max_steps`` N alone: warm-up over min(W, STEP_WARMUP_CAP * N) steps, then decay;
* bounded by a time budget (the step count is unknown): warm-up ends at step W or at progress
  STEP_WARMUP_CAP, whichever comes first, the rate holds its peak until STEP_WARMUP_CAP, then decays.
  A long run whose W steps end early keeps W; a short one gets the cap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

# The longest share of a run a warm-up given in steps may take: the toolkit's default warm-up fraction.
STEP_WARMUP_CAP = 0.05

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


def multiplier_function(
    warmup: float,
    schedule: str,
    progress: Callable[[int], float],
    max_steps: int | None,
    budget_seconds: float | None,
) -> Callable[[int], float]:
    """The peak learning rate's multiplier after ``step`` steps: warm-up (``warmup`` steps if >= 1,
    else a fraction of the run), then ``schedule`` decay to zero at the end of the run."""
    if warmup >= 1:
        steps_known = max_steps is not None and budget_seconds is None
        decay_start = min(warmup / max_steps, STEP_WARMUP_CAP) if steps_known else STEP_WARMUP_CAP
        warmup_steps = warmup
    else:
        decay_start, warmup_steps = warmup, math.inf

    def multiplier(step: int) -> float:
        done = progress(step)
        if done < decay_start:
            return min(1.0, max((step + 1) / warmup_steps, done / decay_start))
        return lr_multiplier(done, decay_start, schedule)

    return multiplier
