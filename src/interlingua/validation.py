"""One check for every option and config value: its type and its range, before any work is done.

``Number`` is the argparse type of every numeric option (``--batch-size``, ``--threads``, ...):
a value that is not a number, or outside the option's range, is a one-line error with exit code 2
at parse time.  ``check_value`` applies the same rules to a config value read from YAML, driven by
the type hint of the config field (``bool``, ``int``, ``float``, ``str``, ``list[str]``, optional
or not) and the bounds in its metadata (``minimum``, ``above``, ``maximum``, ``below``,
``choices``), so that a new key is checked as soon as it is declared.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interlingua.errors import ConfigError

NUMBER_BOUNDS = ("minimum", "above", "maximum", "below")


REQUIRED = dataclasses.MISSING  # the default of a setting that has none


def setting(default: Any, help: str, **metadata: Any) -> Any:
    """A settings dataclass field with its default (a callable: a factory; ``REQUIRED``: none), help
    and metadata: the bounds of ``NUMBER_BOUNDS``, ``choices``, and what ``interlingua.cli.options``
    reads."""
    kind = "default_factory" if callable(default) else "default"
    return dataclasses.field(**{kind: default}, metadata={"help": help, **metadata})


BOUND_KEYS = (*NUMBER_BOUNDS, "choices")


def range_problem(value: Any, bounds: Mapping[str, Any]) -> str | None:
    """What is wrong with ``value`` given ``bounds`` (``BOUND_KEYS``), or None."""
    if "minimum" in bounds and value < bounds["minimum"]:
        return f"must be at least {bounds['minimum']}"
    if "above" in bounds and value <= bounds["above"]:
        return f"must be greater than {bounds['above']}"
    if "maximum" in bounds and value > bounds["maximum"]:
        return f"must be at most {bounds['maximum']}"
    if "below" in bounds and value >= bounds["below"]:
        return f"must be less than {bounds['below']}"
    if "choices" in bounds and value not in bounds["choices"]:
        return f"must be one of {', '.join(map(str, bounds['choices']))}"
    return None


@dataclass(frozen=True)
class Number:
    """argparse type of a numeric option: ``Number(int, minimum=1)`` refuses ``0``, ``-1`` and ``x``."""

    kind: type = int
    minimum: float | None = None
    above: float | None = None
    maximum: float | None = None
    below: float | None = None

    def bounds(self) -> dict[str, float]:
        names = ("minimum", "above", "maximum", "below")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {self.kind.__name__} value: {text!r}") from None
        problem = range_problem(value, self.bounds())
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, not {text}")
        return value

    @property
    def __name__(self) -> str:  # argparse names the type in some messages
        return self.kind.__name__


POSITIVE_INT = Number(int, minimum=1)
NON_NEGATIVE_INT = Number(int, minimum=0)


def _describe(kind: Any) -> str:
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
    }.get(kind, getattr(kind, "__name__", str(kind)))


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None``, else ``(hint, False)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _type_matches(value: Any, hint: Any) -> bool:
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(item is Any or _type_matches(v, item) for v in value)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return hint is Any or isinstance(value, hint)


def check_value(name: str, value: Any, hint: Any, bounds: Mapping[str, Any], source: str) -> Any:
    """``value`` (ints given for floats become floats) if it has type ``hint`` and is within
    ``bounds``; else a ``ConfigError`` naming ``source``, the key and the problem."""
    kind, optional = _strip_optional(hint)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{source}: {name} must not be empty")
    if not _type_matches(value, kind):
        listed = typing.get_origin(kind) is list
        expected = "a list (or a comma-separated string)" if listed else _describe(kind)
        raise ConfigError(f"{source}: {name} must be {expected}, not {value!r}")
    if kind is float:
        value = float(value)
    problem = range_problem(value, bounds) if not isinstance(value, list) else None
    if problem:
        raise ConfigError(f"{source}: {name} {problem}, not {value!r}")
    return value


def check_model_reference(model: str, option: str = "--model") -> str:
    """``model`` if it is an existing local path or can only be a hub name; a ``ConfigError`` at
    once for a local path that does not exist, instead of minutes of hub retries (offline) and a
    traceback.  A name is taken as a local path when it starts with ``.``, ``/`` or ``~``, has more
    than two parts (``runs/en/model``), or its first part is an existing local folder (``runs/x``)."""
    path = Path(model).expanduser()
    if path.exists():
        return model
    parts = Path(model).parts
    local = (
        model.startswith((".", "/", "~")) or len(parts) > 2 or (len(parts) == 2 and Path(parts[0]).is_dir())
    )
    if local:
        raise ConfigError(f"{option} {model}: no such folder")
    return model
