"""The SQLite side of the persistent backend: schema, migrations, and the writes themselves.

Everything here runs on the backend's one writer thread, which owns the connection; the event
loop only hands it plain rows (`Batch`) and gets plain rows back (`Snapshot`).

The database runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives the
process being killed (even by SIGKILL), but an operating-system crash or power loss may lose the
last few transactions (never corrupting the database).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MIGRATIONS",
    "Batch",
    "Migration",
    "SchemaVersionError",
    "Snapshot",
    "Store",
    "migrate",
]

Migration = Callable[[sqlite3.Connection], None]
"""Moves the schema one version up, inside the transaction `migrate` opened."""


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of durable-async than this one."""


def _v1(conn: sqlite3.Connection) -> None:
    """The initial schema."""
    for statement in (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE executions (
            arn TEXT PRIMARY KEY, pos INTEGER NOT NULL, name TEXT NOT NULL,
            function_name TEXT NOT NULL, start_time REAL NOT NULL, end_time REAL,
            status TEXT NOT NULL, token TEXT NOT NULL, result TEXT, error TEXT,
            changes INTEGER NOT NULL)""",
        # `pos` keeps creation order; `timers` holds a callback's [timeout, heartbeat, last_beat].
        """CREATE TABLE operations (
            arn TEXT NOT NULL, id TEXT NOT NULL, pos INTEGER NOT NULL, body TEXT NOT NULL,
            callback_id TEXT, timers TEXT, PRIMARY KEY (arn, id))""",
        "CREATE INDEX operations_by_pos ON operations (pos)",
        """CREATE TABLE events (
            arn TEXT NOT NULL, idx INTEGER NOT NULL, body TEXT NOT NULL,
            PRIMARY KEY (arn, idx)) WITHOUT ROWID""",
    ):
        conn.execute(statement)


MIGRATIONS: list[Migration] = [_v1]
"""Migration `i` moves the schema from version `i` to `i + 1`; version 0 is an empty file."""


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database to version `len(migrations)` in one transaction; return that version.

    The version is SQLite's `PRAGMA user_version`. `conn` must be in autocommit mode
    (`isolation_level=None`).

    Raises:
        SchemaVersionError: the database's version is newer than `len(migrations)`.
    """
    known = len(migrations)
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > known:
            raise SchemaVersionError(
                f"the database has schema version {version}, but this version of durable-async "
                f"knows versions up to {known}: open it with a newer durable-async"
            )
        for migration in migrations[version:]:
            migration(conn)
        if version != known:
            conn.execute(f"PRAGMA user_version = {int(known)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return known


@dataclass
class Batch:
    """Rows to write in one transaction (built on the event loop, written by the thread)."""

    executions: list[tuple[Any, ...]] = field(default_factory=list)
    """(arn, pos, name, function_name, start, end, status, token, result, error, changes)"""
    operations: list[tuple[Any, ...]] = field(default_factory=list)
    """(arn, id, pos, body, callback_id, timers); `pos` is kept for an operation already saved."""
    events: list[tuple[Any, ...]] = field(default_factory=list)
    """(arn, idx, body)"""
    seq: int | None = None
    """The backend's next id, when it changed."""

    def __bool__(self) -> bool:
        return bool(self.executions or self.operations or self.events or self.seq is not None)


@dataclass
class Snapshot:
    """Everything a database holds, as rows in creation order."""

    executions: list[tuple[Any, ...]]
    operations: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]
    seq: int | None
    next_pos: int


class Store:
    """One SQLite database; every method must run on the thread that called `open`."""

    def __init__(self, path: str | os.PathLike[str], migrations: Sequence[Migration]) -> None:
        self.path = Path(path)
        self.migrations = migrations
        self.transactions = 0
        """How many write transactions committed (tests use it to see group commit)."""
        self._conn: sqlite3.Connection | None = None

    def open(self) -> Snapshot:
        """Connect (creating the file and its directory), migrate, and read everything."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn, self.migrations)
            snapshot = self._read(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return snapshot

    @staticmethod
    def _read(conn: sqlite3.Connection) -> Snapshot:
        executions = conn.execute(
            "SELECT arn, pos, name, function_name, start_time, end_time, status, token, result,"
            " error, changes FROM executions ORDER BY pos"
        ).fetchall()
        operations = conn.execute(
            "SELECT arn, id, pos, body, callback_id, timers FROM operations ORDER BY pos"
        ).fetchall()
        events = conn.execute("SELECT arn, idx, body FROM events ORDER BY arn, idx").fetchall()
        row = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        (top,) = conn.execute(
            "SELECT max(p) FROM (SELECT max(pos) AS p FROM operations"
            " UNION ALL SELECT max(pos) FROM executions)"
        ).fetchone()
        return Snapshot(
            executions, operations, events, int(row[0]) if row else None, (top or 0) + 1
        )

    def write(self, batch: Batch) -> None:
        """Write `batch` in one transaction; return once it is committed."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("the store is closed")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (arn) DO UPDATE SET name = excluded.name,"
                " function_name = excluded.function_name, start_time = excluded.start_time,"
                " end_time = excluded.end_time, status = excluded.status,"
                " token = excluded.token, result = excluded.result, error = excluded.error,"
                " changes = excluded.changes",
                batch.executions,
            )
            conn.executemany(
                "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (arn, id)"
                " DO UPDATE SET body = excluded.body, callback_id = excluded.callback_id,"
                " timers = excluded.timers",
                batch.operations,
            )
            conn.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?)", batch.events)
            if batch.seq is not None:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (str(batch.seq),))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.transactions += 1

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
