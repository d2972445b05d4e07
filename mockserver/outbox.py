"""Notifications the platform would e-mail. Nothing is sent: they land here and are read over
the control API (and by a partner, its own, over the partner API)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockserver.wire import iso


@dataclass(frozen=True)
class Mail:
    recipient_kind: str  # "merchant" or "partner"
    recipient_id: str
    address: str
    subject: str
    body: str
    token_id: str | None = None


def send(conn: sqlite3.Connection, sandbox: str, at: datetime, mail: Mail) -> None:
    conn.execute(
        "INSERT INTO outbox(sandbox, at, recipient_kind, recipient_id, address, subject, body, "
        "token_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (sandbox, at.timestamp(), mail.recipient_kind, mail.recipient_id, mail.address,
         mail.subject, mail.body, mail.token_id),
    )


def query(
    conn: sqlite3.Connection,
    sandbox: str | None = None,
    *,
    recipient_kind: str | None = None,
    recipient_id: str | None = None,
    after_id: int = 0,
    limit: int = 500,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    sql = "SELECT * FROM outbox WHERE id > ?"
    args: list[Any] = [after_id]
    for column, value in (("sandbox", sandbox), ("recipient_kind", recipient_kind),
                          ("recipient_id", recipient_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT ?"
    args.append(limit)
    return [
        {
            "id": row["id"], "at": iso(row["at"]), "to": row["address"],
            "recipient": {"kind": row["recipient_kind"], "id": row["recipient_id"]},
            "subject": row["subject"], "body": row["body"], "token_id": row["token_id"],
        }
        for row in conn.execute(sql, args)
    ]
