"""OAuth records and the rules about them. Plain Python: no Flask, no SQL.

A token is valid while `now <= expires_at` (it works at its expiry second and fails one second
after), like the partner tokens. Statuses are derived from stored facts and the current time.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from mockserver.credentials import same
from mockserver.errors import InvalidScope

ACCESS_PREFIX = "oat"
REFRESH_PREFIX = "ort"
CODE_PREFIX = "oac"

READ_ORDERS = "read_orders"
READ_PRODUCTS = "read_products"
WRITE_INVENTORY = "write_inventory"
#: Scopes a merchant can grant an app.
KNOWN_SCOPES = (READ_ORDERS, READ_PRODUCTS, WRITE_INVENTORY)

#: Platform token types of the token exchange (RFC 8693 §3 lets a platform define its own URNs).
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
TYPE_OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token"
TYPE_ONLINE = "urn:shopify:params:oauth:token-type:online-access-token"

#: Online (per-user) tokens follow the user's session; 24 hours here (unconfirmed).
ONLINE_TOKEN_TTL = 86_400

T = TypeVar("T")


class Kind(StrEnum):
    """What a token family is: an offline token (expiring with refresh, or perpetual), an
    online token (per user, no refresh) or a client-credentials token (no refresh)."""

    OFFLINE = "offline"
    ONLINE = "online"
    CLIENT_CREDENTIALS = "client_credentials"


class Policy(StrEnum):
    """What happens when a refresh token that was already used is presented again."""

    #: The 2026 platform rule: the previous token stays usable until its replacement is first
    #: used, at most `grace_cap` after its own first use and never past its lifetime.
    GRACE = "grace"
    #: Single use.
    STRICT = "strict"
    #: RFC 9700 §4.14.2: a retired token presented again revokes the whole family.
    REUSE_DETECTION = "reuse-detection"


def _fields(cls: type[T], row: sqlite3.Row, prefix: str) -> T:
    """A record from a row; `prefix` reads one joined into another query (`a_id`, …)."""
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return cls(**{name: row[prefix + name] for name in names})


def parse_scope(raw: str | None, *, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """RFC 6749 §3.3 space-delimited scopes; the platform's commas are accepted too. Unknown
    scopes are `invalid_scope`. Returned sorted and without duplicates."""
    if raw is None or not raw.strip():
        if default is None:
            raise InvalidScope("Ask for at least one scope: " + ", ".join(KNOWN_SCOPES) + ".")
        return tuple(sorted(set(default)))
    names = [part for part in re.split(r"[\s,]+", raw.strip()) if part]
    unknown = [n for n in names if n not in KNOWN_SCOPES]
    if unknown:
        raise InvalidScope(f"Unknown scope '{unknown[0]}'; known scopes: "
                           + ", ".join(KNOWN_SCOPES) + ".")
    return tuple(sorted(set(names)))


def scope_text(scopes: tuple[str, ...] | list[str]) -> str:
    return " ".join(scopes)


def scope_tuple(text: str) -> tuple[str, ...]:
    return tuple(text.split()) if text else ()


# --- PKCE (RFC 7636) --------------------------------------------------------------------

VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(challenge: str, verifier: str) -> bool:
    """RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge."""
    return VERIFIER_RE.fullmatch(verifier) is not None and same(s256(verifier), challenge)


# --- records ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Authorization:
    """A merchant's consent that an app may act on a store; revoked by marking."""

    id: str
    store_id: str
    partner_id: str
    scope: str
    granted_at: float
    updated_at: float
    revoked_at: float | None = None
    revoked_by: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, prefix: str = "") -> Authorization:
        return _fields(cls, row, prefix)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class AuthorizationCode:
    id: str
    authorization_id: str
    store_id: str
    partner_id: str
    scope: str
    redirect_uri: str
    redirect_uri_given: int
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float
    expires_at: float
    used_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, prefix: str = "") -> AuthorizationCode:
        return _fields(cls, row, prefix)

    def expired(self, now: datetime) -> bool:
        return now.timestamp() > self.expires_at


@dataclass(frozen=True)
class Family:
    """Every token issued from one grant, through all its refreshes (RFC 9700 §4.14.2)."""

    id: str
    store_id: str
    partner_id: str
    authorization_id: str
    kind: str
    origin: str
    expiring: int
    scope: str
    code_id: str | None
    created_at: float
    generation: int
    current_refresh_id: str | None
    associated_user: str | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, prefix: str = "") -> Family:
        return _fields(cls, row, prefix)


class AccessStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INVALIDATED = "invalidated"


@dataclass(frozen=True)
class AccessToken:
    id: str
    family_id: str
    generation: int
    scope: str
    issued_at: float
    expires_at: float | None
    invalidated_at: float | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, prefix: str = "") -> AccessToken:
        return _fields(cls, row, prefix)

    def status(self, now: datetime) -> AccessStatus:
        """Revoked wins over invalidated, invalidated over expired."""
        if self.revoked_at is not None:
            return AccessStatus.REVOKED
        if self.invalidated_at is not None:
            return AccessStatus.INVALIDATED
        if self.expires_at is not None and now.timestamp() > self.expires_at:
            return AccessStatus.EXPIRED
        return AccessStatus.ACTIVE


@dataclass(frozen=True)
class RefreshToken:
    id: str
    family_id: str
    generation: int
    parent_id: str | None
    issued_at: float
    expires_at: float
    first_used_at: float | None = None
    use_count: int = 0
    retired_at: float | None = None
    retired_reason: str | None = None
    revoked_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, prefix: str = "") -> RefreshToken:
        return _fields(cls, row, prefix)

    def expired(self, now: datetime) -> bool:
        return now.timestamp() > self.expires_at

    def grace_ends_at(self, grace_cap: int) -> float | None:
        """Seed 004 (2026 rule): usable after its first use until the replacement is first
        used, capped at `grace_cap` after that first use and never past its own lifetime."""
        if self.first_used_at is None:
            return None
        return min(self.first_used_at + grace_cap, self.expires_at)


class Verdict(StrEnum):
    ACCEPT = "accept"
    ACCEPT_IN_GRACE = "accept_in_grace"
    RETIRED = "retired"
    REUSE = "reuse"


def judge_refresh(presented: RefreshToken, current: RefreshToken | None, policy: Policy,
                  grace_cap: int, now: datetime) -> Verdict:
    """Whether a live (not revoked, not expired) refresh token of a live family may be used.

    The family's current token is always accepted. Any other token is a retired one: `strict`
    refuses it, `reuse-detection` reports reuse (the caller revokes the family), `grace`
    accepts the parent of the current token while that replacement is unused and the grace
    window is open."""
    if current is not None and presented.id == current.id:
        return Verdict.ACCEPT
    if policy is Policy.REUSE_DETECTION:
        return Verdict.REUSE
    if policy is Policy.GRACE and current is not None and current.parent_id == presented.id:
        ends = presented.grace_ends_at(grace_cap)
        if presented.retired_at is None and ends is not None and now.timestamp() <= ends:
            return Verdict.ACCEPT_IN_GRACE
    return Verdict.RETIRED


@dataclass(frozen=True)
class Issued:
    """What a grant hands out: the token response body (plaintexts, shown once) and the ids
    that go into the event log."""

    body: dict[str, Any]
    family_id: str
    generation: int
    access_token_id: str
    refresh_token_id: str | None
    expires_at: float | None
