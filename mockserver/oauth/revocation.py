"""RFC 7009 token revocation: `token` plus an optional `token_type_hint`; 200 even for an
unknown token. Revoking a refresh token revokes its whole family (§2.1: the access tokens of
the same grant too); revoking an access token leaves the refresh token usable."""

from __future__ import annotations

from mockserver.errors import InvalidGrant, UnsupportedTokenType
from mockserver.models import Partner
from mockserver.oauth import families, repository
from mockserver.oauth.families import Where

HINTS = ("access_token", "refresh_token")


def revoke(where: Where, client: Partner, token: str, hint: str | None) -> None:
    if hint is not None and hint not in HINTS:
        raise UnsupportedTokenType(f"token_type_hint must be one of: {', '.join(HINTS)}.")
    conn = where.conn
    access = repository.access_by_plaintext(conn, token)
    refresh = None if access else repository.refresh_by_plaintext(conn, token)
    found = access or refresh
    if found is None:
        return
    family = repository.family(conn, found.family_id)
    assert family is not None
    if family.partner_id != client.id:
        raise InvalidGrant("The token was not issued to this client.")
    if access is not None:
        if access.revoked_at is None:
            families.revoke_access(where, family, access.id, "revoked_by_client",
                                   actor="partner")
        return
    assert refresh is not None
    where.record("oauth.token.revoked", store_id=family.store_id, partner_id=family.partner_id,
                 token_id=refresh.id, actor="partner", family_id=family.id,
                 token_kind="refresh_token", reason="revoked_by_client")
    if family.revoked_at is None:
        families.revoke_family(where, family, "revoked_by_client", actor="partner")
