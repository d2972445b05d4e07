"""Scripted faults of the token endpoint, for the conformance kit: the next N calls answer
500/503/429, or the next N successful refreshes are committed but their response is dropped.

Faults live in the database so every worker process sees them, and each is consumed inside a
write transaction, so N means N across workers.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mockserver import events
from mockserver.errors import (
    OAuthError,
    OAuthServerError,
    TemporarilyUnavailable,
    TooManyRequests,
    ValidationFailed,
)
from mockserver.wire import iso


class FaultKind(StrEnum):
    TOKEN_ENDPOINT_ERROR = "token_endpoint_error"
    DROP_REFRESH_RESPONSE = "drop_refresh_response"


ERROR_STATUSES = (500, 503, 429)
MAX_COUNT = 10_000
MAX_RETRY_AFTER = 86_400


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    status: int | None
    retry_after: int | None
    count: int
    remaining: int
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Fault:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "status": self.status,
                "retry_after": self.retry_after, "count": self.count,
                "remaining": self.remaining, "created_at": iso(self.created_at)}

    def error(self) -> OAuthError:
        if self.status == 503:
            return TemporarilyUnavailable(retry_after=self.retry_after)
        if self.status == 429:
            return TooManyRequests(retry_after=self.retry_after)
        return OAuthServerError()


def check_spec(data: dict[str, Any]) -> tuple[FaultKind, int | None, int | None, int]:
    """Validates a fault request: `kind`, `count` (default 1), and for errors `status` and
    `retry_after` (429 and 503 only, default 1 second)."""
    kind = FaultKind(data["kind"])
    count = data.get("count", 1)
    status = data.get("status")
    retry_after = data.get("retry_after")
    if kind is FaultKind.DROP_REFRESH_RESPONSE:
        for name in ("status", "retry_after"):
            if data.get(name) is not None:
                raise ValidationFailed(f"'{name}' does not apply to {kind.value}.", field=name)
        return kind, None, None, count
    if status is None:
        raise ValidationFailed("'status' is required: 500, 503 or 429.", field="status")
    if status == 500:
        if retry_after is not None:
            raise ValidationFailed("'retry_after' applies to 429 and 503 only.",
                                   field="retry_after")
        return kind, status, None, count
    return kind, status, 1 if retry_after is None else retry_after, count


def inject(conn: sqlite3.Connection, kind: FaultKind, status: int | None,
           retry_after: int | None, count: int, now: datetime) -> Fault:
    cur = conn.execute(
        "INSERT INTO faults(kind, status, retry_after, count, remaining, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (kind.value, status, retry_after, count, count, now.timestamp()))
    events.record(conn, "fault.injected", sandbox="default", at=now, actor="control",
                  kind=kind.value, status=status, retry_after=retry_after, count=count,
                  fault_id=cur.lastrowid)
    row = conn.execute("SELECT * FROM faults WHERE id = ?", (cur.lastrowid,)).fetchone()
    return Fault.from_row(row)


def pending(conn: sqlite3.Connection) -> list[Fault]:
    rows = conn.execute("SELECT * FROM faults WHERE remaining > 0 ORDER BY id")
    return [Fault.from_row(row) for row in rows]


def clear(conn: sqlite3.Connection) -> int:
    return conn.execute("DELETE FROM faults").rowcount


def any_pending(conn: sqlite3.Connection, kind: FaultKind) -> bool:
    return conn.execute("SELECT 1 FROM faults WHERE kind = ? AND remaining > 0 LIMIT 1",
                        (kind.value,)).fetchone() is not None


def take(conn: sqlite3.Connection, kind: FaultKind, now: datetime, *,
         store_id: str | None = None, partner_id: str | None = None) -> Fault | None:
    """Consumes one firing of the oldest pending fault of `kind`, inside the caller's write
    transaction, and logs `fault.fired`."""
    row = conn.execute("SELECT * FROM faults WHERE kind = ? AND remaining > 0 ORDER BY id "
                       "LIMIT 1", (kind.value,)).fetchone()
    if row is None:
        return None
    fault = Fault.from_row(row)
    conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (fault.id,))
    events.record(conn, "fault.fired", sandbox="default", at=now, store_id=store_id,
                  partner_id=partner_id, kind=fault.kind, status=fault.status,
                  fault_id=fault.id, remaining=fault.remaining - 1)
    return fault
