"""Checkpoints that are complete or absent: staged, sealed, renamed, and verified before a resume.

The stock Trainer writes ``checkpoint-N`` in place, so a run killed (or out of disk space) in the
middle of a save leaves a folder that looks like a checkpoint and fails, or half-loads, when it is
resumed.  Here a checkpoint is written into ``.staging-checkpoint-N``, sealed with a manifest of
every file's size and SHA-256, flushed to disk, and only then renamed to ``checkpoint-N``: the
rename is atomic, so a folder of that name is complete.  Before a resume the checkpoints are
verified against their manifests, newest first; a partial or corrupt one is reported and skipped
for the previous good one.  A save that fails (full disk, quota, permissions) removes its staging
folder and raises ``StorageError``; the earlier checkpoints are left as they were.

A run's folder is opened here too (``open_run``: what it may write over, where it resumes), and a
run is finished from its checkpoint (``train_to_the_end``) and its model saved (``save_final_model``).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelerate import PartialState
from safetensors import SafetensorError
from sentence_transformers import SentenceTransformer

from interlingua.atomic import (
    STORAGE_ERRNOS,
    check_output_folder,
    sha256_file,
    staged_folder,
    sync,
    write_json,
)
from interlingua.errors import ConfigError, StorageError
from interlingua.training.callbacks import BudgetCallback, read_clock
from interlingua.training.config import TrainConfig, save_config
from interlingua.training.schedule import CLOCKS

logger = logging.getLogger(__name__)

MANIFEST = "interlingua_checkpoint.json"
STAGING_PREFIX = ".staging-"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# How failed writes surface: OSError from Python, RuntimeError from torch.save (whose message does
# not name the cause: "file write failed"), SafetensorError from safetensors.
_WRITE_ERRORS = (OSError, RuntimeError, SafetensorError)


def checkpoint_folders(root: Path) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every ``checkpoint-N`` folder under ``root``, newest first."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and path.is_dir():
            found.append((int(match[1]), path))
    return sorted(found, reverse=True)


def step_of(checkpoint: Path) -> int:
    """The step a ``checkpoint-N`` folder was written at."""
    match = _CHECKPOINT.match(checkpoint.name)
    if match is None:
        raise ValueError(f"{checkpoint} is not a checkpoint folder")
    return int(match[1])


def seal(staging: Path) -> None:
    """Write the manifest of ``staging`` (size and SHA-256 of each file), flushing everything."""
    files = {}
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        sync(path)
        files[path.relative_to(staging).as_posix()] = {
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
        }
    write_json(staging / MANIFEST, {"files": files}, indent=1, sort_keys=True, ensure_ascii=True)
    for folder in sorted({staging, *(p.parent for p in staging.rglob("*"))}):
        sync(folder)


def problem_with(checkpoint: Path) -> str | None:
    """Why ``checkpoint`` cannot be resumed from, or None when every file matches its manifest."""
    try:
        files = json.loads((checkpoint / MANIFEST).read_text(encoding="utf-8"))["files"]
        expected = {str(name): (int(entry["bytes"]), str(entry["sha256"])) for name, entry in files.items()}
    except FileNotFoundError:
        return "no manifest: its save did not finish"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return f"unreadable manifest ({type(error).__name__}: {error})"
    for name, (size, digest) in sorted(expected.items()):
        path = checkpoint / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has {path.stat().st_size} bytes, its manifest says {size}"
        if sha256_file(path) != digest:
            return f"{name} does not match its checksum (corrupt)"
    return None


def latest_valid_checkpoint(root: Path) -> Path | None:
    """The newest checkpoint under ``root`` that passes verification; each newer one that does not
    is logged with the reason it was skipped."""
    for _, path in checkpoint_folders(root):
        problem = problem_with(path)
        if problem is None:
            return path
        logger.warning("skipping checkpoint %s: %s; trying the previous one", path, problem)
    return None


def remove_unfinished_saves(root: Path) -> None:
    """Delete the staging folders of saves that were interrupted (they never became checkpoints)."""
    if root.is_dir():
        for path in root.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(path, ignore_errors=True)


def staging_folder(root: Path, step: int) -> Path:
    """Where the checkpoint of ``step`` is written before it is sealed and renamed."""
    return root / f"{STAGING_PREFIX}checkpoint-{step}"


def _last_sealed(root: Path, below: int) -> Path | None:
    return next(
        (path for step, path in checkpoint_folders(root) if step < below and (path / MANIFEST).is_file()),
        None,
    )


def _free_space(path: Path) -> str:
    try:
        return f"{shutil.disk_usage(path).free / 2**20:,.0f} MiB free"
    except OSError:
        return "free space unknown"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


@contextmanager
def checkpoint_writer(root: Path, step: int) -> Iterator[Path]:
    """Yield an empty staging folder for the checkpoint of ``step``; once the block has written into
    it, seal it and rename it to ``checkpoint-<step>`` (replacing a stale folder of that name).

    If anything fails, the staging folder is removed; a failed write becomes a ``StorageError``
    naming the cause, the free space and the last good checkpoint, which is left untouched.
    """
    staging = staging_folder(root, step)
    final = root / f"checkpoint-{step}"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        yield staging
        seal(staging)
        if final.exists():  # left by an attempt that was rolled back to an earlier checkpoint
            shutil.rmtree(final)
        staging.rename(final)
        sync(root)
    except BaseException as error:
        free = _free_space(root)
        shutil.rmtree(staging, ignore_errors=True)
        if not isinstance(error, _WRITE_ERRORS):
            raise
        previous = _last_sealed(root, below=step)
        outcome = (
            f"the last good checkpoint, {previous.name}, is intact: free space and rerun with --resume"
            if previous is not None
            else "no earlier checkpoint exists: free space and start again"
        )
        raise StorageError(
            f"cannot write checkpoint {final.name} in {root}: {_first_line(error)} ({free}); {outcome}"
        ) from error


def rotate_checkpoints(root: Path, newest: int, keep: int) -> None:
    """Keep the ``keep`` newest sealed checkpoints up to step ``newest`` and delete the others:
    older ones, unsealed ones, and any of a later step (left by an attempt that was rolled back)."""
    kept = 0
    for step, path in checkpoint_folders(root):
        if step <= newest and kept < keep and (path / MANIFEST).is_file():
            kept += 1
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- a run: its folder opened, its checkpoint resumed, its model saved -----------------------------

CHECKPOINTS = "checkpoints"
# Files of a finished model folder: writing a new run over them would lose that model.
MODEL_FILES = ("modules.json", "model.safetensors", "config_sentence_transformers.json")


@dataclass(frozen=True)
class RunFolder:
    """Where a run writes, and the checkpoint it resumes from (None: from the start)."""

    output: Path
    resume_from: Path | None

    @property
    def checkpoints(self) -> Path:
        return self.output / CHECKPOINTS


def open_run(config: TrainConfig, state: PartialState) -> RunFolder:
    """Check that ``config`` can run, before any work; clear unfinished saves; find the checkpoint
    of ``--resume``.  A run never writes over a trained model, or over checkpoints it does not resume."""
    if not config.output:
        raise ConfigError("no output folder: pass --output DIR")
    if config.max_steps is None and config.budget is None:
        raise ConfigError("the run needs an end: pass --max-steps N and/or --budget 20m")
    if config.budget_clock not in CLOCKS:
        raise ConfigError(f"budget_clock must be {' or '.join(CLOCKS)}, not {config.budget_clock!r}")
    output = check_output_folder(config.output)
    checkpoints = output / CHECKPOINTS
    if not config.resume and any((output / name).exists() for name in MODEL_FILES):
        raise ConfigError(
            f"{output} holds a trained model: pass another --output (or --resume to finish its run)"
        )
    if state.is_main_process:
        remove_unfinished_saves(checkpoints)
    state.wait_for_everyone()
    if not config.resume and checkpoint_folders(checkpoints):
        raise ConfigError(
            f"{output} already holds checkpoints: pass --resume to continue, or another --output"
        )
    resume_from = latest_valid_checkpoint(checkpoints) if config.resume else None
    if config.resume and resume_from is None:
        logger.warning("--resume: no usable checkpoint in %s, starting from scratch", checkpoints)
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
    return RunFolder(output, resume_from)


def run_was_complete(checkpoint: Path, config: TrainConfig) -> bool:
    """Whether ``checkpoint`` ends the run: it holds the last step, or the budget was spent."""
    budget = config.budget_seconds()
    return (config.max_steps is not None and step_of(checkpoint) >= config.max_steps) or (
        budget is not None and read_clock(checkpoint) >= budget
    )


def train_to_the_end(trainer: Any, run: RunFolder, config: TrainConfig, budget: BudgetCallback) -> int:
    """Train ``trainer`` from the run's checkpoint (if any) to the end; returns the steps done.

    A run killed after its last checkpoint (while exporting or scoring) is finished from that
    checkpoint without training: the Trainer, resumed there, would train one step more."""
    try:
        if run.resume_from is not None and run_was_complete(run.resume_from, config):
            trainer.restore(run.resume_from)
            steps = step_of(run.resume_from)
            budget.stopped_by_budget = config.max_steps is None or steps < config.max_steps
            return steps
        trainer.train(resume_from_checkpoint=str(run.resume_from) if run.resume_from else None)
        return trainer.state.global_step
    except OSError as error:  # writing a log line; checkpoints raise StorageError
        if error.errno not in STORAGE_ERRNOS:
            raise
        raise _final_write_error(run.output, error) from error


def _final_write_error(output: Path, error: BaseException) -> StorageError:
    return StorageError(
        f"cannot write in {output}: {error}; the checkpoints in {output / CHECKPOINTS} are intact: "
        "fix this and rerun with --resume"
    )


def save_final_model(model: SentenceTransformer, config: TrainConfig, output: Path) -> None:
    """The model and the config that made it, written together once complete: a run that failed
    earlier leaves the folder's previous files (``train_config.yaml`` included) as they were."""
    try:
        with staged_folder(output) as staging:
            model.save(str(staging))
            save_config(config, staging / "train_config.yaml")
    except StorageError as error:
        raise _final_write_error(output, error.__cause__ or error) from error
