"""RFC 7662 introspection: `active` is required; an unknown, expired or revoked token, or one
of another client, is `{"active": false}` with no reason (§2.2)."""

from __future__ import annotations

from typing import Any

from mockserver.models import Partner
from mockserver.oauth import repository
from mockserver.oauth.families import Where
from mockserver.oauth.models import AccessStatus, Verdict, judge_refresh
from mockserver.oauth.settings import OAuthSettings

INACTIVE: dict[str, Any] = {"active": False}


def introspect(where: Where, client: Partner, token: str, settings: OAuthSettings
               ) -> dict[str, Any]:
    conn = where.conn
    access = repository.access_by_plaintext(conn, token)
    refresh = None if access else repository.refresh_by_plaintext(conn, token)
    found = access or refresh
    if found is None:
        return INACTIVE
    family = repository.family(conn, found.family_id)
    if family is None or family.partner_id != client.id or family.revoked_at is not None:
        return INACTIVE
    if not repository.authorization(conn, family.authorization_id).active:
        return INACTIVE
    common = {"client_id": client.client_id, "sub": family.store_id,
              "store_id": family.store_id, "family_id": family.id}
    if access is not None:
        if access.status(where.now) is not AccessStatus.ACTIVE:
            return INACTIVE
        body: dict[str, Any] = {"active": True, "scope": access.scope, "token_type": "Bearer",
                                **common, "iat": int(access.issued_at)}
        if access.expires_at is not None:
            body["exp"] = int(access.expires_at)
        return body
    assert refresh is not None
    if refresh.revoked_at is not None or refresh.expired(where.now):
        return INACTIVE
    current = repository.refresh_token(conn, family.current_refresh_id)
    verdict = judge_refresh(refresh, current, settings.policy, settings.grace_cap, where.now)
    if verdict not in (Verdict.ACCEPT, Verdict.ACCEPT_IN_GRACE):
        return INACTIVE
    return {"active": True, "scope": family.scope, "token_type": "refresh_token", **common,
            "iat": int(refresh.issued_at), "exp": int(refresh.expires_at)}
