"""Token families: issuing, rotating and revoking the tokens of one grant (RFC 6749 §6,
RFC 9700 §4.14.2). Every function runs inside the caller's write transaction and logs its
events; only hashes are stored, plaintexts go back to the caller once."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockserver import events
from mockserver.credentials import hash_secret, new_id, new_secret
from mockserver.oauth import repository
from mockserver.oauth.models import (
    ACCESS_PREFIX,
    ONLINE_TOKEN_TTL,
    REFRESH_PREFIX,
    Family,
    Issued,
    Kind,
    Policy,
    RefreshToken,
    scope_text,
)
from mockserver.oauth.settings import OAuthSettings
from mockserver.wire import iso


@dataclass(frozen=True)
class Where:
    """The transaction, the virtual time and the sandbox an operation runs in."""

    conn: sqlite3.Connection
    now: datetime
    sandbox: str

    @property
    def stamp(self) -> float:
        return self.now.timestamp()

    def record(self, kind: str, /, **fields: Any) -> None:
        events.record(self.conn, kind, sandbox=self.sandbox, at=self.now, **fields)


def token_body(access: str, scope: tuple[str, ...], expires_in: int | None,
               refresh: str | None = None, refresh_expires_in: int | None = None,
               **extra: Any) -> dict[str, Any]:
    """RFC 6749 §5.1 with the platform's `refresh_token_expires_in`."""
    body: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                            "scope": scope_text(scope)}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if refresh is not None:
        body["refresh_token"] = refresh
        body["refresh_token_expires_in"] = refresh_expires_in
    body.update(extra)
    return body


def issue(where: Where, settings: OAuthSettings, *, store_id: str, partner_id: str,
          authorization_id: str, scope: tuple[str, ...], kind: Kind, origin: str,
          grant_type: str, expiring: bool, code_id: str | None = None,
          associated_user: str | None = None, actor: str = "partner",
          extra: dict[str, Any] | None = None) -> Issued:
    """A new family with its first access token (and refresh token when expiring offline).

    Seed 004: only one expiring offline token is active per app and store, so a new one
    revokes the previous expiring families."""
    conn = where.conn
    if kind is Kind.OFFLINE and expiring:
        for old in repository.live_families(conn, store_id, partner_id):
            if old.kind == Kind.OFFLINE and old.expiring:
                revoke_family(where, old, "superseded", actor=actor)
    family_id = new_id("fam")
    conn.execute(
        "INSERT INTO oauth_families(id, store_id, partner_id, authorization_id, kind, origin, "
        "expiring, scope, code_id, created_at, generation, associated_user) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        (family_id, store_id, partner_id, authorization_id, kind.value, origin, int(expiring),
         scope_text(scope), code_id, where.stamp, associated_user))
    ttl: int | None = None
    if kind is Kind.CLIENT_CREDENTIALS:
        ttl = settings.client_credentials_ttl
    elif kind is Kind.ONLINE:
        ttl = ONLINE_TOKEN_TTL
    elif expiring:
        ttl = settings.access_token_ttl
    access_id, access = _insert_access(where, family_id, 1, scope, ttl)
    refresh_id = refresh = None
    if kind is Kind.OFFLINE and expiring:
        refresh_id, refresh = _insert_refresh(where, family_id, 1, None,
                                              settings.refresh_token_ttl)
        conn.execute("UPDATE oauth_families SET current_refresh_id = ? WHERE id = ?",
                     (refresh_id, family_id))
    expires_at = None if ttl is None else where.stamp + ttl
    where.record("oauth.token.issued", store_id=store_id, partner_id=partner_id,
                 token_id=access_id, actor=actor, grant_type=grant_type, family_id=family_id,
                 generation=1, expiring=expires_at is not None, access_token_id=access_id,
                 refresh_token_id=refresh_id, expires_at=iso(expires_at), kind=kind.value,
                 scope=scope_text(scope))
    body = token_body(access, scope, ttl, refresh,
                      settings.refresh_token_ttl if refresh else None, **(extra or {}))
    return Issued(body, family_id, 1, access_id, refresh_id, expires_at)


