"""Config values are checked against their field's type and range when the config is built, before
any data is read or tokenizer trained; the error names the file (or the command line) and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlingua.cli.main import main
from interlingua.errors import ConfigError
from interlingua.training.config import FIELDS, build_config

CASES = {
    'bidirectional: "no"': "bidirectional must be true or false, not 'no'",  # was saved as the string 'no'
    'max_steps: "ten"': "max_steps must be an integer, not 'ten'",
    "max_steps: 3.7": "max_steps must be an integer, not 3.7",
    "max_steps: 0": "max_steps must be at least 1, not 0",  # was 10^9 steps: `max_steps or UNBOUNDED`
    "max_steps: -1": "max_steps must be at least 1, not -1",
    "langs: 5": "langs must be a list (or a comma-separated string), not 5",
    "langs: [deu, 5]": "langs must be a list (or a comma-separated string), not ['deu', 5]",
    "learning_rate: fast": "learning_rate must be a number, not 'fast'",
    "dropout: 1.5": "dropout must be less than 1, not 1.5",
    "schedule: cosinus": "schedule must be one of linear, cosine, constant, not 'cosinus'",
    "pivot: null": "pivot must not be empty",
    "langs: deu,xyzzy": "unknown language code 'xyzzy'",
    "budget: 5x": "budget: cannot read duration '5x'",
    "budget: 0m": "budget must be more than 0 seconds",
    "hidden: 30\nheads: 4": "hidden (30) must be a multiple of heads (4)",
}


@pytest.mark.parametrize("line", sorted(CASES))
def test_a_bad_config_value_is_one_line_before_any_work(line: str, tmp_path: Path, capsys) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"langs: deu\nmax_steps: 5\n{line}\n", encoding="utf-8")
    code = main(["train", "--config", str(config), "--output", str(tmp_path / "out")])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("interlingua train: error: ") and CASES[line] in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_errors_name_the_layer_the_value_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^command line: layers must be an integer"):
        build_config(overrides={"layers": "two"})
    (tmp_path / "run.yaml").write_text("layers: two\n")
    with pytest.raises(ConfigError, match=rf"^{tmp_path}/run.yaml: layers must be an integer"):
        build_config(config_file=tmp_path / "run.yaml")


def test_ints_are_accepted_for_floats_and_stored_as_floats() -> None:
    config = build_config(overrides={"learning_rate": 1, "warmup": 0})
    assert isinstance(config.learning_rate, float) and isinstance(config.warmup, float)


def test_every_count_and_size_key_has_a_lower_bound() -> None:
    """A new int key that counts something gets a bound, or it accepts 0 and -1 silently."""
    unbounded = [
        name
        for name, field in FIELDS.items()
        if "int" in str(field.type) and "minimum" not in field.metadata and "choices" not in field.metadata
    ]
    assert unbounded == [], unbounded
