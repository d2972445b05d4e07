"""The store API accepts OAuth access tokens (prefix `oat_`) with RFC 6750 semantics and
scopes; `GET /api/v1/token` describes them."""

from __future__ import annotations

from typing import Any

from mockserver.oauth.models import ACCESS_PREFIX, scope_tuple
from mockserver.services import Caller, Services
from mockserver.wire import iso


def oauth_token_authenticator(svc: Services, plaintext: str, method: str,
                              path: str) -> Caller | None:
    if not plaintext.startswith(ACCESS_PREFIX + "_"):
        return None
    use = svc.oauth.authenticate_access(plaintext, method, path)
    token, family, now = use.token, use.family, use.now
    scopes = scope_tuple(token.scope)

    def describe() -> dict[str, Any]:
        expires_in = None if token.expires_at is None else max(
            0, int(token.expires_at - now.timestamp()))
        return {
            "token_type": "oauth_access_token",
            "token_id": token.id,
            "store_id": use.store.id,
            "partner_id": family.partner_id,
            "client_id": use.client_id,
            "kind": family.kind,
            "family_id": family.id,
            "generation": token.generation,
            "status": "active",
            "valid": True,
            "issued_at": iso(token.issued_at),
            "expires_at": iso(token.expires_at),
            "expires_in": expires_in,
            "expiring": token.expires_at is not None,
            "scopes": list(scopes),
            "authorization": {"id": use.authorization.id,
                              "granted_at": iso(use.authorization.granted_at)},
            "message": "This token is working.",
        }

    def audit(denied_scope: str | None) -> None:
        svc.oauth.record_access(use, method, path, denied_scope)

    return Caller(store=use.store, partner_id=family.partner_id, token_type="oauth_access_token",
                  token_id=token.id, scopes=frozenset(scopes), describe=describe, audit=audit)
