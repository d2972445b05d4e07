"""Stores and partners: creation, lookup and how each authenticates."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mockserver import events
from mockserver.clock import Clock
from mockserver.credentials import hash_secret, new_id, new_secret, same
from mockserver.db import Database
from mockserver.errors import Conflict, MerchantAuthRequired, NotFound, PartnerAuthRequired
from mockserver.models import Partner, Plan, Store


@dataclass(frozen=True)
class NewStore:
    store: Store
    merchant_key: str  # plaintext, returned once


class Tenants:
    def __init__(self, db: Database, clock_for: Callable[[str], Clock]) -> None:
        self.db = db
        self.clock_for = clock_for

    # --- creation -------------------------------------------------------------------

    def create_store(
        self, conn: sqlite3.Connection, *, name: str, plan: Plan, email: str | None = None,
        store_id: str | None = None, sandbox: str = "default",
    ) -> NewStore:
        now = self.clock_for(sandbox).now()
        store_id = store_id or new_id("store")
        if conn.execute("SELECT 1 FROM stores WHERE id = ?", (store_id,)).fetchone():
            raise Conflict(f"A store with id '{store_id}' exists already.", field="id")
        key = new_secret("mk")
        email = email or f"merchant@{store_id}.example"
        conn.execute(
            "INSERT INTO stores(id, sandbox, name, plan, email, merchant_key_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (store_id, sandbox, name, plan.value, email, hash_secret(key), now.timestamp()),
        )
        events.record(conn, "store.created", sandbox=sandbox, at=now, store_id=store_id,
                      actor="control", plan=plan.value)
        store = Store(store_id, sandbox, name, plan, email, now.timestamp())
        return NewStore(store, key)

    def create_partner(
        self, conn: sqlite3.Connection, *, name: str, email: str | None = None,
        partner_id: str | None = None, redirect_uri: str | None = None,
        client_id: str | None = None, client_secret: str | None = None,
        settings: dict[str, Any] | None = None, sandbox: str = "default",
    ) -> Partner:
        now = self.clock_for(sandbox).now()
        partner_id = partner_id or new_id("partner")
        client_id = client_id or new_id("client")
        clash = conn.execute(
            "SELECT 1 FROM partners WHERE id = ? OR client_id = ?", (partner_id, client_id)
        ).fetchone()
        if clash:
            raise Conflict("A partner with that id or client_id exists already.", field="id")
        client_secret = client_secret or new_secret("cs")
        email = email or f"developer@{partner_id}.example"
        conn.execute(
            "INSERT INTO partners(id, sandbox, name, email, client_id, client_secret, "
            "redirect_uri, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (partner_id, sandbox, name, email, client_id, client_secret, redirect_uri,
             json.dumps(settings or {}), now.timestamp()),
        )
        events.record(conn, "partner.created", sandbox=sandbox, at=now, partner_id=partner_id,
                      actor="control")
        return Partner(partner_id, sandbox, name, email, client_id, client_secret, redirect_uri,
                       now.timestamp(), settings or {})

    # --- lookup ---------------------------------------------------------------------

    def store(self, store_id: str, conn: sqlite3.Connection | None = None) -> Store:
        row = (conn or self.db.connection()).execute(
            "SELECT * FROM stores WHERE id = ?", (store_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"No store '{store_id}'.")
        return Store.from_row(row)

    def partner(self, partner_id: str, conn: sqlite3.Connection | None = None) -> Partner:
        row = (conn or self.db.connection()).execute(
            "SELECT * FROM partners WHERE id = ?", (partner_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"No partner '{partner_id}'.")
        return Partner.from_row(row)

    def partner_by_client_id(self, client_id: str,
                             conn: sqlite3.Connection | None = None) -> Partner | None:
        row = (conn or self.db.connection()).execute(
            "SELECT * FROM partners WHERE client_id = ?", (client_id,)
        ).fetchone()
        return None if row is None else Partner.from_row(row)

    def stores(self, sandbox: str | None = None) -> list[Store]:
        rows = self.db.connection().execute(
            "SELECT * FROM stores WHERE ?1 IS NULL OR sandbox = ?1 ORDER BY created_at, id",
            (sandbox,),
        )
        return [Store.from_row(row) for row in rows]

    def partners(self, sandbox: str | None = None) -> list[Partner]:
        rows = self.db.connection().execute(
            "SELECT * FROM partners WHERE ?1 IS NULL OR sandbox = ?1 ORDER BY created_at, id",
            (sandbox,),
        )
        return [Partner.from_row(row) for row in rows]

    # --- authentication ----------------------------------------------------------------

    def authenticate_merchant(self, key: str | None) -> Store:
        if not key:
            raise MerchantAuthRequired()
        row = self.db.connection().execute(
            "SELECT * FROM stores WHERE merchant_key_hash = ?", (hash_secret(key),)
        ).fetchone()
        if row is None or not same(row["merchant_key_hash"], hash_secret(key)):
            raise MerchantAuthRequired("The merchant key is not recognised.")
        return Store.from_row(row)

    def authenticate_partner(self, client_id: str | None, client_secret: str | None) -> Partner:
        if not client_id or client_secret is None:
            raise PartnerAuthRequired()
        partner = self.partner_by_client_id(client_id)
        if partner is None or not same(partner.client_secret, client_secret):
            raise PartnerAuthRequired("The client credentials are not recognised.")
        return partner

    def credential_digest(self, kind: str, tenant_id: str) -> str | None:
        """A digest of a merchant's key or a partner's secret as stored now, so a console
        session signed in with an older credential (before a reset) ends; None if gone."""
        if kind == "merchant":
            sql = "SELECT merchant_key_hash FROM stores WHERE id = ?"
        else:
            sql = "SELECT client_secret FROM partners WHERE id = ?"
        row = self.db.connection().execute(sql, (tenant_id,)).fetchone()
        return None if row is None else hash_secret("console:" + str(row[0]))[:32]
