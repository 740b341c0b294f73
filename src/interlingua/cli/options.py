"""Dataclass fields become command-line options (tevatron's pattern): one declaration per setting.

Each field of a settings dataclass is the flag of the same name (``layer_choice`` <->
``--layer-choice``) with its ``help`` and bounds from the field's metadata; booleans get
``--x / --no-x``, lists are comma-separated, numbers are checked at parse time
(:class:`interlingua.validation.Number`).  ``settings_from`` builds the dataclass back from the
parsed namespace, so a default is stated once, on the field.

Field metadata the options read (all optional): ``help``, ``choices``, the bounds of
:data:`interlingua.validation.NUMBER_BOUNDS`, ``flags`` (the option strings, for aliases such as
LASER's ``--trg``), ``switch`` (a boolean given as a bare flag, no ``--no-x``), ``group`` (the
argument group's title), ``shown_default`` (the default as the help
writes it) and ``option=False`` (not on the command line: the caller supplies it).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any

from interlingua.validation import NUMBER_BOUNDS, Number, _strip_optional


def _flag_type(hint: Any, metadata: Any) -> Any:
    kind, _ = _strip_optional(hint)
    if kind is bool or typing.get_origin(kind) is list:
        return kind if kind is bool else str
    if kind in (int, float):
        return Number(kind, **{name: metadata[name] for name in NUMBER_BOUNDS if name in metadata})
    return kind


def _options(settings: type) -> list[dataclasses.Field]:
    return [field for field in dataclasses.fields(settings) if field.metadata.get("option", True)]


def add_dataclass_options(
    parser: argparse.ArgumentParser,
    settings: type,
    *,
    types: Mapping[str, Callable[[str], Any]] | None = None,
    groups: Mapping[str, argparse._ArgumentGroup] | None = None,
    show_defaults: bool = False,
) -> None:
    """One option per field of the dataclass ``settings``; ``types`` overrides a field's parser (the
    command line's own forms, such as ``2G``), ``groups`` holds the argument groups fields name, and
    ``show_defaults`` adds each number's or text's default to its help."""
    hints = typing.get_type_hints(settings)
    for field in _options(settings):
        metadata = field.metadata
        target = (groups or {}).get(metadata.get("group"), parser)
        flags = metadata.get("flags", ("--" + field.name.replace("_", "-"),))
        kind = (types or {}).get(field.name) or _flag_type(hints[field.name], metadata)
        named = {"dest": field.name, "default": None, "help": _help(field, show_defaults)}
        if kind is bool and metadata.get("switch"):
            target.add_argument(*flags, action="store_const", const=True, **named)
        elif kind is bool:
            target.add_argument(*flags, action=argparse.BooleanOptionalAction, **named)
        else:
            choices = metadata.get("choices")
            # Named after the option, not the field (--train-size sets train_rows); choices show themselves.
            metavar = None if choices else _long_flag(flags).replace("-", "_").upper()
            target.add_argument(*flags, type=kind, choices=choices, metavar=metavar, **named)


def _long_flag(flags: tuple[str, ...]) -> str:
    return next(flag for flag in flags if flag.startswith("--"))[2:]


def _help(field: dataclasses.Field, show_default: bool) -> str | None:
    text = field.metadata.get("help")
    default = field.metadata.get("shown_default", field.default)  # e.g. 2G for 2 GiB of bytes
    shown = isinstance(default, int | float | str) and not isinstance(default, bool) and default != ""
    return f"{text} (default {default})" if show_default and shown else text


def settings_from(args: argparse.Namespace, settings: type, **given: Any) -> Any:
    """The dataclass ``settings`` with every option that was given (the field default elsewhere);
    ``given``: the values of fields that are not options."""
    hints = typing.get_type_hints(settings)
    values = dict(given)
    for field in _options(settings):
        value = getattr(args, field.name)
        if value is None:
            continue
        listed = typing.get_origin(_strip_optional(hints[field.name])[0]) is list
        values[field.name] = [part.strip() for part in value.split(",") if part.strip()] if listed else value
    return settings(**values)
