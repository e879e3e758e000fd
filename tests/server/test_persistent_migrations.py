"""The persistent backend's schema versions: `PRAGMA user_version` and the migration runner."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from durable_async._server.persistent import PersistentBackend
from durable_async._server.store import MIGRATIONS, SchemaVersionError, migrate

pytestmark = pytest.mark.anyio


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    finally:
        conn.close()
    return int(version)


async def test_an_empty_file_gets_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.touch()
    backend = await PersistentBackend.open(path)
    assert backend.executions() == []
    await backend.aclose()
    assert user_version(path) == len(MIGRATIONS) == 1


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(SchemaVersionError, match=r"schema version 7.*versions up to 1"):
        await PersistentBackend.open(path)
    assert user_version(path) == 7


def test_migrations_run_in_order_from_the_stored_version(tmp_path: Path) -> None:
    ran: list[int] = []

    def step(i: int) -> object:
        def migration(conn: sqlite3.Connection) -> None:
            ran.append(i)
            conn.execute(f"CREATE TABLE t{i} (x)")

        return migration

    migrations = [step(i) for i in range(4)]
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    try:
        assert migrate(conn, migrations[:2]) == 2  # type: ignore[arg-type]
        assert ran == [0, 1]
        assert migrate(conn, migrations) == 4  # type: ignore[arg-type]
        assert ran == [0, 1, 2, 3]
        assert migrate(conn, migrations) == 4  # type: ignore[arg-type]
        assert ran == [0, 1, 2, 3]

        def broken(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE half_done (x)")
            raise RuntimeError("migration failed")

        with pytest.raises(RuntimeError, match="migration failed"):
            migrate(conn, [*migrations, step(4), broken])  # type: ignore[list-item]
        # One transaction: the version and the tables of the successful step are rolled back.
        assert conn.execute("PRAGMA user_version").fetchone() == (4,)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert tables == {"t0", "t1", "t2", "t3"}
    finally:
        conn.close()


async def test_open_applies_a_custom_migration_list(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    backend = await PersistentBackend.open(path)
    backend.start_execution("kept")
    await backend.aclose()

    def v2(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE executions ADD COLUMN note TEXT")

    backend = await PersistentBackend.open(path, migrations=[*MIGRATIONS, v2])
    assert len(backend.executions()) == 1
    await backend.aclose()
    assert user_version(path) == 2
