"""Shared fixtures: where the real corpora are, and small temporary files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared data folder: $INTERLINGUA_DATA, else ../shared/data beside the clone."""
    root = Path(os.environ.get("INTERLINGUA_DATA", REPO.parent / "shared" / "data"))
    if not (root / "tatoeba_laser_v1").is_dir():
        pytest.skip(f"shared data not found at {root}")
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer d=32 sentence-transformers model folder with a 120-piece vocabulary (seconds)."""
    from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
    from interlingua.models.tokenizer import train_tokenizer

    folder = tmp_path_factory.mktemp("tiny") / "model"
    tokenizer = train_tokenizer(
        ["ein kleines haus", "a small house", "das ist gut", "that is good"] * 20, vocab_size=120
    )
    build_scratch_encoder(tokenizer, EncoderConfig(layers=1, hidden=32, heads=2, ffn=64)).save(str(folder))
    return folder
