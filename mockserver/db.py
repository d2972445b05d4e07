"""SQLite persistence: one file, WAL, short write transactions taken with BEGIN IMMEDIATE.

Writers queue on a thread lock and an `flock` on a file beside the database before they ask
SQLite for its write lock: the kernel hands the lock over at once, where SQLite's own busy
handler would sleep in whole milliseconds, and nobody ever sees "database is locked". A killed
process drops its `flock` with its last file descriptor.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mockserver import events, journal
from mockserver.clock import ClockState
from mockserver.generation import WriteGeneration

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clocks (
    sandbox TEXT PRIMARY KEY,
    offset_seconds REAL NOT NULL DEFAULT 0,
    frozen_at REAL
);
CREATE TABLE IF NOT EXISTS stores (
    id TEXT PRIMARY KEY,
    sandbox TEXT NOT NULL DEFAULT 'default',
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    email TEXT NOT NULL,
    merchant_key_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS partners (
    id TEXT PRIMARY KEY,
    sandbox TEXT NOT NULL DEFAULT 'default',
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret TEXT NOT NULL,
    redirect_uri TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS access_list (
    store_id TEXT NOT NULL REFERENCES stores(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    added_at REAL NOT NULL,
    PRIMARY KEY (store_id, partner_id)
);
CREATE TABLE IF NOT EXISTS partner_tokens (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    token_hash TEXT NOT NULL UNIQUE,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    issued_by TEXT NOT NULL,
    predecessor_id TEXT UNIQUE REFERENCES partner_tokens(id),
    successor_id TEXT REFERENCES partner_tokens(id),
    renewed_at REAL,
    renewed_by TEXT,
    first_used_at REAL,
    revoked_at REAL,
    revoked_by TEXT
);
CREATE INDEX IF NOT EXISTS partner_tokens_store_partner ON partner_tokens(store_id, partner_id);
CREATE INDEX IF NOT EXISTS partner_tokens_partner ON partner_tokens(partner_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox TEXT NOT NULL DEFAULT 'default',
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    store_id TEXT,
    partner_id TEXT,
    token_id TEXT,
    actor TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox TEXT NOT NULL DEFAULT 'default',
    at REAL NOT NULL,
    recipient_kind TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    token_id TEXT
);
CREATE TABLE IF NOT EXISTS inventory (
    store_id TEXT NOT NULL REFERENCES stores(id),
    product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (store_id, product_id)
);
CREATE TABLE IF NOT EXISTS oauth_authorizations (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    scope TEXT NOT NULL,
    granted_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    revoked_at REAL,
    revoked_by TEXT
);
CREATE INDEX IF NOT EXISTS oauth_authorizations_pair
    ON oauth_authorizations(store_id, partner_id);
CREATE TABLE IF NOT EXISTS oauth_codes (
    id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    authorization_id TEXT NOT NULL REFERENCES oauth_authorizations(id),
    store_id TEXT NOT NULL REFERENCES stores(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    scope TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_given INTEGER NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE TABLE IF NOT EXISTS oauth_families (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    authorization_id TEXT NOT NULL REFERENCES oauth_authorizations(id),
    kind TEXT NOT NULL,
    origin TEXT NOT NULL,
    expiring INTEGER NOT NULL,
    scope TEXT NOT NULL,
    code_id TEXT REFERENCES oauth_codes(id),
    created_at REAL NOT NULL,
    generation INTEGER NOT NULL DEFAULT 1,
    current_refresh_id TEXT,
    associated_user TEXT,
    revoked_at REAL,
    revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS oauth_families_pair ON oauth_families(store_id, partner_id);
CREATE TABLE IF NOT EXISTS oauth_access_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL REFERENCES oauth_families(id),
    generation INTEGER NOT NULL,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL,
    invalidated_at REAL,
    revoked_at REAL,
    revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS oauth_access_tokens_family ON oauth_access_tokens(family_id);
CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL REFERENCES oauth_families(id),
    generation INTEGER NOT NULL,
    parent_id TEXT REFERENCES oauth_refresh_tokens(id),
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    first_used_at REAL,
    use_count INTEGER NOT NULL DEFAULT 0,
    retired_at REAL,
    retired_reason TEXT,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS oauth_refresh_tokens_family ON oauth_refresh_tokens(family_id);
CREATE TABLE IF NOT EXISTS oauth_server_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    status INTEGER,
    retry_after INTEGER,
    count INTEGER NOT NULL,
    remaining INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""

#: Tables emptied by a reset, children first.
RESETTABLE = (
    "faults", "oauth_server_settings", "oauth_refresh_tokens", "oauth_access_tokens",
    "oauth_families", "oauth_codes", "oauth_authorizations",
    "inventory", "outbox", "events", "partner_tokens", "access_list", "partners", "stores",
    "clocks",
)


#: The columns and the join that bring a store's sandbox clock into a query on `stores s`;
#: `joined_clock` reads them back.
CLOCK_COLUMNS = "c.offset_seconds AS c_offset, c.frozen_at AS c_frozen_at"
CLOCK_JOIN = "LEFT JOIN clocks c ON c.sandbox = s.sandbox"


def joined_clock(row: sqlite3.Row) -> ClockState:
    return ClockState(offset_seconds=row["c_offset"] or 0.0, frozen_at=row["c_frozen_at"])


class Database:
    """A SQLite file shared by every thread and worker process of the server."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._write_lock = threading.RLock()  # this process's threads
        self._lock_fd = -1  # the flock file, opened anew in each process
        self._lock_pid = -1
        self._generation = WriteGeneration()
        #: Where the hot path's events wait to be folded in (none for an in-memory database,
        #: which has one process and writes them at once).
        self.journal = (None if self.path == ":memory:"
                        else journal.Journal(self.path + ".journal", events.INSERT))
        conn = self.connection()
        with self._exclusive():
            conn.executescript(SCHEMA + journal.SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():  # never reuse across fork
            conn = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    def _process_files(self) -> None:
        """Opens this process's own descriptor of the lock file (an `flock` must not be shared
        across a fork) and maps the write generation it holds."""
        with self._write_lock:
            if self._lock_pid != os.getpid():
                fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                self._generation.attach(fd)
                self._lock_fd, self._lock_pid = fd, os.getpid()

    def generation(self) -> int | None:
        """The write generation (see `generation.py`), or None while a write is under way:
        what a cache of database reads is labelled with."""
        if self._lock_pid != os.getpid() and self.path != ":memory:":
            self._process_files()
        return self._generation.current()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._write_lock:
            if getattr(self._local, "writing", False):  # this thread already holds it
                yield
                return
            on_disk = self.path != ":memory:"  # else one process: the thread lock is enough
            if on_disk:
                if self._lock_pid != os.getpid():
                    self._process_files()
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._local.writing = True
            self._generation.begin()
            try:
                yield
            finally:
                self._generation.end()
                self._local.writing = False
                if on_disk:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One all-or-nothing write transaction, holding the write lock from the start."""
        conn = self.connection()
        with self._exclusive():
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self.journal is not None:  # the journal's events go first, in order
                    self.journal.fold(conn)
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def write_one(self, sql: str, args: tuple[object, ...] | dict[str, object]) -> None:
        """A single statement as its own transaction: the cheap path for hot writes."""
        conn = self.connection()
        with self._exclusive():
            conn.execute(sql, args)

    def record_event(self, params: tuple[object, ...]) -> None:
        """Logs one event (see `events.row`) from the hot path, through the journal."""
        if self.journal is None:
            self.write_one(events.INSERT, params)
        elif self.journal.append(params) and not self.connection().in_transaction:
            self.fold_journal()  # a file was retired: fold it now rather than let files pile up

    def fold_journal(self) -> None:
        """Brings every event of every answered call into the `events` table: readers of
        the event log call this first."""
        with self.write():
            pass

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        with self._write_lock:
            if self._lock_pid == os.getpid():
                self._generation.detach()
                os.close(self._lock_fd)
                self._lock_fd, self._lock_pid = -1, -1
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def secret(self, name: str) -> str:
        """A random value kept in `meta` (and so shared by every worker) under `name`, created
        on first use; a reset of the world keeps it."""
        with self.write() as conn:
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
                         (name, secrets.token_urlsafe(32)))
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        return str(row[0])

    def is_empty(self) -> bool:
        row = self.connection().execute("SELECT COUNT(*) FROM stores").fetchone()
        return int(row[0]) == 0

    def wipe(self, conn: sqlite3.Connection) -> None:
        for table in RESETTABLE:
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    # --- ClockStore -------------------------------------------------------------------

    def load_clock(self, sandbox: str) -> ClockState:
        row = self.connection().execute(
            "SELECT offset_seconds, frozen_at FROM clocks WHERE sandbox = ?", (sandbox,)
        ).fetchone()
        if row is None:
            return ClockState()
        return ClockState(offset_seconds=row[0], frozen_at=row[1])

    def save_clock(self, sandbox: str, state: ClockState) -> None:
        self.write_one(
            "INSERT INTO clocks(sandbox, offset_seconds, frozen_at) VALUES (?, ?, ?) "
            "ON CONFLICT(sandbox) DO UPDATE SET offset_seconds = excluded.offset_seconds, "
            "frozen_at = excluded.frozen_at",
            (sandbox, state.offset_seconds, state.frozen_at),
        )
