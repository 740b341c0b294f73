"""Every numeric option of every subcommand at 0, -1 and a non-number: one line, exit code 2, no
traceback, and nothing created or changed on disk, because the value is checked before any work.

The options are found by walking the parser, so a new subcommand or option is swept as soon as it
exists; an option whose values 0 or -1 are meaningful is listed below with the reason.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from interlingua.cli.main import build_parser, main
from interlingua.validation import Number

# Valid command lines but for the option under test (added last, so it overrides any default).
BASE = {
    "train": ["train", "--langs", "fra", "--max-steps", "1", "--output", "{tmp}/run"],
    "student": ["student", "--output", "{tmp}/student"],
    "encode": ["encode", "--model", "{tmp}/model", "--input", "{tmp}/in.txt", "--output", "{tmp}/out.npy"],
    "eval": ["--model", "{tmp}/model", "--output", "{tmp}/results.json"],
    "tokenizer train": ["tokenizer", "train", "--langs", "fra", "--output", "{tmp}/tokenizer"],
    "mine": ["mine", "--src", "{tmp}/in.txt", "--tgt", "{tmp}/in.txt", "--model", "{tmp}/model"]
    + ["--output", "{tmp}/pairs.tsv"],
    "export": ["--model", "{tmp}/model", "--output", "{tmp}/export", "--no-check"],
    "data shard": ["data", "shard", "{tmp}", "--output", "{tmp}/shards", "--shards", "2"],
}
# Options whose value is a number written as text, checked by their own parser.
TEXT_NUMBERS = {("train",): ["--budget"], ("mine",): ["--max-memory"]}
# 0 is a meaningful value: a seed, a weight that turns a loss term off, no margin, no warm-up, ...
ZERO_IS_VALID = {
    "--seed",
    "--threshold",
    "--margin",
    "--warmup",
    "--weight-decay",
    "--dropout",
}
NEGATIVE_IS_VALID = {"--threshold"}  # margin scores of the distance and absolute margins can be negative


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator:
    if parser.get_default("func") is not None:
        yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from _leaves(subparser, (*path, name))


def _numeric_options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        action.option_strings[-1]
        for action in parser._actions
        if isinstance(action.type, Number) or action.type in (int, float)
    ]


def _base(path: tuple[str, ...]) -> list[str]:
    key = " ".join(path)
    if key in BASE:
        return BASE[key]
    return [*path, *BASE[path[0]]]  # eval TASK / export FORMAT share their options


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for path, parser in _leaves(build_parser()):
        options = _numeric_options(parser) + TEXT_NUMBERS.get(path, [])
        for option in options:
            for value in ("0", "-1", "x"):
                zero_is_valid = option in ZERO_IS_VALID or option.endswith("-weight")  # a term turned off
                if (value == "0" and zero_is_valid) or (value == "-1" and option in NEGATIVE_IS_VALID):
                    continue
                cases.append((" ".join(path), option, value))
    return cases


def test_every_numeric_option_is_checked_by_the_validation_layer() -> None:
    """A plain ``type=int`` accepts 0 and -1 silently: every numeric option must use ``Number``."""
    for path, parser in _leaves(build_parser()):
        plain = [action.option_strings for action in parser._actions if action.type in (int, float)]
        assert not plain, f"{' '.join(path)}: {plain} are plain int/float"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(("command", "option", "value"), _cases())
def test_bad_numbers_stop_at_once_with_one_line(
    command: str, option: str, value: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("INTERLINGUA_DATA", str(tmp_path))
    (tmp_path / "in.txt").write_text("a sentence\n", encoding="utf-8")
    (tmp_path / "out.npy").write_bytes(b"previous output")
    before = _snapshot(tmp_path)
    argv = [part.format(tmp=tmp_path) for part in _base(tuple(command.split()))]
    try:
        code = main([*argv, f"{option}={value}"])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("interlingua"), err
    assert "Traceback" not in err
    name = option.lstrip("-")
    assert name in lines[0] or name.replace("-", "_") in lines[0], lines[0]
    assert _snapshot(tmp_path) == before
