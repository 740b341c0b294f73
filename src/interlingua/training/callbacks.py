"""Trainer callbacks: the wall-clock budget, a progress bar in pairs/s, a JSON-lines log, a seeded
DataLoader for streams.

In a multi-process run every process runs the callbacks: the budget's stop is decided together
(the processes' clocks differ a little, and a process that stopped alone would leave the others
waiting for it), and only the main process shows the bar and writes the log.
"""

from __future__ import annotations

import json
import sys
from abc import ABC, abstractmethod
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import TrainerCallback

from interlingua.atomic import write_text
from interlingua.training.distributed import any_process
from interlingua.training.schedule import RunClock

CLOCK_FILE = "interlingua_clock.json"
_NOT_LOSSES = {
    "learning_rate",
    "grad_norm",
    "epoch",
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "total_flos",
    "train_loss",
}


class CheckpointedCallback(TrainerCallback, ABC):
    """A callback with state of its own, written into every checkpoint before it is sealed
    (``InterlinguaTrainer`` calls ``write_state``), so that a resumed run continues it."""

    @abstractmethod
    def write_state(self, folder: Path) -> None:
        """Write this callback's state into the checkpoint being written in ``folder``."""


class BudgetCallback(CheckpointedCallback):
    """Starts the run clock, stops training once the budget is spent, and saves the clock in
    every checkpoint so that a resumed run continues the same budget and schedule."""

    def __init__(self, clock: RunClock, budget_seconds: float | None) -> None:
        self.clock = clock
        self.budget_seconds = budget_seconds
        self.stopped_by_budget = False

    def on_train_begin(self, args, state, control, **kwargs):
        self.clock.start()

    def on_step_end(self, args, state, control, **kwargs):
        if self.budget_seconds is None:
            return
        if any_process(self.clock.elapsed() >= self.budget_seconds, args.device):
            self.stopped_by_budget = True
            control.should_training_stop = True
            control.should_save = True

    def write_state(self, folder: Path) -> None:
        (folder / CLOCK_FILE).write_text(json.dumps({"elapsed": self.clock.elapsed()}))


def read_clock(checkpoint: Path) -> float:
    """Seconds of training already done when ``checkpoint`` was written (0 if unknown)."""
    path = checkpoint / CLOCK_FILE
    return float(json.loads(path.read_text())["elapsed"]) if path.exists() else 0.0


class ProgressCallback(TrainerCallback):
    """A progress bar with pairs/s, the latest loss components and the ETA; the log as JSON lines.

    ``header`` is printed once when training starts (e.g. the effective number of negatives).  Only
    the main process of a multi-process run shows and writes anything.
    """

    def __init__(
        self,
        clock: RunClock,
        batch_size: int,
        max_steps: int | None,
        budget_seconds: float | None,
        log_path: Path,
        header: str | None = None,
    ) -> None:
        self.clock = clock
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.budget_seconds = budget_seconds
        self.log_path = log_path
        self.header = header
        self.bar: tqdm | None = None
        self.first_step: int = 0
        self.started_at: float = 0.0
        self.postfix: dict[str, str] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        if self.header:
            tqdm.write(self.header, file=sys.stderr)
        trim_log(self.log_path, state.global_step)
        # Budgeted runs show time as the bar (their step count is unknown); others show steps.
        by_time = self.budget_seconds is not None and self.max_steps is None
        total = self.budget_seconds if by_time else self.max_steps
        unit = "s" if by_time else "step"
        self.bar = tqdm(total=total, unit=unit, desc="training", dynamic_ncols=True, initial=0)
        self.first_step = state.global_step
        self.started_at = self.clock.elapsed()

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is None:
            return
        if self.bar.unit == "s":
            self.bar.n = min(self.bar.total, int(self.clock.elapsed()))
        else:
            self.bar.n = state.global_step
        seconds = max(1e-9, self.clock.elapsed() - self.started_at)
        pairs_per_second = (state.global_step - self.first_step) * self.batch_size / seconds
        self.postfix["step"] = str(state.global_step)
        self.postfix["pairs/s"] = f"{pairs_per_second:.0f}"
        self.bar.set_postfix(self.postfix, refresh=False)
        self.bar.refresh()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero:
            return
        logs = dict(logs or {})
        record = {"step": state.global_step, "elapsed": round(self.clock.elapsed(), 2), **logs}
        with self.log_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        for key, value in logs.items():
            # The total "loss" and every named component the objective returned.
            if key not in _NOT_LOSSES and isinstance(value, float):
                self.postfix[key] = f"{value:.3f}"

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()


def _logged_step(line: str) -> int | None:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def trim_log(path: Path, last_step: int) -> None:
    """Keep only the records of steps up to ``last_step`` in the JSON-lines log at ``path``: a
    resumed run redoes (and logs again) the steps after its checkpoint.  A record cut short by a
    killed run does not parse and is dropped too."""
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    kept = [
        line.rstrip("\n") + "\n"
        for line in text.splitlines(keepends=True)
        if (step := _logged_step(line)) is not None and step <= last_step
    ]
    if "".join(kept) != text:
        write_text(path, "".join(kept))


class SeededDataLoaderCallback(TrainerCallback):
    """Gives the training DataLoader a seeded generator of its own before training starts.

    A DataLoader without one draws a seed for its workers from the global torch RNG each time it
    is iterated.  A stream (``StreamingPairs``) is iterated once a run: before the first step in an
    uninterrupted run, but after the checkpoint's RNG state is restored in a resumed one, where
    that draw would shift the dropout of every later step and the resumed run would end with other
    weights than the uninterrupted one.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        loader = getattr(train_dataloader, "base_dataloader", train_dataloader)  # accelerate wraps it
        if loader is not None and loader.generator is None:
            loader.generator = torch.Generator().manual_seed(self.seed)
