"""``--eval-every N``: the run scores its evaluation set every N steps, in its log, and the scoring
changes nothing of the training (the weights are those of a run that never scored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_tiny import TINY_TR

from interlingua.errors import ConfigError
from interlingua.training.config import build_config
from interlingua.training.setup import training_evaluator
from interlingua.training.trainer import train


def tiny(tmp_path: Path, data_root: Path, name: str, **overrides) -> object:
    values = {**TINY_TR, "max_steps": 3, "data_root": str(data_root), "output": str(tmp_path / name)}
    return build_config(overrides={**values, **overrides})


def test_scores_are_logged_and_the_weights_do_not_change(tmp_path: Path, data_root: Path, one_thread) -> None:
    train(tiny(tmp_path, data_root, "plain"))
    train(tiny(tmp_path, data_root, "scored", eval_every=2, eval_langs="fra"))
    log = [json.loads(line) for line in (tmp_path / "scored" / "train_log.jsonl").read_text().splitlines()]
    scored = [record for record in log if "eval_tatoeba_average" in record]
    assert [record["step"] for record in scored] == [2, 3]  # every 2 steps, and the last
    assert all(0.0 <= record["eval_tatoeba_fra"] <= 100.0 for record in scored)
    plain = load_file(str(tmp_path / "plain" / "model.safetensors"))
    weights = load_file(str(tmp_path / "scored" / "model.safetensors"))
    assert [name for name in plain if not torch.equal(plain[name], weights[name])] == []


def test_nothing_to_score_is_refused() -> None:
    assert training_evaluator(build_config(), []) is None  # --eval-every left out
    with pytest.raises(ConfigError, match="none of the trained languages has a test set"):
        training_evaluator(build_config(overrides={"eval_every": 2}), [])
