"""Every `from durable_async... import ...` line the docs show imports: a reader copying one
never has to guess a name's home."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
IMPORT = re.compile(r"^from durable_async[\w.]* import [\w, ]+$", re.M)
LINES = sorted(
    {
        (path.relative_to(DOCS).as_posix(), line)
        for path in DOCS.rglob("*.md")
        for line in IMPORT.findall(path.read_text())
    }
)


def test_the_operation_pages_show_where_their_names_come_from() -> None:
    pages = {page for page, _ in LINES}
    assert {f"operations/{p}.md" for p in ("map-parallel", "callbacks", "step", "wait")} <= pages


@pytest.mark.parametrize(("page", "line"), LINES, ids=[f"{p}:{line}" for p, line in LINES])
def test_doc_import_line_imports(page: str, line: str) -> None:
    exec(line, {})
