"""Fixtures of the mining tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .synthetic import Corpus, make_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return make_corpus(tmp_path / "corpus", 600, 500, 16, noise=0.5)
