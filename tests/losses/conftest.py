"""Tiny tokenizer, encoder and batches for the loss tests (no corpora, no me5)."""

from __future__ import annotations

import pytest
import torch

from interlingua.models.encoder import EncoderConfig, build_scratch_encoder
from interlingua.models.tokenizer import train_tokenizer

from .tiny import LANGUAGES, SOURCES, TARGETS


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return train_tokenizer(SOURCES + TARGETS, vocab_size=120, languages=LANGUAGES[1:])


@pytest.fixture
def tiny_model(tiny_tokenizer):
    torch.manual_seed(0)
    return build_scratch_encoder(tiny_tokenizer, EncoderConfig(layers=2, hidden=16, heads=2, ffn=32))


@pytest.fixture
def features(tiny_model):
    """A fresh copy of the tokenised (source, target) columns for each use."""
    source, target = tiny_model.preprocess(SOURCES), tiny_model.preprocess(TARGETS)
    return lambda: [dict(source), dict(target)]
