"""Mistakes found before any work, in every command: output paths, model paths, untrusted files,
and Ctrl-C in a training run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from interlingua.cli.main import main


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _files(tmp: Path) -> None:
    (tmp / "in.txt").write_text("ein haus\n", encoding="utf-8")
    (tmp / "pairs.tsv").write_text("1.1\ta\tb\t1\t1\n", encoding="utf-8")
    (tmp / "gold.tsv").write_text("1\t1\n", encoding="utf-8")
    (tmp / "folder").mkdir()


MINE = ["mine", "--src", "{tmp}/in.txt", "--tgt", "{tmp}/in.txt", "--model", "{model}"]
CASES = {
    "train --output under a file": (
        ["train", "--langs", "fra", "--max-steps", "1", "--output", "{tmp}/in.txt/run"],
        "--output {tmp}/in.txt/run: {tmp}/in.txt is a file, not a folder",
    ),
    "train --output a file": (
        ["train", "--langs", "fra", "--max-steps", "1", "--output", "{tmp}/in.txt"],
        "--output {tmp}/in.txt: is a file, not a folder",
    ),
    "mine --output in a missing folder": (
        [*MINE, "--output", "{tmp}/absent/p.tsv"],
        "--output {tmp}/absent/p.tsv: the folder {tmp}/absent does not exist",
    ),
    "mine --histogram in a missing folder": (
        [*MINE, "--output", "{tmp}/p.tsv", "--histogram", "{tmp}/absent/h.png"],
        "--histogram {tmp}/absent/h.png: the folder {tmp}/absent does not exist",
    ),
    "mine --output an existing folder": (
        [*MINE, "--output", "{tmp}/folder"],
        "is a folder; give a file name",
    ),
    "calibrate --histogram in a missing folder": (
        ["mine", "calibrate", "--pairs", "{tmp}/pairs.tsv", "--gold", "{tmp}/gold.tsv"]
        + ["--histogram", "{tmp}/absent/h.png"],
        "--histogram {tmp}/absent/h.png: the folder {tmp}/absent does not exist",
    ),
    "eval --output an existing folder": (
        ["eval", "tatoeba", "--model", "{model}", "--output", "{tmp}/folder"],
        "--output {tmp}/folder: is a folder; give a file name",
    ),
    "eval --plot under a file": (
        ["eval", "tatoeba", "--model", "{model}", "--plot", "{tmp}/in.txt/p.png"],
        "{tmp}/in.txt is a file, not a folder",
    ),
    "export --output a file": (
        ["export", "onnx", "--model", "{model}", "--output", "{tmp}/in.txt", "--no-check"],
        "--output {tmp}/in.txt: is a file, not a folder",
    ),
    "relative model path that does not exist": (
        ["encode", "--model", "runs/absent-model", "--input", "{tmp}/in.txt", "--output", "{tmp}/v.npy"],
        "--model runs/absent-model: no such folder",
    ),
    "relative pretrained path that does not exist": (
        ["train", "--langs", "fra", "--max-steps", "1", "--output", "{tmp}/run", "--pretrained", "./absent"],
        "--pretrained ./absent: no such folder",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mistakes_are_found_before_any_work(case, tmp_path, tiny_model, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INTERLINGUA_DATA", str(tmp_path))
    (tmp_path / "runs").mkdir()  # so that runs/absent-model is a local path, not a hub name
    _files(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    argv, expected = CASES[case]
    code, lines = run([part.format(tmp=tmp_path, model=tiny_model) for part in argv], capsys)
    assert code == 2 and len(lines) == 1, lines
    assert expected.format(tmp=tmp_path) in lines[0], lines[0]
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_ctrl_c_in_training_is_one_line_with_the_resume_command(tmp_path, capsys, monkeypatch) -> None:
    import interlingua.training.pipeline as pipeline

    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "train_and_evaluate", interrupted)
    code, lines = run(["train", "--pairs", "", "--max-steps", "3", "--output", str(tmp_path / "run")], capsys)
    assert code == 130 and len(lines) == 1
    assert lines[0] == (
        f"interlingua train: interrupted; the checkpoints in {tmp_path / 'run'} are kept: "
        "rerun the same command with --resume to continue"
    )


class _Code:
    def __reduce__(self):
        return (os.getcwd, ())


def test_a_model_file_holding_code_is_refused_in_one_line(tmp_path, tiny_model, capsys) -> None:
    """torch.load (weights only) refuses it with a traceback that does not name the file."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "model.safetensors").unlink()
    torch.save({"weights": _Code()}, model / "pytorch_model.bin")
    (tmp_path / "in.txt").write_text("ein haus\n", encoding="utf-8")
    argv = [
        "encode",
        "--model",
        str(model),
        "--input",
        str(tmp_path / "in.txt"),
        "--output",
        str(tmp_path / "v.npy"),
    ]
    code, lines = run(argv, capsys)
    errors = [line for line in lines if "error:" in line]
    assert code == 2 and len(errors) == 1 and not any("Traceback" in line for line in lines)
    assert errors[0].startswith(f"interlingua encode: error: refused to load {model / 'pytorch_model.bin'}: ")


def test_quiet_training_prints_only_its_results(tmp_path, capsys, monkeypatch) -> None:
    import sys

    from tqdm import tqdm

    import interlingua.training.pipeline as pipeline

    def noisy(config):
        for _ in tqdm(range(3), desc="training"):
            print("a note", file=sys.stderr)
        print("results table")

    monkeypatch.setattr(pipeline, "train_and_evaluate", noisy)
    argv = ["train", "--pairs", "", "--max-steps", "3", "--output", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == "results table\n" and captured.err == ""
