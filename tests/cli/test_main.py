"""The ``interlingua`` command starts fast: registering the subcommands imports no deep-learning
library, so ``--help`` and the torch-free paths of ``encode`` pay only for what they use."""

from __future__ import annotations

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
