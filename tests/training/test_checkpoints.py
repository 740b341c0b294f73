"""Atomic checkpoints: staged and sealed, damage detected and skipped, a full disk reported cleanly."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest
import torch
from training_tiny import TINY_TR, as_flags

from interlingua.cli.main import main
from interlingua.errors import StorageError
from interlingua.training.checkpoints import (
    CHECKPOINTS,
    MANIFEST,
    checkpoint_writer,
    latest_valid_checkpoint,
    problem_with,
    remove_unfinished_saves,
    rotate_checkpoints,
    staging_folder,
)
from interlingua.training.config import build_config
from interlingua.training.trainer import InterlinguaTrainer, train

FILES = {"model.safetensors": b"weights", "optimizer.pt": b"moments", "1_Pooling/config.json": b"{}"}
TINY = {**TINY_TR, "max_steps": 4}


def make_checkpoint(root: Path, step: int) -> Path:
    with checkpoint_writer(root, step) as staging:
        for name, data in FILES.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
    return root / f"checkpoint-{step}"


def test_a_sealed_checkpoint_verifies_and_leaves_no_staging_folder(tmp_path: Path) -> None:
    checkpoint = make_checkpoint(tmp_path, 2)
    assert problem_with(checkpoint) is None
    assert {p.relative_to(checkpoint).as_posix() for p in checkpoint.rglob("*") if p.is_file()} == {
        *FILES,
        MANIFEST,
    }
    assert not staging_folder(tmp_path, 2).exists()


def _truncate(checkpoint: Path) -> None:
    path = checkpoint / "model.safetensors"
    path.write_bytes(path.read_bytes()[:3])


def _flip_a_byte(checkpoint: Path) -> None:
    path = checkpoint / "optimizer.pt"
    data = bytearray(path.read_bytes())
    data[2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated file": (_truncate, "model.safetensors has 3 bytes, its manifest says 7"),
    "flipped byte": (_flip_a_byte, "optimizer.pt does not match its checksum"),
    "missing file": (
        lambda c: (c / "1_Pooling" / "config.json").unlink(),
        "1_Pooling/config.json is missing",
    ),
    "no manifest": (lambda c: (c / MANIFEST).unlink(), "no manifest: its save did not finish"),
    "garbled manifest": (lambda c: (c / MANIFEST).write_text('{"files": [1'), "unreadable manifest"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_reported_and_skipped_for_the_previous_one(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    damage_checkpoint, reason = DAMAGE[damage]
    good = make_checkpoint(tmp_path, 2)
    damaged = make_checkpoint(tmp_path, 4)
    damage_checkpoint(damaged)
    assert problem_with(damaged) == reason or reason in problem_with(damaged)
    with caplog.at_level(logging.WARNING):
        assert latest_valid_checkpoint(tmp_path) == good
    assert f"skipping checkpoint {damaged}: {reason}" in caplog.text


def test_interrupted_saves_are_not_checkpoints_and_are_removed(tmp_path: Path) -> None:
    good = make_checkpoint(tmp_path, 2)
    unfinished = staging_folder(tmp_path, 4)
    unfinished.mkdir()
    (unfinished / "model.safetensors").write_bytes(b"half")
    assert latest_valid_checkpoint(tmp_path) == good
    remove_unfinished_saves(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2"]


@pytest.mark.parametrize(
    "failure",
    [OSError(errno.ENOSPC, "No space left on device"), RuntimeError("[enforce fail] file write failed")],
)
def test_a_failed_write_raises_a_clear_error_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, failure: Exception
) -> None:
    good = make_checkpoint(tmp_path, 2)
    with pytest.raises(StorageError) as info, checkpoint_writer(tmp_path, 4) as staging:
        (staging / "model.safetensors").write_bytes(b"partial")
        raise failure
    message = str(info.value)
    assert message.startswith(f"cannot write checkpoint checkpoint-4 in {tmp_path}: ")
    assert str(failure).splitlines()[0] in message and "MiB free" in message
    assert "the last good checkpoint, checkpoint-2, is intact: free space and rerun with --resume" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2"]
    assert problem_with(good) is None


def test_a_failed_first_save_and_a_bug_in_a_save(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no earlier checkpoint exists"), checkpoint_writer(tmp_path, 2):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")
    with pytest.raises(ValueError, match="a bug"), checkpoint_writer(tmp_path, 2):
        raise ValueError("a bug, not a full disk")  # not turned into a user error
    assert list(tmp_path.iterdir()) == []


def test_rotation_keeps_the_newest_sealed_checkpoints(tmp_path: Path) -> None:
    for step in (2, 4, 6, 8):
        make_checkpoint(tmp_path, step)
    (tmp_path / "checkpoint-5").mkdir()  # unsealed
    rotate_checkpoints(tmp_path, newest=6, keep=2)  # 8 is left from an attempt rolled back to 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-4", "checkpoint-6"]


def tiny_argv(data_root: Path, output: Path, *extra: str) -> list[str]:
    flags = as_flags(TINY)
    return ["train", *flags, f"--data-root={data_root}", f"--output={output}", "--eval-langs=ang", *extra]


def test_a_full_disk_stops_the_run_cleanly_and_resume_finishes_it(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    one_thread,
) -> None:
    output = tmp_path / "model"
    save = torch.save

    def disk_full_at_step_4(obj, path, *args, **kwargs):
        if Path(path).parent.name == staging_folder(Path(), 4).name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_full_at_step_4)
    assert main(tiny_argv(data_root, output)) == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]  # not the bars
    assert error.startswith("interlingua train: error: cannot write checkpoint checkpoint-4 in ")
    assert "No space left on device" in error and "checkpoint-2, is intact" in error
    checkpoints = output / CHECKPOINTS
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-2"]
    assert problem_with(checkpoints / "checkpoint-2") is None

    monkeypatch.setattr(torch, "save", save)  # space freed
    assert main(tiny_argv(data_root, output, "--resume")) == 0
    assert problem_with(checkpoints / "checkpoint-4") is None
    assert (output / "model.safetensors").is_file()


def test_resume_skips_a_corrupt_newest_checkpoint(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    one_thread,
) -> None:
    config = build_config(overrides={**TINY, "data_root": str(data_root), "output": str(tmp_path / "model")})
    train(config)
    checkpoints = tmp_path / "model" / CHECKPOINTS
    weights = checkpoints / "checkpoint-4" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight: the file still loads, with a wrong value
    weights.write_bytes(bytes(data))

    resumed_from = []
    original = InterlinguaTrainer._load_from_checkpoint

    def spy(self, checkpoint_path, *args, **kwargs):
        resumed_from.append(Path(checkpoint_path).name)
        original(self, checkpoint_path, *args, **kwargs)

    monkeypatch.setattr(InterlinguaTrainer, "_load_from_checkpoint", spy)
    config.resume = True
    with caplog.at_level(logging.WARNING):
        run, _ = train(config)
    assert resumed_from == ["checkpoint-2"] and run.steps == 4
    assert "checkpoint-4: model.safetensors does not match its checksum (corrupt)" in caplog.text
    assert problem_with(checkpoints / "checkpoint-4") is None  # written again by the resumed run
