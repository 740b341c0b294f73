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
