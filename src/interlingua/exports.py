"""A package's public names, imported when first used (PEP 562).

A package ``__init__`` lists its public names as imports under ``if TYPE_CHECKING:`` (what type
checkers and editors read) and hands its own file to :func:`lazy_exports`, which reads those
imports back: ``from interlingua.losses import TranslationRankingLoss`` then imports that loss's
module only.  So a package can offer everything a user script needs without every import of one of
its modules paying for the rest (``interlingua.models.runtime`` must load without torch)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def declared_exports(init_file: str | Path) -> dict[str, str]:
    """``{name: module}`` of the ``from MODULE import NAME`` lines under ``if TYPE_CHECKING:``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    ]
    return {
        alias.asname or alias.name: statement.module
        for block in blocks
        for statement in block.body
        if isinstance(statement, ast.ImportFrom) and statement.module
        for alias in statement.names
    }


def lazy_exports(
    package: str, init_file: str | Path
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` of ``package``, from its ``__init__`` file."""
    names = declared_exports(init_file)

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name]), name)

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__, sorted(names)
