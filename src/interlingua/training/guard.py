"""Guarded training: a NaN or infinite loss stops the run (or skips the batch), and the batch is saved.

Left alone, the Trainer steps the optimiser with the NaN gradients of such a loss, every weight turns
NaN, and the run goes on to save a model that encodes everything as NaN.  The guard checks each
step's loss after the backward pass and before the optimiser step.  With ``stop`` (the default) the
run ends with ``NonFiniteLossError``: the weights never see the bad gradients and the last
checkpoint stays resumable.  With ``skip`` the step's gradients are dropped, so the step makes no
update (it still counts towards ``max_steps`` and the schedule), and training goes on.  Either way
the batch's sentences are written to ``nonfinite-step-<N>.json`` in the output folder, and the
message names the step and that file.

The texts travel with each batch: ``BatchTextCollator`` adds them to what the sentence-transformers
collator produces (the tensors alone hold lower-cased pieces, not the sentences).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from sentence_transformers.sentence_transformer.data_collator import SentenceTransformerDataCollator

from interlingua.errors import ConfigError, NonFiniteLossError

logger = logging.getLogger(__name__)

NONFINITE_POLICIES = ("stop", "skip")
BATCH_TEXTS = "interlingua_batch_texts"


class BatchTextCollator(SentenceTransformerDataCollator):
    """The sentence-transformers collator, plus each text column of the batch under ``BATCH_TEXTS``."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().__call__(features)
        if features:
            columns = [name for name, value in features[0].items() if isinstance(value, str)]
            batch[BATCH_TEXTS] = {name: [row[name] for row in features] for name in columns}
        return batch


def batch_file(folder: Path, step: int) -> Path:
    """Where the batch of a step with a non-finite loss is saved."""
    return folder / f"nonfinite-step-{step}.json"


class NonFiniteGuard:
    """Checks each step's loss; ``policy`` is ``stop`` or ``skip``, ``folder`` receives the batches."""

    def __init__(self, policy: str, folder: Path) -> None:
        if policy not in NONFINITE_POLICIES:
            raise ConfigError(f"on_nonfinite must be one of {', '.join(NONFINITE_POLICIES)}, not {policy!r}")
        self.policy = policy
        self.folder = folder

    def admits(self, loss: torch.Tensor, step: int, texts: dict[str, list[str]] | None) -> bool:
        """True when ``loss`` is finite.  Otherwise the batch is saved, then ``stop`` raises
        ``NonFiniteLossError`` and ``skip`` returns False: the caller must drop the gradients."""
        if bool(torch.isfinite(loss).all()):
            return True
        value = float(loss.detach().float())
        path = self._save_batch(step, value, texts or {})
        if self.policy == "stop":
            raise NonFiniteLossError(
                f"step {step}: the loss is {value}; the batch is saved in {path}. No weight was updated "
                "with it. Lower --learning-rate or fix the data, then rerun with --resume to continue from "
                "the last checkpoint, or set on_nonfinite: skip to drop such batches"
            )
        logger.warning("step %d: the loss is %s; batch skipped (no update), saved in %s", step, value, path)
        return False

    def _save_batch(self, step: int, value: float, texts: dict[str, list[str]]) -> Path:
        rows = [dict(zip(texts, row, strict=True)) for row in zip(*texts.values(), strict=True)]
        record = {"step": step, "loss": str(value), "pairs": rows}
        self.folder.mkdir(parents=True, exist_ok=True)
        path = batch_file(self.folder, step)
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path
