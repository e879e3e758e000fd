"""The import rules that keep the package's layers apart (see docs/architecture.md).

The graph is read from the source: module-level imports only, leaving out those under
`if TYPE_CHECKING:` (types only) and those inside functions (deliberately lazy).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import durable_async

PACKAGE = Path(durable_async.__file__).parent

OPERATIONS = {"_operations", "_context", "_operation", "_lifecycle", "_scope"}
ENGINE = {"_runtime", "_batcher", "_store", "_handler"}
TOOLS = {
    "_cli",
    "__main__",
    "testing",
    "_local",
    "_run_result",
    "_next_event",
    "_answers",
    "_always_replay",
    "_targets",
    "_server",
    "server",
}  # what users run or test with; the runtime uses none


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, *, types: bool = False) -> set[str]:
    """The package modules `path` imports at module level, as names relative to the package
    (with `types`, also those imported under `if TYPE_CHECKING:`)."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if types or not _is_type_checking(node):
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
                if node.module is None:  # from . import _history
                    found.update(".".join([*target, alias.name]) for alias in node.names)
                else:
                    found.add(".".join(target))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "durable_async."
            ):
                found.add(node.module.removeprefix("durable_async.") if node.module else "")
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.removeprefix("durable_async.")
                    for a in node.names
                    if a.name.startswith("durable_async.")
                )

    visit(ast.parse(path.read_text()).body)
    return {name for name in found if name != module}


GRAPH = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _reach(module: str) -> set[str]:
    """Every package module `module` imports, directly or not."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        for dep in GRAPH.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_is_read_from_the_whole_package() -> None:
    assert {"_runtime", "_operations.step", "_backends.aws", "_local"} <= GRAPH.keys()
    assert "_models" in GRAPH["_runtime"]
    # `from . import history as h`
    assert "_backends.memory.history" in GRAPH["_backends.memory.service"]


def test_there_are_no_import_cycles() -> None:
    cycles = sorted(m for m in GRAPH if m in _reach(m))
    assert cycles == []


@pytest.mark.parametrize("backend", sorted(m for m in GRAPH if _top(m) == "_backends"))
def test_backends_never_import_operations_or_the_engine(backend: str) -> None:
    reached = {_top(m) for m in _reach(backend)}
    assert reached & (OPERATIONS | ENGINE) == set()


@pytest.mark.parametrize(
    "module", sorted(m for m in GRAPH if _top(m) not in TOOLS and m not in ("", "aws"))
)
def test_the_runtime_never_imports_the_cli_or_testing(module: str) -> None:
    reached = {_top(m) for m in _reach(module)}
    assert reached & TOOLS == set()


def test_wire_models_and_errors_sit_at_the_bottom() -> None:
    assert GRAPH["_models"] == set()
    assert _reach("_errors") <= {"_models"}


@pytest.mark.parametrize(
    "module", sorted(m for m in GRAPH if _top(m) in {"_operations", "_scope", "_lifecycle"})
)
def test_operations_never_know_the_public_context(module: str) -> None:
    # Not even for types: an operation works on its `OperationHandle` and the `IdScope` it is
    # given; `DurableContext` is the public face that calls them, never the other way round.
    path = PACKAGE.joinpath(*module.split(".")).with_suffix(".py")
    if not path.exists():
        path = PACKAGE.joinpath(*module.split("."), "__init__.py")
    assert "_context" not in _imports(path, types=True)
