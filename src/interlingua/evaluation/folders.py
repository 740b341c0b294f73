"""Where evaluation data lives: one folder per benchmark under the data root."""

from __future__ import annotations

from pathlib import Path

from interlingua.errors import ConfigError


def task_folder(data_root: Path, name: str) -> Path:
    """A benchmark's folder under the data root, or a ``ConfigError`` naming what is missing."""
    folder = data_root / name
    if not folder.is_dir():
        raise ConfigError(f"{folder}: benchmark folder not found under the data root {data_root}")
    return folder
