"""docs/migrating.md maps every public name of the official SDK, read from the installed
package, so the table cannot fall behind a new release of it."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

official = pytest.importorskip("aws_durable_execution_sdk_python")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"

# The official modules whose public classes and functions the page maps, besides the
# package's `__all__`. The others are the machinery of its threaded runtime, and the page
# says so.
MODULES = [
    "config",
    "retries",
    "waits",
    "serdes",
    "exceptions",
    "types",
    "context",
    "execution",
    "concurrency.models",
    "lambda_service",
    "logger",
    "plugin",
    "filesystem_serdes",
    "preview",
]
INTERNAL = [
    "state",
    "threading",
    "identifier",
    "suspend",
    "constants",
    "plugin_discovery",
    "operation",
    "concurrency.executor",
]


def official_names() -> set[str]:
    names = set(official.__all__)
    for suffix in MODULES:
        module = importlib.import_module(f"{official.__name__}.{suffix}")
        names.update(
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and getattr(value, "__module__", None) == module.__name__
        )
    return names


def table_names() -> set[str]:
    """The first cell of every table row, when it is one name in backticks."""
    rows = re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", PAGE.read_text(), re.M)
    return set(rows)


def test_every_official_name_is_in_the_table() -> None:
    missing = sorted(official_names() - table_names(), key=str.lower)
    assert not missing, f"docs/migrating.md does not map: {', '.join(missing)}"


def test_the_table_names_nothing_the_official_package_lacks() -> None:
    extra = sorted(table_names() - official_names(), key=str.lower)
    assert not extra, f"docs/migrating.md maps names the official SDK lacks: {extra}"


def test_the_page_lists_every_module_it_covers_or_skips() -> None:
    text = PAGE.read_text()
    for module in [*MODULES, *INTERNAL]:
        assert f"`{module}" in text, module


def test_the_covered_modules_exist() -> None:
    for suffix in [*MODULES, *INTERNAL]:
        importlib.import_module(f"{official.__name__}.{suffix}")


@pytest.mark.anyio
@pytest.mark.parametrize("always_replay", [False, True], ids=["live", "replay"])
async def test_the_side_by_side_workflow_runs(always_replay: bool) -> None:
    from durable_async import InvocationStatus
    from durable_async.testing import LocalRunner

    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    ours = next(b for b in blocks if b.startswith("from durable_async import"))
    namespace: dict[str, object] = {"__name__": "migrating_page"}
    exec(compile(ours, str(PAGE), "exec"), namespace)
    runner = LocalRunner(namespace["handler"], always_replay=always_replay)  # type: ignore[arg-type]
    result = await runner.run({"sku": "a-1", "items": ["x", "y"]})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "price": 103,
        "reserved": ["reservation-x", "reservation-y"],
        "receipt": "paid-103",
    }
