"""The ``interlingua`` command: parses arguments and hands them to the library.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, a callable taking the parsed ``argparse.Namespace`` and returning an exit
code.  User errors (``InterlinguaError``) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from interlingua import __version__
from interlingua.errors import InterlinguaError

SUBCOMMAND_MODULES = ("train", "encode", "evaluate", "tokenizer", "mine")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="interlingua", description="Language-agnostic sentence embeddings from parallel text."
    )
    parser.add_argument("--version", action="version", version=f"interlingua {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"interlingua.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InterlinguaError as error:
        print(f"interlingua {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
