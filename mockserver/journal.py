"""The hot path's write-behind journal for the event log.

Every authenticated store-API call logs a usage event. Committing each one to SQLite would
make every call a database writer, queued behind every other worker. Instead a call appends
its event as one record to a file of its own process (one `write(2)`: a few microseconds, no
lock shared with other processes) and the records are *folded* into the `events` table, in
order, by the next write transaction of any worker, before that transaction does its own
work. Whoever reads the event log first takes a write transaction, so it sees every event of
every call already answered, whichever worker answered it.

Nothing is lost when a worker is killed: the record is in the kernel's page cache once the call
has been answered. Files are owned through an `flock` held for the life of their process; a
file whose owner is gone (or that its owner retired after `ROTATE_BYTES`) is deleted once it
has been folded and that fold has committed.
"""

from __future__ import annotations

import fcntl
import heapq
import logging
import marshal
import os
import secrets
import sqlite3
import struct
import threading
import time
import zlib
from typing import Any

log = logging.getLogger("mockserver")

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_offsets (
    file TEXT PRIMARY KEY,
    folded_bytes INTEGER NOT NULL
);
"""

#: A record: the payload's length and CRC-32, then the payload (a `marshal`led tuple of the
#: time stamp and the row).
HEADER = struct.Struct("<II")

#: An owner retires its file and folds once the file has grown past this many bytes.
ROTATE_BYTES = 1 << 20


class Journal:
    """Rows for one INSERT statement, appended by any thread of any process."""

    def __init__(self, directory: str, insert_sql: str) -> None:
        self.directory = directory
        self.insert_sql = insert_sql
        self._lock = threading.Lock()  # this process's appenders against a rotation
        self._fd = -1
        self._pid = -1
        self._size = 0

    # --- appending (any thread, no database lock) -----------------------------------

    def append(self, params: tuple[Any, ...]) -> bool:
        """Appends one row; True when the file was retired and the caller should fold."""
        payload = marshal.dumps((time.monotonic_ns(), params))
        record = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            if self._pid != os.getpid():  # first use in this process (never reuse across fork)
                if self._fd >= 0:
                    os.close(self._fd)  # the parent's, inherited: the parent keeps it owned
                self._open()
            os.write(self._fd, record)
            self._size += len(record)
            if self._size < ROTATE_BYTES:
                return False
            old = self._fd
            self._open()
            os.close(old)  # drops the flock: the retired file is anyone's to fold and delete
            return True

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(4)}.events"
        fd = os.open(os.path.join(self.directory, name),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while this process lives: "owned"
        self._fd, self._pid, self._size = fd, os.getpid(), 0

    def close(self) -> None:
        """Retires this process's file (its records stay, to be folded)."""
        with self._lock:
            if self._fd >= 0 and self._pid == os.getpid():
                os.close(self._fd)
            self._fd, self._pid = -1, -1

    # --- folding (inside a write transaction) ---------------------------------------

    def fold(self, conn: sqlite3.Connection) -> None:
        """Moves every whole record not yet folded into the database, oldest first, and
        deletes retired files whose records are all in. Must run inside a write transaction
        (the database's write lock is what keeps two folds apart)."""
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return
        folded = dict(conn.execute("SELECT file, folded_bytes FROM journal_offsets").fetchall())
        streams: list[list[tuple[int, tuple[Any, ...]]]] = []
        for name in names:
            path = os.path.join(self.directory, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                start = folded.pop(name, 0)
                data = os.pread(fd, max(0, os.fstat(fd).st_size - start), start)
                rows, used = _records(data)
                if rows:
                    streams.append(rows)
                    conn.execute("INSERT INTO journal_offsets(file, folded_bytes) VALUES (?, ?) "
                                 "ON CONFLICT(file) DO UPDATE SET folded_bytes = "
                                 "excluded.folded_bytes", (name, start + used))
                elif _retired(fd):
                    # every record was in before this transaction began: safe to delete even
                    # if this transaction rolls back
                    if data:
                        log.warning("journal %s: dropping %d bytes of a torn last record",
                                    name, len(data))
                    os.unlink(path)
                    conn.execute("DELETE FROM journal_offsets WHERE file = ?", (name,))
            finally:
                os.close(fd)
        for gone in folded:  # offsets of files deleted by a fold that then rolled back
            conn.execute("DELETE FROM journal_offsets WHERE file = ?", (gone,))
        # interleave the processes' records by their time stamps; a file's own order is kept
        # as written even when the stamps say otherwise (e.g. a clock moved by freezegun)
        conn.executemany(self.insert_sql, (
            row for _, row in heapq.merge(*streams, key=lambda record: record[0])))


def _records(data: bytes) -> tuple[list[tuple[int, tuple[Any, ...]]], int]:
    """The whole records at the start of `data`, and how many bytes they take. A record whose
    bytes are not all there yet (or do not match their checksum) ends the list."""
    rows: list[tuple[int, tuple[Any, ...]]] = []
    pos, end = 0, len(data)
    while pos + HEADER.size <= end:
        length, crc = HEADER.unpack_from(data, pos)
        payload = data[pos + HEADER.size:pos + HEADER.size + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            break
        rows.append(marshal.loads(payload))
        pos += HEADER.size + length
    return rows, pos


def _retired(fd: int) -> bool:
    """True when no live process holds the file's `flock` (its owner exited or rotated)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
