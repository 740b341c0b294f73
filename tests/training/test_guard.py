"""Guarded training: a NaN or infinite loss stops the run (or skips the batch) and saves the batch."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_tiny import TINY_TR, as_flags

from interlingua.cli.main import main
from interlingua.errors import ConfigError
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.training.checkpoints import CHECKPOINTS, problem_with
from interlingua.training.config import build_config
from interlingua.training.data import load_corpora
from interlingua.training.guard import NonFiniteGuard, batch_file
from interlingua.training.objectives import OBJECTIVES, Objective
from interlingua.training.trainer import train

TINY = {**TINY_TR, "max_steps": 4}


class PoisonedLoss(TranslationRankingLoss):
    """Translation ranking whose loss, at one step, is multiplied by ``poison`` (NaN or infinity):
    its gradients are then non-finite too, as after an overflow."""

    def __init__(self, model, step: int, poison: float) -> None:
        super().__init__(model)
        self.step = step
        self.poison = poison
        self.calls = 0

    def forward(self, sentence_features, labels=None):
        self.calls += 1
        losses = super().forward(sentence_features, labels)
        factor = self.poison if self.calls == self.step else 1.0
        return {name: value * factor for name, value in losses.items()}


def poison(monkeypatch: pytest.MonkeyPatch, step: int, value: float) -> None:
    monkeypatch.setitem(
        OBJECTIVES, "poisoned", Objective(lambda model, config: PoisonedLoss(model, step, value))
    )


def test_a_nan_loss_stops_the_run_naming_the_step_and_saving_the_batch(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    one_thread,
) -> None:
    poison(monkeypatch, step=3, value=float("nan"))
    output = tmp_path / "model"
    flags = as_flags(TINY)
    argv = ["train", *flags, "--objective=poisoned", f"--data-root={data_root}", f"--output={output}"]
    assert main(argv) == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    saved = batch_file(output, 3)
    assert error.startswith(
        f"interlingua train: error: step 3: the loss is nan; the batch is saved in {saved}."
    )
    assert "--resume" in error and "on_nonfinite: skip" in error

    record = json.loads(saved.read_text(encoding="utf-8"))
    assert (record["step"], record["loss"], len(record["pairs"])) == (3, "nan", TINY["batch_size"])
    config = build_config(overrides={**TINY, "data_root": str(data_root)})
    training_pairs = {
        pair for corpus in load_corpora(config) for pair in zip(corpus.src, corpus.tgt, strict=True)
    }
    assert all((pair["source"], pair["target"]) in training_pairs for pair in record["pairs"])

    checkpoints = output / CHECKPOINTS
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-2"]  # nothing saved after it
    assert problem_with(checkpoints / "checkpoint-2") is None


def test_skip_drops_the_batch_and_the_run_ends_with_finite_weights(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    one_thread,
) -> None:
    poison(monkeypatch, step=2, value=float("inf"))
    config = build_config(
        overrides={
            **TINY,
            "objective": "poisoned",
            "data_root": str(data_root),
            "output": str(tmp_path / "m"),
        }
    )
    config.on_nonfinite = "skip"  # the TrainConfig key; set as an attribute where the field is missing
    with caplog.at_level(logging.WARNING):
        run, _ = train(config)
    assert run.steps == TINY["max_steps"]
    assert "step 2: the loss is inf; batch skipped (no update)" in caplog.text
    assert json.loads(batch_file(run.output, 2).read_text(encoding="utf-8"))["loss"] == "inf"
    weights = load_file(str(run.output / "model.safetensors"))
    assert all(bool(torch.isfinite(tensor).all()) for tensor in weights.values())  # no NaN got through


def test_the_guard_passes_finite_losses_and_refuses_unknown_policies(tmp_path: Path) -> None:
    guard = NonFiniteGuard("stop", tmp_path)
    assert guard.admits(torch.tensor(2.5), step=1, texts={"source": ["a"], "target": ["b"]})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match="on_nonfinite must be one of stop, skip, not 'ignore'"):
        NonFiniteGuard("ignore", tmp_path)