def rotate(where: Where, settings: OAuthSettings, family: Family, used: RefreshToken,
           current: RefreshToken | None, scope: tuple[str, ...], *, in_grace: bool) -> Issued:
    """RFC 6749 §6 with rotation: a new access token and a new refresh token; the family's
    earlier access tokens are revoked (one active token per app and store).

    Under `grace` the used token stays usable until its replacement is first used; using the
    replacement retires its parent. Under the other policies the used token retires at once.
    A token used again in grace supersedes the replacement handed out before (never used).
    `current` is the family's current refresh token, as the caller read it in this
    transaction."""
    conn = where.conn
    generation = family.generation + 1
    stamp = where.stamp
    if in_grace:
        if current is not None:
            _retire(conn, current.id, stamp, "superseded")
    else:
        if used.parent_id is not None:
            _retire(conn, used.parent_id, stamp, "successor_used")
        if settings.policy is not Policy.GRACE:
            _retire(conn, used.id, stamp, "used")
    conn.execute("UPDATE oauth_refresh_tokens SET first_used_at = COALESCE(first_used_at, ?), "
                 "use_count = use_count + 1 WHERE id = ?", (stamp, used.id))
    conn.execute("UPDATE oauth_access_tokens SET revoked_at = ?, revoked_reason = 'refreshed' "
                 "WHERE family_id = ? AND revoked_at IS NULL", (stamp, family.id))
    access_id, access = _insert_access(where, family.id, generation, scope,
                                       settings.access_token_ttl)
    refresh_id, refresh = _insert_refresh(where, family.id, generation, used.id,
                                          settings.refresh_token_ttl)
    conn.execute("UPDATE oauth_families SET generation = ?, current_refresh_id = ? WHERE id = ?",
                 (generation, refresh_id, family.id))
    body = token_body(access, scope, settings.access_token_ttl, refresh,
                      settings.refresh_token_ttl)
    return Issued(body, family.id, generation, access_id, refresh_id,
                  stamp + settings.access_token_ttl)


def revoke_family(where: Where, family: Family, reason: str, *, actor: str) -> None:
    """Revoke by marking: the family, its access tokens and its refresh tokens."""
    stamp = where.stamp
    conn = where.conn
    conn.execute("UPDATE oauth_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? "
                 "AND revoked_at IS NULL", (stamp, reason, family.id))
    conn.execute("UPDATE oauth_access_tokens SET revoked_at = ?, revoked_reason = ? "
                 "WHERE family_id = ? AND revoked_at IS NULL", (stamp, reason, family.id))
    conn.execute("UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE family_id = ? "
                 "AND revoked_at IS NULL", (stamp, family.id))
    where.record("oauth.family.revoked", store_id=family.store_id, partner_id=family.partner_id,
                 actor=actor, family_id=family.id, reason=reason)


def revoke_access(where: Where, family: Family, access_id: str, reason: str, *,
                  actor: str) -> None:
    where.conn.execute("UPDATE oauth_access_tokens SET revoked_at = ?, revoked_reason = ? "
                       "WHERE id = ? AND revoked_at IS NULL", (where.stamp, reason, access_id))
    where.record("oauth.token.revoked", store_id=family.store_id, partner_id=family.partner_id,
                 token_id=access_id, actor=actor, family_id=family.id, token_kind="access_token",
                 reason=reason)


def _retire(conn: sqlite3.Connection, refresh_id: str, stamp: float, reason: str) -> None:
    conn.execute("UPDATE oauth_refresh_tokens SET retired_at = ?, retired_reason = ? "
                 "WHERE id = ? AND retired_at IS NULL", (stamp, reason, refresh_id))


def _insert_access(where: Where, family_id: str, generation: int, scope: tuple[str, ...],
                   ttl: int | None) -> tuple[str, str]:
    token_id = new_id("at")
    plaintext = new_secret(ACCESS_PREFIX)
    where.conn.execute(
        "INSERT INTO oauth_access_tokens(id, token_hash, family_id, generation, scope, "
        "issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_id, hash_secret(plaintext), family_id, generation, scope_text(scope),
         where.stamp, None if ttl is None else where.stamp + ttl))
    return token_id, plaintext


def _insert_refresh(where: Where, family_id: str, generation: int, parent_id: str | None,
                    ttl: int) -> tuple[str, str]:
    token_id = new_id("rt")
    plaintext = new_secret(REFRESH_PREFIX)
    where.conn.execute(
        "INSERT INTO oauth_refresh_tokens(id, token_hash, family_id, generation, parent_id, "
        "issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_id, hash_secret(plaintext), family_id, generation, parent_id, where.stamp,
         where.stamp + ttl))
    return token_id, plaintext
