"""The examples of docs/testing-callbacks.md run as written: every `test_*` coroutine the
page's Python blocks define passes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing-callbacks.md"
BLOCKS = [
    b for b in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S) if "--8<--" not in b
]


def _tests() -> list[tuple[str, Any]]:
    namespace: dict[str, Any] = {"__name__": "testing_callbacks_page"}
    for block in BLOCKS:
        exec(compile(block, str(PAGE), "exec"), namespace)
    return [(name, fn) for name, fn in namespace.items() if name.startswith("test_")]


TESTS = _tests()


def test_the_page_has_the_four_outcomes_and_heartbeats() -> None:
    names = {name for name, _ in TESTS}
    assert {
        "test_approved",
        "test_rejected",
        "test_nobody_answers_within_a_day",
        "test_heartbeats_keep_a_callback_alive",
    } <= names


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "fn"), TESTS, ids=[name for name, _ in TESTS])
async def test_page_example(name: str, fn: Any) -> None:
    await fn()
