"""The package's layers, read from its source: a lower layer never imports a higher one (at the top
of a module or inside a function), ``interlingua.models`` never imports ``interlingua.evaluation``,
and the imports made when modules load form no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import interlingua

ROOT = Path(interlingua.__file__).parent
# From the bottom up; a module may import its own layer and those below it.  Top-level modules
# (errors, atomic, provenance, validation) sit below every folder.
# ``python -m interlingua`` (``__main__``) is the command line.
LAYERS = {"data": 1, "models": 2, "losses": 2, "mining": 3, "evaluation": 4, "training": 5, "cli": 6}
LAYERS["__main__"] = LAYERS["cli"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(module: str, *, at_load_only: bool) -> set[str]:
    """The interlingua modules ``module`` imports: all of them, or only those imported when it loads
    (not inside functions, not under ``if TYPE_CHECKING``)."""
    found: set[str] = set()
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if at_load_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if at_load_only and isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    return {name for name in found if name in MODULES and name != module}


def test_lower_layers_never_import_higher_ones() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module in MODULES
        for target in imports(module, at_load_only=False)
        if layer(target) > layer(module)
    )
    assert upward == []


def test_models_never_import_evaluation() -> None:
    models = [module for module in MODULES if module.startswith("interlingua.models")]
    assert models and not [
        (module, target)
        for module in models
        for target in imports(module, at_load_only=False)
        if target.startswith("interlingua.evaluation")
    ]


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (its modules in order, the first repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := walk(target)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return []


def test_the_walk_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_when_modules_load() -> None:
    graph = {module: imports(module, at_load_only=True) for module in MODULES}
    assert find_cycle(graph) == []
