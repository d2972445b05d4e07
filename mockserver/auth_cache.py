"""A per-process cache for the store API's gate, trusted only while the database's write
generation (see `generation.py`) is unchanged.

Every write transaction, whoever makes it and in whichever worker, moves the generation, so a
revocation is seen by the very next request everywhere. An entry remembers the generation read
*before* it was loaded, so it can only ever be newer than its label, never staler.
"""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


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
