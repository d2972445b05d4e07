"""The store's API access list and its partner tokens: add, renew, revoke, authenticate.

Every operation is one write transaction: it either happens whole or not at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from mockserver import events, outbox
from mockserver.auth_cache import VersionedCache
from mockserver.clock import Clock, ClockState
from mockserver.credentials import hash_secret, new_id, new_secret, same
from mockserver.db import CLOCK_COLUMNS, CLOCK_JOIN, Database, joined_clock
from mockserver.errors import (
    BearerChallenge,
    NotFound,
    PartnerAlreadyAdded,
    PlanNotSupported,
    TokenUnknown,
    ValidationFailed,
)
from mockserver.models import Partner, Store
from mockserver.partner_tokens import (
    DEFAULT_VALIDITY_DAYS,
    TOKEN_PREFIX,
    PartnerToken,
    Status,
    check_renewable,
    check_usable,
    validity_seconds,
)
from mockserver.tenants import Tenants
from mockserver.wire import iso

#: The store API's gate in one query: the token, its store and its sandbox's clock.
AUTH_QUERY = (
    "SELECT t.*, s.id AS s_id, s.sandbox AS s_sandbox, s.name AS s_name, s.plan AS s_plan, "
    f"s.email AS s_email, s.created_at AS s_created_at, {CLOCK_COLUMNS} "
    f"FROM partner_tokens t JOIN stores s ON s.id = t.store_id {CLOCK_JOIN} "
    "WHERE t.token_hash = ?"
)


@dataclass(frozen=True)
class Scope:
    """Who is acting: a merchant on its store, or a partner on its own tokens."""

    kind: str  # "merchant" | "partner"
    id: str
    sandbox: str

    @classmethod
    def merchant(cls, store: Store) -> Scope:
        return cls("merchant", store.id, store.sandbox)

    @classmethod
    def partner(cls, partner: Partner) -> Scope:
        return cls("partner", partner.id, partner.sandbox)

    @property
    def column(self) -> str:
        return "store_id" if self.kind == "merchant" else "partner_id"


@dataclass(frozen=True)
class Issued:
    token: PartnerToken
    plaintext: str


@dataclass(frozen=True)
class Authenticated:
    token: PartnerToken
    store: Store
    now: datetime
    status: Status


class PartnerAccess:
    def __init__(self, db: Database, tenants: Tenants, clock_for: Callable[[str], Clock]) -> None:
        self.db = db
        self.tenants = tenants
        self.clock_for = clock_for
        self._cache: VersionedCache[tuple[PartnerToken, Store, ClockState]] = VersionedCache()

    # --- reading ----------------------------------------------------------------------

    def token(self, token_id: str, scope: Scope | None = None,
              conn: sqlite3.Connection | None = None) -> PartnerToken:
        """A token visible to `scope`; any other token is 'not found' so nothing leaks."""
        row = (conn or self.db.connection()).execute(
            "SELECT * FROM partner_tokens WHERE id = ?", (token_id,)
        ).fetchone()
        if row is None or (scope is not None and row[scope.column] != scope.id):
            raise NotFound(f"No token '{token_id}'.", token_id=token_id)
        return PartnerToken.from_row(row)

    def tokens(
        self, scope: Scope, *, store_id: str | None = None, partner_id: str | None = None,
        statuses: Iterable[Status] | None = None, expiring: bool = False,
        conn: sqlite3.Connection | None = None,
    ) -> list[PartnerToken]:
        sql = f"SELECT * FROM partner_tokens WHERE {scope.column} = ?"
        args: list[str] = [scope.id]
        if store_id is not None:
            sql += " AND store_id = ?"
            args.append(store_id)
        if partner_id is not None:
            sql += " AND partner_id = ?"
            args.append(partner_id)
        rows = (conn or self.db.connection()).execute(sql + " ORDER BY issued_at, id", args)
        tokens = [PartnerToken.from_row(row) for row in rows]
        now = self.clock_for(scope.sandbox).now()
        wanted = set(statuses) if statuses is not None else None
        return [
            t for t in tokens
            if (wanted is None or t.status(now) in wanted) and (not expiring or t.is_expiring(now))
        ]

    def access_list(self, store: Store) -> list[dict[str, object]]:
        rows = self.db.connection().execute(
            "SELECT a.partner_id, a.added_at, p.name FROM access_list a "
            "JOIN partners p ON p.id = a.partner_id WHERE a.store_id = ? ORDER BY a.added_at",
            (store.id,),
        )
        return [
            {"partner_id": r["partner_id"], "name": r["name"], "added_at": iso(r["added_at"])}
            for r in rows
        ]

    def preview_revoke(self, scope: Scope, token_ids: list[str]) -> tuple[list[PartnerToken],
                                                                         list[PartnerToken]]:
        """For the confirmation step (seed 001): the selected tokens, and the partners' other
        valid tokens that a revocation of the selection would leave working."""
        _check_distinct(token_ids)
        now = self.now(scope)
        with self.db.read() as conn:
            tokens = [self.token(tid, scope, conn) for tid in token_ids]
            return tokens, self._still_valid(conn, tokens, now)

    def now(self, scope: Scope) -> datetime:
        return self.clock_for(scope.sandbox).now()

    # --- writing ----------------------------------------------------------------------

    def add_partner(self, store: Store, partner_id: str, *, email_copy: bool = False) -> Issued:
        """Seed 000: adding a Partner ID to the access list issues a token valid for a year."""
        if not store.plan.has_api:
            raise PlanNotSupported("Partners cannot be added to a store on the Starter plan.")
        now = self.clock_for(store.sandbox).now()
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM partners WHERE id = ? AND sandbox = ?",
                               (partner_id, store.sandbox)).fetchone()
            if row is None:
                raise NotFound(f"No partner '{partner_id}'.", field="partner_id")
            partner = Partner.from_row(row)
            if conn.execute("SELECT 1 FROM access_list WHERE store_id = ? AND partner_id = ?",
                            (store.id, partner_id)).fetchone():
                raise PartnerAlreadyAdded()
            conn.execute("INSERT INTO access_list(store_id, partner_id, added_at) VALUES (?,?,?)",
                         (store.id, partner_id, now.timestamp()))
            events.record(conn, "partner.added", sandbox=store.sandbox, at=now,
                          store_id=store.id, partner_id=partner_id, actor="merchant")
            issued = self._issue(conn, store, partner, now, DEFAULT_VALIDITY_DAYS * 86_400,
                                 actor="merchant")
            if email_copy:
                self._mail_copy(conn, store, partner, issued, now)
        return issued

    def renew(self, scope: Scope, token_id: str, *, validity_days: int | None = None,
              email_copy: bool = False) -> Issued:
        """Seed 000: a New token is generated, the original is marked Renewed and keeps its own
        expiry. Concurrent renewals serialise on the write lock; the loser sees 'renewed'."""
        seconds = validity_seconds(validity_days)
        now = self.now(scope)
        with self.db.write() as conn:
            original = self.token(token_id, scope, conn)
            check_renewable(original, now)
            store = self.tenants.store(original.store_id, conn)
            partner = self.tenants.partner(original.partner_id, conn)
            issued = self._issue(conn, store, partner, now, seconds, actor=scope.kind,
                                 predecessor_id=original.id)
            conn.execute(
                "UPDATE partner_tokens SET successor_id = ?, renewed_at = ?, renewed_by = ? "
                "WHERE id = ? AND successor_id IS NULL",
                (issued.token.id, now.timestamp(), scope.kind, original.id),
            )
            events.record(conn, "token.renewed", sandbox=store.sandbox, at=now,
                          store_id=store.id, partner_id=partner.id, token_id=original.id,
                          actor=scope.kind, successor_id=issued.token.id,
                          successor_expires_at=iso(issued.token.expires_at))
            body = (f"Partner token {original.id} for store {store.name} ({store.id}) was renewed "
                    f"by the {scope.kind}. The new token {issued.token.id} expires "
                    f"{iso(issued.token.expires_at)}; the original keeps working until "
                    f"{iso(original.expires_at)}.")
            for kind, rid, address in (("merchant", store.id, store.email),
                                       ("partner", partner.id, partner.email)):
                outbox.send(conn, store.sandbox, now, outbox.Mail(
                    kind, rid, address, "Partner token renewed", body, issued.token.id))
            if email_copy:
                self._mail_copy(conn, store, partner, issued, now)
        return issued

    def revoke(self, scope: Scope, token_ids: list[str]) -> tuple[list[PartnerToken],
                                                                   list[PartnerToken]]:
        """Seed 001: revocation is immediate. All-or-nothing: one foreign or unknown id rejects
        the request. Returns the revoked tokens and the partners' other still-valid tokens."""
        _check_distinct(token_ids)
        now = self.now(scope)
        with self.db.write() as conn:
            tokens = [self.token(tid, scope, conn) for tid in token_ids]
            for token in tokens:
                if token.revoked_at is None:
                    conn.execute(
                        "UPDATE partner_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                        (now.timestamp(), scope.kind, token.id),
                    )
                    events.record(conn, "token.revoked", sandbox=scope.sandbox, at=now,
                                  store_id=token.store_id, partner_id=token.partner_id,
                                  token_id=token.id, actor=scope.kind)
            revoked = [self.token(t.id, None, conn) for t in tokens]
            still_valid = self._still_valid(conn, revoked, now)
        return revoked, still_valid

    def revoke_all(self, store: Store, partner_id: str) -> list[PartnerToken]:
        """Seed 000's recovery path: revoke every token of the partner for this store and take
        the partner off the access list; adding it again issues a fresh token."""
        now = self.clock_for(store.sandbox).now()
        with self.db.write() as conn:
            if not conn.execute("SELECT 1 FROM access_list WHERE store_id = ? AND partner_id = ?",
                                (store.id, partner_id)).fetchone():
                raise NotFound(f"Partner '{partner_id}' is not on the access list.")
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM partner_tokens WHERE store_id = ? AND partner_id = ? "
                "AND revoked_at IS NULL", (store.id, partner_id))]
            for token_id in ids:
                conn.execute("UPDATE partner_tokens SET revoked_at = ?, revoked_by = 'merchant' "
                             "WHERE id = ?", (now.timestamp(), token_id))
                events.record(conn, "token.revoked", sandbox=store.sandbox, at=now,
                              store_id=store.id, partner_id=partner_id, token_id=token_id,
                              actor="merchant", reason="revoke_all")
            conn.execute("DELETE FROM access_list WHERE store_id = ? AND partner_id = ?",
                         (store.id, partner_id))
            events.record(conn, "partner.removed", sandbox=store.sandbox, at=now,
                          store_id=store.id, partner_id=partner_id, actor="merchant")
            return [self.token(tid, None, conn) for tid in ids]

    def email_copy(self, store: Store, token_id: str, plaintext: str) -> None:
        """Seed 000: the merchant can e-mail a copy of a token to the partner. Only hashes are
        stored, so the merchant supplies the plaintext it was shown; it must match."""
        now = self.clock_for(store.sandbox).now()
        with self.db.write() as conn:
            token = self.token(token_id, Scope.merchant(store), conn)
            if not same(hash_secret(plaintext), self._hash_of(conn, token.id)):
                raise ValidationFailed("The plaintext does not belong to this token.",
                                       field="token_value")
            partner = self.tenants.partner(token.partner_id, conn)
            self._mail_copy(conn, store, partner, Issued(token, plaintext), now)

    # --- the store API's gate ---------------------------------------------------------

    def authenticate(self, plaintext: str, method: str, path: str) -> Authenticated:
        """Look the token up by hash (one query brings its store and its sandbox's clock),
        check it, log the use. A New token turns Active on its first successful use."""
        token, store, clock_state = self._lookup(hash_secret(plaintext))
        now = Clock.at(clock_state)
        try:
            status = check_usable(token, now)
        except BearerChallenge as rejected:
            self.db.record_event(events.row(
                "token.rejected", sandbox=store.sandbox, at=now, store_id=store.id,
                partner_id=token.partner_id, token_id=token.id, actor="partner",
                reason=rejected.error, method=method, path=path))
            raise
        if token.first_used_at is None:
            self.db.write_one("UPDATE partner_tokens SET first_used_at = ? WHERE id = ? "
                              "AND first_used_at IS NULL", (now.timestamp(), token.id))
            token = replace(token, first_used_at=now.timestamp())
            status = token.status(now)
        self.db.record_event(events.row(
            "token.used", sandbox=store.sandbox, at=now, store_id=store.id,
            partner_id=token.partner_id, token_id=token.id, actor="partner", method=method,
            path=path))
        return Authenticated(token, store, now, status)

    def _lookup(self, digest: str) -> tuple[PartnerToken, Store, ClockState]:
        """The token, its store and its sandbox's clock: from this process's cache while the
        database's write generation stands, else in one query."""
        generation = self.db.generation()
        if generation is not None:
            cached = self._cache.get(digest, generation)
            if cached is not None:
                return cached
        row = self.db.connection().execute(AUTH_QUERY, (digest,)).fetchone()
        if row is None or not same(row["token_hash"], digest):
            raise TokenUnknown()
        found = PartnerToken.from_row(row), Store.from_row(row, "s_"), joined_clock(row)
        if generation is not None:
            self._cache.put(digest, generation, found)
        return found

    # --- helpers ------------------------------------------------------------------------

    def _issue(self, conn: sqlite3.Connection, store: Store, partner: Partner, now: datetime,
               seconds: int, *, actor: str, predecessor_id: str | None = None) -> Issued:
        plaintext = new_secret(TOKEN_PREFIX)
        issued_at = float(int(now.timestamp()))
        token = PartnerToken(
            id=new_id("tok"), store_id=store.id, partner_id=partner.id, issued_at=issued_at,
            expires_at=issued_at + seconds, issued_by=actor, predecessor_id=predecessor_id,
        )
        conn.execute(
            "INSERT INTO partner_tokens(id, store_id, partner_id, token_hash, issued_at, "
            "expires_at, issued_by, predecessor_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token.id, token.store_id, token.partner_id, hash_secret(plaintext), token.issued_at,
             token.expires_at, actor, predecessor_id),
        )
        events.record(conn, "token.issued", sandbox=store.sandbox, at=now, store_id=store.id,
                      partner_id=partner.id, token_id=token.id, actor=actor,
                      expires_at=iso(token.expires_at), predecessor_id=predecessor_id)
        return Issued(token, plaintext)

    @staticmethod
    def _hash_of(conn: sqlite3.Connection, token_id: str) -> str:
        row = conn.execute("SELECT token_hash FROM partner_tokens WHERE id = ?",
                           (token_id,)).fetchone()
        return str(row[0])

    @staticmethod
    def _mail_copy(conn: sqlite3.Connection, store: Store, partner: Partner, issued: Issued,
                   now: datetime) -> None:
        outbox.send(conn, store.sandbox, now, outbox.Mail(
            "partner", partner.id, partner.email, f"Copy of your partner token for {store.name}",
            f"Store {store.name} ({store.id}) sent you a copy of partner token "
            f"{issued.token.id}, valid until {iso(issued.token.expires_at)}:\n\n"
            f"{issued.plaintext}\n", issued.token.id))
        events.record(conn, "token.emailed", sandbox=store.sandbox, at=now, store_id=store.id,
                      partner_id=partner.id, token_id=issued.token.id, actor="merchant")

    @staticmethod
    def _still_valid(conn: sqlite3.Connection, revoked: list[PartnerToken],
                     now: datetime) -> list[PartnerToken]:
        revoked_ids = {t.id for t in revoked}
        out: list[PartnerToken] = []
        for store_id, partner_id in sorted({(t.store_id, t.partner_id) for t in revoked}):
            for row in conn.execute("SELECT * FROM partner_tokens WHERE store_id = ? AND "
                                    "partner_id = ? ORDER BY issued_at", (store_id, partner_id)):
                token = PartnerToken.from_row(row)
                if token.id not in revoked_ids and token.is_valid(now):
                    out.append(token)
        return out


def _check_distinct(token_ids: list[str]) -> None:
    if len(set(token_ids)) != len(token_ids):
        raise ValidationFailed("'token_ids' lists a token twice.", field="token_ids")
