"""The database's write generation: a counter in shared memory that every write transaction
moves, so a process can tell without asking SQLite whether anything was written since it
last looked.

It is a sequence lock. A writer, holding the write lock, makes the counter odd before it
begins and even again once it has committed (or rolled back). A reader that sees an even
value knows that every write begun before that moment has committed; a later write moves the
counter. So a value cached under an even generation is as fresh as the database while the
counter still shows that generation, and an odd counter means "a write is under way, ask the
database". A writer killed half-way leaves the counter odd: caches are bypassed until the next
write settles it.

The counter lives in the first 8 bytes of the lock file beside the database, mapped into
every process (or in memory, for an in-memory database that only one process sees).
"""

from __future__ import annotations

import mmap
import os
import struct

COUNTER = struct.Struct("=Q")


class WriteGeneration:
    def __init__(self) -> None:
        self._map: mmap.mmap | None = None
        self._value = 0  # used while no file is mapped (in-memory databases)

    def attach(self, fd: int) -> None:
        """Maps the counter from the lock file `fd` (once per process)."""
        if os.fstat(fd).st_size < COUNTER.size:
            os.ftruncate(fd, COUNTER.size)  # zeros; growing never overwrites a counter
        self._map = mmap.mmap(fd, COUNTER.size)

    def detach(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None

    def current(self) -> int | None:
        """The generation, or None while a write is under way."""
        value = self._load()
        return None if value & 1 else value

    def begin(self) -> None:
        """Called by the writer holding the write lock, before it writes."""
        value = self._load()
        self._store(value + 1 if value % 2 == 0 else value + 2)  # odd, and new

    def end(self) -> None:
        """Called by the writer still holding the write lock, after COMMIT or ROLLBACK."""
        self._store(self._load() + 1)

    def _load(self) -> int:
        return int(COUNTER.unpack_from(self._map)[0]) if self._map is not None else self._value

    def _store(self, value: int) -> None:
        if self._map is not None:
            COUNTER.pack_into(self._map, 0, value)
        else:
            self._value = value
