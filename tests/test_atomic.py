"""interlingua.atomic: outputs complete or absent, output-path checks, content fingerprints."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest

from interlingua.atomic import (
    atomic_file,
    check_output_file,
    check_output_folder,
    folder_fingerprint,
    model_fingerprint,
    save_npy,
    staged_folder,
    write_json,
    write_text,
)
from interlingua.errors import ConfigError, StorageError


def _hidden(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = write_text(tmp_path / "out.txt", "previous\n")
    full = r"cannot write .*out.txt: \[Errno 28\] No space left on device; any previous out.txt is unchanged"
    with pytest.raises(StorageError, match=full), atomic_file(target) as temporary:
        temporary.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "previous\n" and _hidden(tmp_path) == []


def test_an_interrupted_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = write_text(tmp_path / "out.txt", "previous\n")
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "previous\n" and _hidden(tmp_path) == []


def test_writers_write_exactly_the_named_file(tmp_path: Path) -> None:
    save_npy(tmp_path / "vectors", np.ones((2, 3), dtype=np.float32))
    assert np.load(tmp_path / "vectors").shape == (2, 3) and not (tmp_path / "vectors.npy").exists()
    write_json(tmp_path / "a.json", {"é": 1})
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8")) == {"é": 1}


def test_a_temporary_file_keeps_the_suffix_that_chooses_the_format(tmp_path: Path) -> None:
    with atomic_file(tmp_path / "pairs.tsv.gz") as temporary:
        assert temporary.name.endswith(".gz") and temporary.parent == tmp_path
        temporary.write_bytes(b"x")


def test_a_staged_folder_changes_nothing_until_it_is_complete(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with staged_folder(target) as staging:
        (staging / "a.txt").write_text("1")
        (staging / "sub").mkdir()
        (staging / "sub" / "b.txt").write_text("2")
    with pytest.raises(StorageError), staged_folder(target) as staging:
        (staging / "a.txt").write_text("new")
        raise OSError(errno.EFBIG, "File too large")
    assert (target / "a.txt").read_text() == "1" and (target / "sub" / "b.txt").read_text() == "2"
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize(
    ("relative", "problem"),
    [
        ("absent/out.npy", "the folder {tmp}/absent does not exist"),
        ("folder", "is a folder; give a file name"),
        ("file.txt/out.npy", "{tmp}/file.txt is a file, not a folder"),
    ],
)
def test_output_file_mistakes(tmp_path: Path, relative: str, problem: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ConfigError, match=problem.format(tmp=tmp_path)):
        check_output_file(tmp_path / relative)


def test_output_folder_mistakes(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "file.txt")
    with pytest.raises(ConfigError, match=f"{tmp_path}/file.txt is a file, not a folder"):
        check_output_folder(tmp_path / "file.txt" / "run")


def test_fingerprints_follow_content_not_paths(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "weights.bin").write_bytes(b"\x00\x01")
        (tmp_path / name / "sub" / "config.json").write_text("{}")
    assert folder_fingerprint(tmp_path / "a") == folder_fingerprint(tmp_path / "b")
    before = model_fingerprint(tmp_path / "a")
    (tmp_path / "a" / "weights.bin").write_bytes(b"\x00\x02")  # same size, same name
    assert model_fingerprint(tmp_path / "a") != before
    assert model_fingerprint("org/hub-model") is None
