"""The store API's gate: which token kinds it accepts and what it tells the caller about them.

Headers on responses made with a partner token (documented in the README and openapi.yaml):
`X-Token-Status` and `X-Token-Expires-At` always; once the token has been renewed also
`X-Token-Successor-Id` and `Sunset` (RFC 8594), the instant after which the token stops working.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from mockserver.errors import PlanNotSupported
from mockserver.partner_tokens import TOKEN_PREFIX, Status
from mockserver.services import Caller, Services
from mockserver.wire import iso

MESSAGES = {
    Status.RENEWED: "This token was renewed: switch to its successor before it expires.",
}


def partner_token_authenticator(svc: Services, plaintext: str, method: str,
                                path: str) -> Caller | None:
    if not plaintext.startswith(TOKEN_PREFIX + "_"):
        return None
    auth = svc.partner_access.authenticate(plaintext, method, path)
    token, now, status = auth.token, auth.now, auth.status
    if not auth.store.plan.has_api:
        raise PlanNotSupported()
    headers = token_headers(status, token.expires_at, token.successor_id)

    def describe() -> dict[str, Any]:
        successor = None
        if token.successor_id is not None:
            succ = svc.partner_access.token(token.successor_id)
            successor = {"id": succ.id, "status": succ.status(now).value,
                         "expires_at": iso(succ.expires_at)}
        return {
            "token_type": "partner_token",
            "token_id": token.id,
            "store_id": auth.store.id,
            "partner_id": token.partner_id,
            "status": status.value,
            "valid": True,
            "issued_at": iso(token.issued_at),
            "expires_at": iso(token.expires_at),
            "expires_in": max(0, int(token.expires_at - now.timestamp())),
            "expiring": token.is_expiring(now),
            "successor": successor,
            "scopes": None,
            "message": MESSAGES.get(status, "This token is working."),
        }

    return Caller(store=auth.store, partner_id=token.partner_id, token_type="partner_token",
                  token_id=token.id, scopes=None, headers=headers, describe=describe)


@lru_cache(maxsize=4096)
def token_headers(status: Status, expires_at: float,
                  successor_id: str | None) -> Mapping[str, str]:
    """The headers of a call made with a partner token (read-only: shared between calls)."""
    headers = {"X-Token-Status": status.value, "X-Token-Expires-At": str(iso(expires_at))}
    if successor_id is not None:
        headers["X-Token-Successor-Id"] = successor_id
        headers["Sunset"] = format_datetime(datetime.fromtimestamp(expires_at + 1, UTC),
                                            usegmt=True)
    return MappingProxyType(headers)
