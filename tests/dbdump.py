"""The database's content without the audit trail: what a refused call must leave unchanged
(its refusal may still be recorded as an event)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: Tables that record what was asked, not what is; a refused call may add rows to them.
AUDIT_TABLES = ("events",)


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [line for line in conn.iterdump()
                if not any(f'INSERT INTO "{t}"' in line or f"VALUES('{t}'," in line
                           for t in AUDIT_TABLES)]
