"""``interlingua data shard``: shards a folder and says what it wrote; a bad file or an existing
output folder is one line on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlingua.cli.main import main
from interlingua.data.streaming import ShardIndex


def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def test_shard_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path / "in/de-en.de", ["eins", "zwei", "drei"])
    write(tmp_path / "in/de-en.en", ["one", "two", "three"])
    write(tmp_path / "in/fr-en.tsv", ["un\tone", "deux\ttwo"])
    code = main(
        ["data", "shard", str(tmp_path / "in"), "--output", str(tmp_path / "shards"), "--shards", "2"]
    )
    assert code == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(f"5 pairs of 2 corpora (deu, fra) in 2 shards: {tmp_path / 'shards' / 'index.json'}")
    )
    assert [shard.pairs for shard in ShardIndex.load(tmp_path / "shards").shards] == [2, 3]


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path / "in/de-en.de", ["eins", "zwei"])
    write(tmp_path / "in/de-en.en", ["one"])
    argv = ["data", "shard", str(tmp_path / "in"), "--output", str(tmp_path / "shards"), "--shards", "1"]
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == [
        f"interlingua data: error: {tmp_path / 'in/de-en.de'}:2: line counts differ: "
        f"{tmp_path / 'in/de-en.de'} has 2 lines, {tmp_path / 'in/de-en.en'} has 1; "
        "the two files of a pair must be aligned line by line"
    ]
    assert main([*argv[:3], "--output", str(tmp_path / "in"), "--shards", "1"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"interlingua data: error: {tmp_path / 'in'} already exists: shard into a new folder"
    )
