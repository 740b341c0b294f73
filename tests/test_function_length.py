"""No function in the package is longer than a screen and a half (80 lines), except those that
register command-line options (argparse's declarations, one call per option)."""

from __future__ import annotations

import ast
from pathlib import Path

import interlingua

ROOT = Path(interlingua.__file__).parent
LIMIT = 80


def registers_options(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function that is mostly ``add_argument`` / ``add_parser`` calls."""
    calls = [node for node in ast.walk(function) if isinstance(node, ast.Call)]
    named = [call for call in calls if isinstance(call.func, ast.Attribute)]
    argparse_calls = [call for call in named if call.func.attr in ("add_argument", "add_parser")]
    return len(argparse_calls) >= 5


def long_functions(root: Path, limit: int) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit and not registers_options(node):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert long_functions(tmp_path, LIMIT) == [f"{tmp_path.name}/long.py:1 long ({LIMIT + 1} lines)"]


def test_no_function_is_longer_than_the_limit() -> None:
    assert long_functions(ROOT, LIMIT) == []
