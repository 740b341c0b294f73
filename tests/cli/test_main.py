"""The ``interlingua`` command starts fast: registering the subcommands imports no deep-learning
library, so ``--help`` and the torch-free paths of ``encode`` pay only for what they use."""

from __future__ import annotations

import argparse
import subprocess
import sys

# Each of these takes from a quarter of a second (onnxruntime) to eight seconds (sentence-transformers).
HEAVY = ("torch", "transformers", "sentence_transformers", "onnxruntime", "scipy", "sklearn", "faiss")


def test_registering_the_subcommands_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from interlingua.cli.main import build_parser\n"
        "parser = build_parser()\n"
        "print(len(parser.format_help()))\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    help_length, imported = done.stdout.splitlines()
    assert int(help_length) > 200 and imported == "[]"


def _commands(parser) -> list[str]:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(subparsers.choices)


def test_a_named_subcommand_is_the_only_one_registered():
    from interlingua.cli.main import build_parser

    assert _commands(build_parser(["encode", "--model", "m"])) == ["encode"]
    assert _commands(build_parser(["eval", "tatoeba", "--help"])) == ["eval"]
    everything = _commands(build_parser())
    assert {"train", "encode", "eval", "export", "mine"} <= set(everything)
    assert _commands(build_parser(["--help"])) == everything
    assert _commands(build_parser(["encdoe", "--model", "m"])) == everything  # argparse lists the choices
