"""SQL for the OAuth records: lookups by id or by secret hash, and the authorization rows.
Secrets are stored only as SHA-256 hashes (`mockserver.credentials`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mockserver.credentials import hash_secret, new_id, same
from mockserver.oauth.models import (
    AccessToken,
    Authorization,
    AuthorizationCode,
    Family,
    RefreshToken,
)


def authorization(conn: sqlite3.Connection, authorization_id: str) -> Authorization:
    row = conn.execute("SELECT * FROM oauth_authorizations WHERE id = ?",
                       (authorization_id,)).fetchone()
    return Authorization.from_row(row)


def active_authorization(conn: sqlite3.Connection, store_id: str,
                         partner_id: str) -> Authorization | None:
    row = conn.execute(
        "SELECT * FROM oauth_authorizations WHERE store_id = ? AND partner_id = ? "
        "AND revoked_at IS NULL ORDER BY granted_at DESC, rowid DESC LIMIT 1",
        (store_id, partner_id)).fetchone()
    return None if row is None else Authorization.from_row(row)


def authorizations(conn: sqlite3.Connection, store_id: str) -> list[Authorization]:
    rows = conn.execute("SELECT * FROM oauth_authorizations WHERE store_id = ? "
                        "ORDER BY granted_at, rowid", (store_id,))
    return [Authorization.from_row(row) for row in rows]


def grant_authorization(conn: sqlite3.Connection, store_id: str, partner_id: str, scope: str,
                        now: datetime) -> tuple[Authorization, bool]:
    """The merchant's consent: the active authorization takes the newly granted scope, or a
    new one is created (after a revocation, this is the re-authorization). Returns it and
    whether it is new."""
    current = active_authorization(conn, store_id, partner_id)
    if current is not None:
        conn.execute("UPDATE oauth_authorizations SET scope = ?, updated_at = ? WHERE id = ?",
                     (scope, now.timestamp(), current.id))
        return authorization(conn, current.id), False
    auth_id = new_id("auth")
    conn.execute(
        "INSERT INTO oauth_authorizations(id, store_id, partner_id, scope, granted_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (auth_id, store_id, partner_id, scope, now.timestamp(), now.timestamp()))
    return authorization(conn, auth_id), True


def _by_hash(conn: sqlite3.Connection, table: str, plaintext: str) -> sqlite3.Row | None:
    digest = hash_secret(plaintext)
    column = "code_hash" if table == "oauth_codes" else "token_hash"
    row: sqlite3.Row | None = conn.execute(
        f"SELECT * FROM {table} WHERE {column} = ?", (digest,)).fetchone()  # noqa: S608
    if row is None or not same(row[column], digest):
        return None
    return row


def code_by_plaintext(conn: sqlite3.Connection, plaintext: str) -> AuthorizationCode | None:
    row = _by_hash(conn, "oauth_codes", plaintext)
    return None if row is None else AuthorizationCode.from_row(row)


def access_by_plaintext(conn: sqlite3.Connection, plaintext: str) -> AccessToken | None:
    row = _by_hash(conn, "oauth_access_tokens", plaintext)
    return None if row is None else AccessToken.from_row(row)


def refresh_by_plaintext(conn: sqlite3.Connection, plaintext: str) -> RefreshToken | None:
    row = _by_hash(conn, "oauth_refresh_tokens", plaintext)
    return None if row is None else RefreshToken.from_row(row)


def refresh_token(conn: sqlite3.Connection, token_id: str | None) -> RefreshToken | None:
    if token_id is None:
        return None
    row = conn.execute("SELECT * FROM oauth_refresh_tokens WHERE id = ?", (token_id,)).fetchone()
    return None if row is None else RefreshToken.from_row(row)


def family(conn: sqlite3.Connection, family_id: str) -> Family | None:
    row = conn.execute("SELECT * FROM oauth_families WHERE id = ?", (family_id,)).fetchone()
    return None if row is None else Family.from_row(row)


def live_families(conn: sqlite3.Connection, store_id: str, partner_id: str) -> list[Family]:
    rows = conn.execute("SELECT * FROM oauth_families WHERE store_id = ? AND partner_id = ? "
                        "AND revoked_at IS NULL ORDER BY created_at, rowid",
                        (store_id, partner_id))
    return [Family.from_row(row) for row in rows]


def migrated(conn: sqlite3.Connection, store_id: str, partner_id: str) -> bool:
    """Seed 004: the migration to expiring tokens is one-time and irreversible per store."""
    return conn.execute("SELECT 1 FROM oauth_families WHERE store_id = ? AND partner_id = ? "
                        "AND origin = 'migration' LIMIT 1", (store_id, partner_id)
                        ).fetchone() is not None
