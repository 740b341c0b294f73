"""Fixtures for the evaluation tests: small data roots cut from the real corpora."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_fakes import write_xz_lines


@pytest.fixture()
def tatoeba_slice_root(tmp_path: Path, data_root: Path) -> Path:
    """A data root holding the first 40 pairs of the real deu and fra Tatoeba files."""
    from interlingua.data.textio import read_lines

    source = data_root / "tatoeba_laser_v1"
    for code in ("deu", "fra"):
        for side in (code, "eng"):
            lines = read_lines(source / f"tatoeba.{code}-eng.{side}.xz")[:40]
            write_xz_lines(tmp_path / "tatoeba_laser_v1" / f"tatoeba.{code}-eng.{side}.xz", lines)
    return tmp_path
