"""RFC 6749 §4.1.3 authorization code grant, in the standard shape
(`grant_type=authorization_code`) and the platform's (`code` + `expiring`, no `grant_type`).

Seed 004: `expiring=1` gives an access token with a refresh token; `expiring=0` or absent gives
a non-expiring offline token. RFC 6749 §4.1.2: a code used twice revokes the tokens issued
from it. RFC 7636: PKCE S256.
"""

from __future__ import annotations

from typing import NoReturn

from mockserver.errors import InvalidGrant, OAuthInvalidRequest
from mockserver.oauth import families, repository
from mockserver.oauth.grants.base import GrantContext, Refused
from mockserver.oauth.models import AuthorizationCode, Issued, Kind, pkce_matches, scope_tuple


def grant(ctx: GrantContext) -> Issued:
    where, client = ctx.where, ctx.client
    conn = where.conn
    plaintext = ctx.require("code")
    expiring = ctx.flag("expiring")
    code = repository.code_by_plaintext(conn, plaintext)
    if code is None:
        _refuse(ctx, None, "unknown", "The authorization code is not recognised.")
    if code.partner_id != client.id:
        _refuse(ctx, None, "client_mismatch", "The authorization code is not recognised.")
    if code.used_at is not None:
        rows = conn.execute("SELECT id FROM oauth_families WHERE code_id = ? AND revoked_at "
                            "IS NULL", (code.id,)).fetchall()
        for row in rows:
            family = repository.family(conn, row[0])
            assert family is not None
            families.revoke_family(where, family, "code_reuse", actor="system")
        _refuse(ctx, code, "code_reused", "The authorization code was already used; the tokens "
                "issued from it are revoked.")
    if code.expired(where.now):
        _refuse(ctx, code, "code_expired", "The authorization code expired.")
    redirect_uri = ctx.params.get("redirect_uri")
    if (code.redirect_uri_given and redirect_uri is None) or (
            redirect_uri is not None and redirect_uri != code.redirect_uri):
        _refuse(ctx, code, "redirect_uri_mismatch", "'redirect_uri' must be the one sent to "
                "/oauth/authorize.")
    verifier = ctx.params.get("code_verifier")
    if code.code_challenge is not None:
        if verifier is None:
            _refuse(ctx, code, "pkce_failed", "The 'code_verifier' parameter is required (PKCE).")
        elif not pkce_matches(code.code_challenge, verifier):
            _refuse(ctx, code, "pkce_failed", "The 'code_verifier' does not match the "
                    "code_challenge.")
    elif verifier is not None:
        _refuse(ctx, code, "pkce_failed", "No code_challenge was sent to /oauth/authorize, so "
                "no 'code_verifier' is expected.")
    authorization = repository.authorization(conn, code.authorization_id)
    if not authorization.active:
        _refuse(ctx, code, "authorization_revoked", "The authorization was revoked by the "
                f"{authorization.revoked_by}; send the merchant through /oauth/authorize again.")
    if not expiring and repository.migrated(conn, code.store_id, client.id):
        raise OAuthInvalidRequest("This store's tokens were migrated to expiring tokens; "
                                  "send expiring=1.", parameter="expiring")
    conn.execute("UPDATE oauth_codes SET used_at = ? WHERE id = ?", (where.stamp, code.id))
    return families.issue(
        where, ctx.settings, store_id=code.store_id, partner_id=client.id,
        authorization_id=code.authorization_id, scope=scope_tuple(code.scope), kind=Kind.OFFLINE,
        origin="authorization_code", grant_type="authorization_code", expiring=expiring,
        code_id=code.id)


def _refuse(ctx: GrantContext, code: AuthorizationCode | None, reason: str,
            message: str) -> NoReturn:
    ctx.where.record("oauth.code.rejected", store_id=code.store_id if code else None,
                     partner_id=ctx.client.id, token_id=code.id if code else None,
                     actor="partner", reason=reason)
    raise Refused(InvalidGrant(message))
