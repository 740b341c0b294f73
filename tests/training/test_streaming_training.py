"""Training from shards (``streaming``): a tiny run stopped at a checkpoint and resumed ends with the
same weights as the run never stopped, per-row languages reach EMS, and the keys that cannot apply
to a stream are refused with one clear line."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from interlingua.data.streaming import shard_corpus
from interlingua.data.textio import iter_lines, open_text_writer
from interlingua.errors import ConfigError, DataError
from interlingua.training.checkpoints import CHECKPOINTS
from interlingua.training.config import build_config
from interlingua.training.data import load_stream
from interlingua.training.pipeline import tatoeba_languages
from interlingua.training.trainer import train

# 2 x 40 pairs in batches of 16: an epoch is 5 steps, so 7 steps cross an epoch boundary.
TINY_STREAM = {
    "recipe": "tr",
    "layers": 1,
    "hidden": 32,
    "heads": 2,
    "ffn": 64,
    "vocab_size": 600,
    "batch_size": 16,
    "shuffle_buffer": 32,
    "checkpoint_every": 2,
    "log_every": 1,
    "schedule": "constant",  # the same learning rate at each step, whatever max_steps is
    "warmup": 0,
}


@pytest.fixture
def shards(tmp_path: Path, data_root: Path) -> Path:
    """The first 40 pairs of TICO-19 French and Spanish, in 3 shards."""
    folder = tmp_path / "tico"
    folder.mkdir()
    for name in ("fr-eng.fr", "fr-eng.eng", "es_LA-eng.es_LA", "es_LA-eng.eng"):
        lines = [text for _, text in islice(iter_lines(data_root / "train_tico19" / f"{name}.xz"), 40)]
        with open_text_writer(folder / name) as handle:
            handle.write("".join(f"{line}\n" for line in lines))
    shard_corpus([folder], tmp_path / "shards", shards=3, pivot="eng")
    return tmp_path / "shards"


def config(tmp_path: Path, shards: Path, output: str, **overrides):
    values = {**TINY_STREAM, "streaming": str(shards), "output": str(tmp_path / output), **overrides}
    return build_config(overrides=values)


def logged_steps(output: Path) -> list[int]:
    records = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    return [record["step"] for record in records if "loss" in record]


def test_a_stream_resumed_at_a_checkpoint_ends_with_identical_weights(
    tmp_path: Path, shards: Path, one_thread
) -> None:
    whole, _ = train(config(tmp_path, shards, "whole", max_steps=7))
    assert (whole.steps, whole.pairs_seen) == (7, 112)
    assert [(c["src_lang"], c["pairs"]) for c in whole.corpora] == [("spa", 40), ("fra", 40)]

    train(config(tmp_path, shards, "stopped", max_steps=4))
    assert sorted(p.name for p in (tmp_path / "stopped" / CHECKPOINTS).iterdir()) == [
        "checkpoint-2",
        "checkpoint-4",
    ]
    resumed, _ = train(config(tmp_path, shards, "stopped", max_steps=7, resume=True))
    assert resumed.steps == 7 and logged_steps(tmp_path / "stopped") == list(range(1, 8))

    expected = load_file(str(tmp_path / "whole" / "model.safetensors"))
    weights = load_file(str(tmp_path / "stopped" / "model.safetensors"))
    assert [name for name in expected if not torch.equal(expected[name], weights[name])] == []


def test_per_row_languages_reach_ems(tmp_path: Path, shards: Path, one_thread) -> None:
    ems = {"recipe": "ems", "sampling_temperature": 1.0, "langs": "fra,spa", "max_steps": 2}
    run, _ = train(config(tmp_path, shards, "ems", **ems))
    assert run.steps == 2
    log = [json.loads(line) for line in (tmp_path / "ems" / "train_log.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(record["loss"])) for record in log if "loss" in record)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"sampling_temperature": 5.0}, "streaming reads every pair of the shard index once an epoch"),
        ({"max_pairs_per_language": 10}, "leave max_pairs_per_language out"),
        ({"langs": "fra,deu"}, "holds pairs for fra, spa, not deu, fra"),
        ({"recipe": "ems", "sampling_temperature": 1.0}, "objective ems needs --langs"),
    ],
)
def test_keys_that_cannot_apply_to_a_stream(
    tmp_path: Path, shards: Path, overrides: dict, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_stream(config(tmp_path, shards, "out", max_steps=2, **overrides))


def test_a_stream_needs_an_end_and_an_index(tmp_path: Path, shards: Path) -> None:
    with pytest.raises(ConfigError, match="the run needs an end: pass --max-steps N and/or --budget"):
        train(config(tmp_path, shards, "out"))
    with pytest.raises(DataError, match="no shard index: shard the corpus first"):
        train(config(tmp_path, tmp_path / "nothing", "out2", max_steps=2))


def test_a_streaming_run_scores_the_languages_of_its_index(tmp_path: Path, shards: Path) -> None:
    streaming = config(tmp_path, shards, "out", max_steps=2)
    assert tatoeba_languages(streaming, ["fra", "spa"]) == ["fra", "spa"]  # langs left out
    assert tatoeba_languages(build_config(overrides={"langs": "deu"}), ["fra"]) == ["deu"]
