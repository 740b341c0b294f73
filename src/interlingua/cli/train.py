"""``interlingua train``: every TrainConfig key is a flag of the same name."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import types
import typing
from collections.abc import Iterator

from interlingua.training.config import FIELDS, TrainConfig, available_recipes, build_config
from interlingua.validation import NUMBER_BOUNDS, Number


def _flag_type(field: dataclasses.Field):
    """The argparse type of a config field (lists are comma-separated strings)."""
    hint = typing.get_type_hints(TrainConfig)[field.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is bool:
        return bool
    if typing.get_origin(hint) is list:
        return str
    if hint in (int, float):  # checked at parse time, with the bounds the config file gets
        bounds = {name: field.metadata[name] for name in NUMBER_BOUNDS if name in field.metadata}
        return Number(hint, **bounds)
    return hint


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an encoder from a recipe or a config file",
        description="Train a sentence encoder. Every option is also a key of the YAML config (same name, "
        "underscores for dashes); flags override the --config file, which overrides the recipe.",
    )
    parser.add_argument("--config", help="YAML file of config keys")
    parser.add_argument("--list-recipes", action="store_true", help="list the shipped recipes and exit")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar or notes: only the results and errors"
    )
    for name, field in FIELDS.items():
        flag = "--" + name.replace("_", "-")
        kind = _flag_type(field)
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=field.metadata["help"]
            )
        else:
            parser.add_argument(flag, type=kind, default=None, help=field.metadata["help"])
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Progress bars and notes go to stderr: silenced for the run.  Errors are printed by the
    caller once the run has stopped, after stderr is back."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        previous = os.environ.get("TQDM_DISABLE")
        os.environ["TQDM_DISABLE"] = "1"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("TQDM_DISABLE")
            else:
                os.environ["TQDM_DISABLE"] = previous


def run(args: argparse.Namespace) -> int:
    if args.list_recipes:
        print("\n".join(available_recipes()))
        return 0
    from interlingua.training.pipeline import train_and_evaluate

    overrides = {name: getattr(args, name) for name in FIELDS}
    config = build_config(config_file=args.config, overrides=overrides)
    try:
        with _quiet() if args.quiet else contextlib.nullcontext():
            train_and_evaluate(config)
    except KeyboardInterrupt:
        from interlingua.cli.main import close_progress_bars

        close_progress_bars()
        print(
            f"interlingua train: interrupted; the checkpoints in {config.output} are kept: "
            "rerun the same command with --resume to continue",
            file=sys.stderr,
        )
        return 130
    return 0
