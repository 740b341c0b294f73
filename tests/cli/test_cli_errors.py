"""Command-line mistakes: one line on stderr naming the problem (and the fix, where there is one),
exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import BertConfig, BertModel

from interlingua.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, list[str]]:
    """Exit code and stderr lines of ``interlingua ARGV`` (progress bars left out)."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "it/s]" not in line]
    return code, lines


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CASES = {
    "missing config file": (
        lambda tmp: ["train", "--config", str(tmp / "absent.yaml")],
        "interlingua train: error: {tmp}/absent.yaml: config file not found",
    ),
    "unknown key in the config file": (
        lambda tmp: ["train", "--config", str(write(tmp / "run.yaml", "max_step: 3\n"))],
        "interlingua train: error: {tmp}/run.yaml: unknown key 'max_step'; did you mean 'max_steps'?",
    ),
    "config file that is not YAML": (
        lambda tmp: [
            "train",
            "--config",
            str(write(tmp / "run.yaml", "langs: [deu,\n  fra\nmax_steps: 3\n")),
        ],
        "interlingua train: error: {tmp}/run.yaml: not valid YAML: ",
    ),
    "misspelt option": (
        lambda tmp: ["train", "--maxsteps", "3"],
        "interlingua train: error: unrecognized option --maxsteps; did you mean --max-steps?",
    ),
    "option value of the wrong type": (
        lambda tmp: ["train", "--max-steps", "many"],
        "interlingua train: error: argument --max-steps: invalid int value: 'many'",
    ),
    "unknown recipe": (
        lambda tmp: ["train", "--recipe", "trr", "--output", str(tmp / "out"), "--max-steps", "1"],
        "interlingua train: error: unknown recipe 'trr'; did you mean tr?",
    ),
    "unknown subcommand": (
        lambda tmp: ["trian"],
        "interlingua: error: argument COMMAND: invalid choice: 'trian'",
    ),
    "missing data root": (
        lambda tmp: [
            "train",
            "--langs=fra",
            f"--data-root={tmp / 'data'}",
            f"--output={tmp / 'out'}",
            "--max-steps=1",
        ],
        "interlingua train: error: data root {tmp}/data does not exist",
    ),
    "missing input file": (
        lambda tmp: [
            "encode",
            "--model",
            str(tmp),
            "--input",
            str(tmp / "absent.txt"),
            "--output",
            str(tmp / "x.npy"),
        ],
        "interlingua encode: error: {tmp}/absent.txt: file not found",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_user_mistakes_get_one_line_and_exit_code_2(case: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("INTERLINGUA_DATA", raising=False)
    argv, expected = CASES[case]
    code, lines = run(argv(tmp_path), capsys)
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected.format(tmp=tmp_path)), lines[0]


def test_a_pretrained_model_without_a_tokenizer_is_refused(tmp_path: Path, data_root: Path, capsys) -> None:
    """Without tokenizer files, transformers loads the model with an empty vocabulary (every word
    unknown): training would go on, on nothing."""
    model = tmp_path / "no-tokenizer"
    config = BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    BertModel(config).save_pretrained(str(model))
    argv = ["train", "--langs=fra", "--corpora=tico19", f"--data-root={data_root}", f"--pretrained={model}"]
    code, lines = run([*argv, f"--output={tmp_path / 'out'}", "--max-steps=1"], capsys)
    assert code == 2
    [error] = [line for line in lines if "error:" in line]
    assert error.startswith(f"interlingua train: error: {model}: the model has no tokenizer")
