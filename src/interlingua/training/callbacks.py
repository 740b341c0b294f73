"""Trainer callbacks: the wall-clock budget, a progress bar in pairs/s, a JSON-lines log."""

from __future__ import annotations

import json
from pathlib import Path

from tqdm.auto import tqdm
from transformers import TrainerCallback

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


class BudgetCallback(TrainerCallback):
    """Starts the run clock, stops training once the budget is spent, and saves the clock in
    every checkpoint so that a resumed run continues the same budget and schedule."""

    def __init__(self, clock: RunClock, budget_seconds: float | None) -> None:
        self.clock = clock
        self.budget_seconds = budget_seconds
        self.stopped_by_budget = False

    def on_train_begin(self, args, state, control, **kwargs):
        self.clock.start()

    def on_step_end(self, args, state, control, **kwargs):
        if self.budget_seconds is not None and self.clock.elapsed() >= self.budget_seconds:
            self.stopped_by_budget = True
            control.should_training_stop = True
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if checkpoint.is_dir():
            (checkpoint / CLOCK_FILE).write_text(json.dumps({"elapsed": self.clock.elapsed()}))


def read_clock(checkpoint: Path) -> float:
    """Seconds of training already done when ``checkpoint`` was written (0 if unknown)."""
    path = checkpoint / CLOCK_FILE
    return float(json.loads(path.read_text())["elapsed"]) if path.exists() else 0.0


class ProgressCallback(TrainerCallback):
    """A progress bar with pairs/s, the latest loss components and the ETA; the log as JSON lines."""

    def __init__(
        self,
        clock: RunClock,
        batch_size: int,
        max_steps: int | None,
        budget_seconds: float | None,
        log_path: Path,
    ) -> None:
        self.clock = clock
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.budget_seconds = budget_seconds
        self.log_path = log_path
        self.bar: tqdm | None = None
        self.first_step: int = 0
        self.started_at: float = 0.0
        self.postfix: dict[str, str] = {}

    def on_train_begin(self, args, state, control, **kwargs):
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
