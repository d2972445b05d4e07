"""A per-process cache for the store API's gate, trusted only while the database's
`auth_version` is unchanged.

Triggers bump the version on every change to the tables the gate reads (tokens, stores,
clocks), whoever makes the change and in whichever worker, so a revocation is seen by the very
next request everywhere. An entry remembers the version read *before* it was loaded, so it can
only ever be newer than its label, never staler.
"""

from __future__ import annotations

import sqlite3
from typing import Generic, TypeVar

V = TypeVar("V")

WATCHED_TABLES = ("partner_tokens", "stores", "clocks")

SCHEMA = "INSERT OR IGNORE INTO meta(key, value) VALUES ('auth_version', '0');\n" + "\n".join(
    f"CREATE TRIGGER IF NOT EXISTS auth_version_{table}_{op.lower()} AFTER {op} ON {table} "
    "BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'auth_version'; END;"
    for table in WATCHED_TABLES for op in ("INSERT", "UPDATE", "DELETE")
)


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'auth_version'").fetchone()
    return int(row[0])


class VersionedCache(Generic[V]):
    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[int, V]] = {}

    def get(self, key: str, version: int) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        return entry[1]

    def put(self, key: str, version: int, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (version, value)
