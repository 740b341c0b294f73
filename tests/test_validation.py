"""interlingua.validation: types and ranges of options and config values."""

from __future__ import annotations

import argparse

import pytest

from interlingua.errors import ConfigError
from interlingua.validation import Number, check_model_reference, check_value


@pytest.mark.parametrize(
    ("value", "hint", "bounds", "problem"),
    [
        ("no", bool, {}, "must be true or false, not 'no'"),
        (1, bool, {}, "must be true or false, not 1"),
        (True, int, {}, "must be an integer, not True"),
        (3.7, int, {}, "must be an integer, not 3.7"),
        ("ten", int | None, {}, "must be an integer, not 'ten'"),
        (0, int | None, {"minimum": 1}, "must be at least 1, not 0"),
        (0.0, float, {"above": 0}, "must be greater than 0, not 0.0"),
        (1.0, float, {"below": 1}, "must be less than 1, not 1.0"),
        (5, list[str], {}, "must be a list (or a comma-separated string), not 5"),
        ("gpu", str, {"choices": ("wall", "cpu")}, "must be one of wall, cpu, not 'gpu'"),
        (None, str, {}, "must not be empty"),
    ],
)
def test_bad_values_are_named_with_their_source(value, hint, bounds, problem) -> None:
    with pytest.raises(ConfigError, match=rf"^run\.yaml: key {__import__('re').escape(problem)}$"):
        check_value("key", value, hint, bounds, "run.yaml")


def test_good_values_pass_and_ints_become_floats() -> None:
    assert check_value("k", None, int | None, {"minimum": 1}, "s") is None
    assert check_value("k", 2, float, {}, "s") == 2.0 and isinstance(
        check_value("k", 2, float, {}, "s"), float
    )
    assert check_value("k", ["deu"], list[str], {}, "s") == ["deu"]


def test_numbers_on_the_command_line() -> None:
    positive = Number(int, minimum=1)
    assert positive("3") == 3
    for text, problem in (
        ("0", "must be at least 1, not 0"),
        ("x", "invalid int value: 'x'"),
        ("1.5", "invalid int"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=problem):
            positive(text)
    assert Number(float)("-1") == -1.0


def test_model_references(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    assert check_model_reference("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"
    assert check_model_reference("runs") == "runs"
    for local in ("runs/missing", "./missing", "/abs/missing", "a/b/c"):
        with pytest.raises(ConfigError, match=f"--model {local}: no such folder"):
            check_model_reference(local)
