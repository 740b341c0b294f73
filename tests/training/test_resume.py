"""Exact resume: `interlingua train` killed with SIGKILL at random steps and rerun with --resume ends
with the same weights, bit for bit, as the same command never interrupted.

The kill steps are drawn from a fixed seed, so a failure reproduces.  The run is killed twice, so
that a resumed run is itself resumed; the tiny corpus (2 x 48 pairs, 6 batches an epoch) makes the
10 steps cross an epoch boundary.  Each run is the command line's ``main`` in a process of its own,
forked from a server that imported the toolkit once (the interpreter start-up would otherwise cost
more than the training).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_tiny import TINY_TR, as_flags

from interlingua.cli.main import main
from interlingua.training.callbacks import trim_log
from interlingua.training.checkpoints import CHECKPOINTS
from interlingua.training.config import build_config
from interlingua.training.trainer import train

MAX_STEPS = 10
KILL_SEED = 20240611
TINY = {**TINY_TR, "max_steps": MAX_STEPS}
TRAIN = [
    "train",
    *as_flags(TINY),
    "--eval-langs=ang",  # the smallest Tatoeba set (134 pairs) is scored after training
]
FORK_SERVER = multiprocessing.get_context("forkserver")
FORK_SERVER.set_forkserver_preload(["interlingua.cli.main", "interlingua.training.pipeline"])


def run_command_line(argv: list[str], log: Path) -> None:
    """In the run's own process: ``interlingua train ...``, its output in ``log``, one thread (two runs
    share the machine; the arithmetic is the same in every run)."""
    with open(log, "w") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    torch.set_num_threads(1)
    sys.exit(main(argv))


@dataclass
class Run:
    process: multiprocessing.Process
    log: Path


def start(output: Path, data_root: Path, *extra: str) -> Run:
    argv = [*TRAIN, f"--data-root={data_root}", f"--output={output}", *extra]
    log = output.with_name(f"{output.name}-{len(list(output.parent.glob(output.name + '-*.log')))}.log")
    process = FORK_SERVER.Process(target=run_command_line, args=(argv, log))
    process.start()
    return Run(process, log)


def logged_steps(output: Path) -> list[int]:
    """The steps whose loss the run has logged so far (complete lines only)."""
    path = output / "train_log.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    records = [json.loads(line) for line in lines if line.endswith("\n")]
    return [record["step"] for record in records if "loss" in record]


def kill_after_step(run: Run, output: Path, step: int) -> None:
    """SIGKILL the run as soon as it has logged ``step`` (it is then somewhere in step + 1)."""
    deadline = time.monotonic() + 300
    while max(logged_steps(output), default=0) < step:
        if not run.process.is_alive():
            pytest.fail(
                f"the run ended (exit {run.process.exitcode}) before step {step}: {run.log.read_text()}"
            )
        if time.monotonic() > deadline:
            run.process.kill()
            pytest.fail(f"the run did not reach step {step} in 300 s")
        time.sleep(0.005)
    os.kill(run.process.pid, signal.SIGKILL)
    run.process.join()
    assert run.process.exitcode == -signal.SIGKILL
    assert not (output / "model.safetensors").exists(), "killed after the run had finished"


def finish(run: Run) -> None:
    run.process.join(timeout=300)
    assert run.process.exitcode == 0, run.log.read_text()


def test_killed_twice_and_resumed_ends_with_identical_weights(tmp_path: Path, data_root: Path) -> None:
    rng = random.Random(KILL_SEED)
    first_kill = rng.randint(1, 4)
    second_kill = rng.randint(first_kill + 2, MAX_STEPS - 3)
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"

    uninterrupted_run = start(reference, data_root)  # runs alongside the interrupted one
    kill_after_step(start(interrupted, data_root), interrupted, first_kill)
    kill_after_step(start(interrupted, data_root, "--resume"), interrupted, second_kill)
    finish(start(interrupted, data_root, "--resume"))
    finish(uninterrupted_run)

    expected = load_file(str(reference / "model.safetensors"))
    resumed = load_file(str(interrupted / "model.safetensors"))
    assert expected.keys() == resumed.keys()
    different = [name for name in expected if not torch.equal(expected[name], resumed[name])]
    assert not different, f"kills after steps {first_kill} and {second_kill}: {different} differ"
    assert logged_steps(interrupted) == list(range(1, MAX_STEPS + 1))  # redone steps logged once


def test_rerunning_a_finished_run_with_resume_changes_nothing(tmp_path: Path, data_root: Path) -> None:
    """A run killed after its last checkpoint (while exporting or scoring) is exported from that
    checkpoint: the Trainer, resumed at the last step, would train one step more (with a constant
    learning rate, a real update)."""
    values = {
        **TINY,
        "max_steps": 2,
        "schedule": "constant",
        "data_root": str(data_root),
        "output": str(tmp_path),
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = build_config(overrides=values)
        first, _ = train(config)
        expected = load_file(str(tmp_path / "model.safetensors"))
        config.resume = True
        again, _ = train(config)
    finally:
        torch.set_num_threads(threads)
    assert first.steps == again.steps == 2
    resumed = load_file(str(tmp_path / "model.safetensors"))
    assert all(torch.equal(expected[name], resumed[name]) for name in expected)
    assert sorted(p.name for p in (tmp_path / CHECKPOINTS).iterdir()) == ["checkpoint-2"]
    assert logged_steps(tmp_path) == [1, 2]


def test_trimming_the_log_drops_redone_steps_and_a_torn_record(tmp_path: Path) -> None:
    log = tmp_path / "train_log.jsonl"
    log.write_text(
        "".join(json.dumps({"step": step, "loss": 1.0}) + "\n" for step in range(1, 6)) + '{"step": 6, "lo'
    )
    trim_log(log, 3)
    assert logged_steps(tmp_path) == [1, 2, 3] and log.read_text().endswith("}\n")
    trim_log(log, 0)
    assert log.read_text() == ""
