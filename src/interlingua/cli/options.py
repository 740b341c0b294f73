"""Dataclass fields become command-line options (tevatron's pattern): one declaration per setting.

Each field of a settings dataclass is the flag of the same name (``layer_choice`` <->
``--layer-choice``) with its ``help`` and bounds from the field's metadata; booleans get
``--x / --no-x``, lists are comma-separated, numbers are checked at parse time
(:class:`interlingua.validation.Number`).  ``settings_from`` builds the dataclass back from the
parsed namespace.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from interlingua.validation import NUMBER_BOUNDS, Number, _strip_optional


def _flag_type(hint: Any, metadata: Any) -> Any:
    kind, _ = _strip_optional(hint)
    if kind is bool or typing.get_origin(kind) is list:
        return kind if kind is bool else str
    if kind in (int, float):
        return Number(kind, **{name: metadata[name] for name in NUMBER_BOUNDS if name in metadata})
    return kind


def add_dataclass_options(parser: argparse.ArgumentParser, settings: type) -> None:
    """One option per field of the dataclass ``settings``."""
    hints = typing.get_type_hints(settings)
    for field in dataclasses.fields(settings):
        flag = "--" + field.name.replace("_", "-")
        kind = _flag_type(hints[field.name], field.metadata)
        help_text = field.metadata.get("help")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            choices = field.metadata.get("choices")
            parser.add_argument(flag, type=kind, default=None, choices=choices, help=help_text)


def settings_from(args: argparse.Namespace, settings: type) -> Any:
    """The dataclass ``settings`` with every option that was given (the field default elsewhere)."""
    hints = typing.get_type_hints(settings)
    values = {}
    for field in dataclasses.fields(settings):
        value = getattr(args, field.name)
        if value is None:
            continue
        listed = typing.get_origin(_strip_optional(hints[field.name])[0]) is list
        values[field.name] = [part.strip() for part in value.split(",") if part.strip()] if listed else value
    return settings(**values)
