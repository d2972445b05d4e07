"""The event log: what happened to which token, at what virtual time. Never a plaintext secret."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockserver.wire import iso

if TYPE_CHECKING:
    from mockserver.db import Database

#: One encoder for every event's detail (json.dumps with options would build one per call).
_DETAIL = json.JSONEncoder(sort_keys=True)

INSERT = ("INSERT INTO events(sandbox, at, kind, store_id, partner_id, token_id, actor, detail) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def row(kind: str, /, *, sandbox: str, at: datetime, store_id: str | None = None,
        partner_id: str | None = None, token_id: str | None = None, actor: str | None = None,
        **detail: Any) -> tuple[object, ...]:
    """The parameters of one event row, for `INSERT`."""
    return (sandbox, at.timestamp(), kind, store_id, partner_id, token_id, actor,
            _DETAIL.encode(detail))


def record(
    conn: sqlite3.Connection,
    kind: str,
    /,
    *,
    sandbox: str,
    at: datetime,
    store_id: str | None = None,
    partner_id: str | None = None,
    token_id: str | None = None,
    actor: str | None = None,
    **detail: Any,
) -> None:
    conn.execute(INSERT, row(kind, sandbox=sandbox, at=at, store_id=store_id,
                             partner_id=partner_id, token_id=token_id, actor=actor, **detail))


def to_wire(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": iso(row["at"]),
        "at_epoch": row["at"],
        "kind": row["kind"],
        "store_id": row["store_id"],
        "partner_id": row["partner_id"],
        "token_id": row["token_id"],
        "actor": row["actor"],
        "detail": json.loads(row["detail"]),
    }


def query(
    db: Database,
    sandbox: str,
    *,
    after_id: int = 0,
    kind: str | None = None,
    token_id: str | None = None,
    store_id: str | None = None,
    partner_id: str | None = None,
    limit: int = 1000,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    """The log as of now: every event of every call already answered, by any worker."""
    db.fold_journal()
    sql = "SELECT * FROM events WHERE sandbox = ? AND id > ?"
    args: list[Any] = [sandbox, after_id]
    for column, value in (("token_id", token_id), ("store_id", store_id),
                          ("partner_id", partner_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    if kind is not None:
        if kind.endswith("*"):
            sql += " AND kind LIKE ?"
            args.append(kind[:-1] + "%")
        else:
            sql += " AND kind = ?"
            args.append(kind)
    sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT ?"
    args.append(limit)
    return [to_wire(row) for row in db.connection().execute(sql, args)]
