"""End-to-end training on a tiny slice of the real corpora (seconds, not minutes)."""

import json

import pytest
import torch
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer

from interlingua.errors import ConfigError
from interlingua.losses.translation_ranking import TranslationRankingLoss
from interlingua.training.config import build_config
from interlingua.training.objectives import OBJECTIVES, Objective
from interlingua.training.trainer import HEADS_FILE, InterlinguaTrainer, train

TINY = {
    "langs": "deu,fra",
    "max_pairs_per_language": 400,
    "layers": 1,
    "hidden": 32,
    "heads": 2,
    "ffn": 64,
    "vocab_size": 600,
    "batch_size": 16,
    "checkpoint_every": 3,
    "log_every": 2,
}


def tiny_config(tmp_path, data_root, **overrides):
    values = {**TINY, "data_root": str(data_root), "output": str(tmp_path / "model"), **overrides}
    return build_config(recipe="tr", overrides=values)


def test_tiny_run_writes_a_loadable_model(tmp_path, data_root):
    run, model = train(tiny_config(tmp_path, data_root, max_steps=6))
    assert run.steps == 6 and run.pairs_seen == 96
    assert {c["src_lang"] for c in run.corpora} == {"deu", "fra"}
    loaded = SentenceTransformer(str(run.output), device="cpu")
    sentences = ["Das ist ein Haus.", "This is a house."]
    assert torch.allclose(
        torch.tensor(loaded.encode(sentences)), torch.tensor(model.encode(sentences)), atol=1e-5
    )
    log = [json.loads(line) for line in (run.output / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "translation_ranking" in r] == [2, 4, 6]
    assert sorted(p.name for p in (run.output / "checkpoints").iterdir()) == ["checkpoint-3", "checkpoint-6"]


def test_resume_continues_from_the_last_checkpoint(tmp_path, data_root):
    train(tiny_config(tmp_path, data_root, max_steps=3))
    with pytest.raises(ConfigError, match="--resume"):
        train(tiny_config(tmp_path, data_root, max_steps=6))
    run, _ = train(tiny_config(tmp_path, data_root, max_steps=6, resume=True))
    assert run.steps == 6
    log = [json.loads(line) for line in (run.output / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "translation_ranking" in r] == [2, 4, 6]  # steps 1-3 not redone


def test_budget_stops_the_run(tmp_path, data_root):
    run, _ = train(tiny_config(tmp_path, data_root, budget="1s", max_steps=None))
    assert run.stopped_by_budget
    assert 0 < run.steps < 10_000


class _TranslationRankingWithHead(TranslationRankingLoss):
    """Translation ranking plus a training-only head (as XTR has) that takes part in the loss."""

    def __init__(self, model, config):
        super().__init__(model)
        self.head = torch.nn.Linear(config.hidden, 1)

    def forward(self, sentence_features, labels=None):
        features = list(sentence_features)
        losses = super().forward(features, labels)
        pooled = self.model(features[0])["sentence_embedding"]
        return {**losses, "head": self.head(pooled).pow(2).mean()}


def test_training_heads_are_checkpointed_and_restored(tmp_path, data_root, monkeypatch):
    monkeypatch.setitem(OBJECTIVES, "ranking_with_head", Objective(_TranslationRankingWithHead))
    config = tiny_config(tmp_path, data_root, max_steps=3, objective="ranking_with_head")
    _, model = train(config)
    saved = load_file(str(tmp_path / "model" / "checkpoints" / "checkpoint-3" / HEADS_FILE))
    assert set(saved) == {"head.weight", "head.bias"}
    assert not any(name.startswith("head") for name in model.state_dict())  # the export is a plain encoder

    restored = {}
    original = InterlinguaTrainer._load_from_checkpoint

    def spy(self, checkpoint_path, *args, **kwargs):
        original(self, checkpoint_path, *args, **kwargs)
        restored.update({k: v.detach().clone() for k, v in self.loss.head_state().items()})

    monkeypatch.setattr(InterlinguaTrainer, "_load_from_checkpoint", spy)
    config = tiny_config(tmp_path, data_root, max_steps=4, objective="ranking_with_head", resume=True)
    train(config)
    assert torch.equal(restored["head.weight"], saved["head.weight"])
    assert not torch.equal(saved["head.weight"], torch.zeros_like(saved["head.weight"]))


def test_training_truncates_at_max_length_and_the_model_keeps_its_own_length(tmp_path, data_root):
    backbone = tmp_path / "backbone"
    train(tiny_config(tmp_path, data_root, max_steps=1, max_length=100, output=str(backbone)))
    assert SentenceTransformer(str(backbone), device="cpu").max_seq_length == 100  # scratch: its length
    config = tiny_config(tmp_path, data_root, max_steps=1, max_length=16, pretrained=str(backbone))
    _, model = train(config)
    # Trained at 16 pieces, saved and scored at the backbone's 100 (before: cut at 16 for good).
    assert model.max_seq_length == 100
    assert SentenceTransformer(config.output, device="cpu").max_seq_length == 100
