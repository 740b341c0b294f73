"""``interlingua mine`` takes its options from the mining dataclasses: LASER's aliases and the
command line's own forms reach the right fields, and an option left out keeps the field's default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import interlingua.mining.pipeline as pipeline
from interlingua.cli.main import main
from interlingua.mining.knn import SearchSettings
from interlingua.mining.pipeline import MiningConfig
from interlingua.mining.plan import parse_memory


def mined_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> MiningConfig:
    (tmp_path / "in.txt").write_text("a\n", encoding="utf-8")
    seen = []

    def fake(config: MiningConfig) -> dict:
        seen.append(config)
        return {"counts": {"written": 0, "candidates": 0, "below_threshold": 0, "duplicates": 0}}

    monkeypatch.setattr(pipeline, "run_mining", fake)
    inputs = ["--src", str(tmp_path / "in.txt"), "--trg", str(tmp_path / "in.txt")]
    assert main(["mine", *inputs, "--output", str(tmp_path / "out.tsv"), *options]) == 0
    return seen[0]


def test_left_out_options_keep_the_dataclass_defaults(tmp_path, monkeypatch) -> None:
    config = mined_config(tmp_path, monkeypatch, "--model", "m")
    expected = MiningConfig(config.src, config.tgt, config.output, model="m", show_progress=True)
    assert config == expected and config.search == SearchSettings()
    field = next(f for f in dataclasses.fields(MiningConfig) if f.name == "max_memory")
    assert parse_memory(field.metadata["shown_default"]) == field.default


def test_aliases_and_command_line_forms_reach_their_fields(tmp_path, monkeypatch) -> None:
    options = ["--model", "m", "-k", "7", "--retrieval", "fwd", "--train-size", "5", "--max-memory", "3G"]
    config = mined_config(tmp_path, monkeypatch, *options, "--unify", "--keep-duplicates", "--quiet")
    assert (config.search.k, config.search.train_rows, config.mode) == (7, 5, "forward")
    assert config.max_memory == 3 * 1024**3
    assert config.unify and not config.dedup and not config.show_progress
