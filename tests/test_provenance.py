"""Provenance: one UTC time stamp format, package versions, and file hashes read from the bytes each
time (a file changed in place gets a new hash; a cache by path would return the old one)."""

from __future__ import annotations

import datetime
from pathlib import Path

from interlingua.provenance import data_file_hashes, file_record, package_versions, utc_now


def test_a_changed_file_gets_a_new_hash(tmp_path: Path) -> None:
    path = tmp_path / "data" / "a.txt"
    path.parent.mkdir()
    path.write_text("one\n", encoding="utf-8")
    before = file_record(path)
    path.write_text("two\n", encoding="utf-8")
    after = file_record(path)
    assert before["bytes"] == after["bytes"] and before["sha256"] != after["sha256"]
    assert data_file_hashes(tmp_path, [path]) == {"data/a.txt": after["sha256"]}


def test_time_stamps_and_versions() -> None:
    stamp = datetime.datetime.fromisoformat(utc_now())
    assert stamp.utcoffset() == datetime.timedelta(0) and stamp.microsecond == 0
    versions = package_versions("no-such-package-here")
    assert {"interlingua", "python", "numpy", "torch"} <= set(versions)
    assert "no-such-package-here" not in versions
