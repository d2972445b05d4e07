"""The mock's domain services wired to one database: what the web layer talks to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.clock import Clock
from mockserver.db import Database
from mockserver.models import Store
from mockserver.oauth.service import OAuth
from mockserver.partner_access import PartnerAccess
from mockserver.tenants import Tenants


@dataclass
class Caller:
    """Who is calling the store API, as established by one of the token authenticators."""

    store: Store
    partner_id: str
    token_type: str
    token_id: str
    #: None grants every scope (partner tokens carry no scopes).
    scopes: frozenset[str] | None = None
    #: Headers added to the response (e.g. the expiry of a renewed token).
    headers: Mapping[str, str] = field(default_factory=dict)
    #: What `GET /api/v1/token` reports; built only when asked for (off the hot path).
    describe: Callable[[], dict[str, Any]] = dict
    #: Called once the scope check is done: with None when the call is let through, or with
    #: the missing scope when it is refused (OAuth tokens log both).
    audit: Callable[[str | None], None] | None = None


#: An authenticator recognises its own tokens (by prefix) and returns the caller, raises a
#: `BearerChallenge`, or returns None for tokens that are not its kind.
Authenticator = Callable[["Services", str, str, str], Caller | None]


class Services:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.tenants = Tenants(db, self.clock)
        self.partner_access = PartnerAccess(db, self.tenants, self.clock)
        self.oauth = OAuth(db, self.tenants, self.clock)
        #: Token kinds the store API accepts, tried in order.
        self.authenticators: list[Authenticator] = []

    def clock(self, sandbox: str = "default") -> Clock:
        return Clock(self.db, sandbox)
