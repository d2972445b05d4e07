"""RFC 6749 §6 refresh with rotation (seed 004): every use hands out a new refresh token; the
retired one is handled by the policy in force (`grace`, `strict`, `reuse-detection`)."""

from __future__ import annotations

from typing import NoReturn

from mockserver.errors import InvalidGrant, InvalidScope, OAuthError
from mockserver.oauth import families, repository
from mockserver.oauth.grants.base import GrantContext, Refused
from mockserver.oauth.models import (
    Family,
    Issued,
    RefreshToken,
    Verdict,
    judge_refresh,
    parse_scope,
    scope_tuple,
)


def grant(ctx: GrantContext) -> Issued:
    where, client = ctx.where, ctx.client
    conn = where.conn
    token = repository.refresh_by_plaintext(conn, ctx.require("refresh_token"))
    if token is None:
        _refuse(ctx, None, None, "unknown", InvalidGrant("The refresh token is not recognised."))
    family = repository.family(conn, token.family_id)
    assert family is not None
    if family.partner_id != client.id:
        _refuse(ctx, None, None, "client_mismatch",
                InvalidGrant("The refresh token is not recognised."))
    authorization = repository.authorization(conn, family.authorization_id)
    if not authorization.active:
        _refuse(ctx, token, family, "authorization_revoked", InvalidGrant(
            f"The authorization was revoked by the {authorization.revoked_by}; the token must "
            "be re-created by sending the merchant through /oauth/authorize again.",
            reason="authorization_revoked", revoked_by=authorization.revoked_by))
    if family.revoked_at is not None or token.revoked_at is not None:
        _refuse(ctx, token, family, "refresh_token_revoked", InvalidGrant(
            f"The refresh token was revoked ({family.revoked_reason or 'revoked'}); "
            "authorize again.", reason="refresh_token_revoked"))
    if token.expired(where.now):
        _refuse(ctx, token, family, "refresh_token_expired", InvalidGrant(
            "The refresh token expired; send the merchant through /oauth/authorize again.",
            reason="refresh_token_expired"))
    granted = scope_tuple(family.scope)
    scope = granted
    if ctx.params.get("scope") is not None:
        scope = parse_scope(ctx.params["scope"], default=granted)
        if not set(scope) <= set(granted):
            raise InvalidScope("A refresh cannot widen the granted scope (RFC 6749 §6).")
    settings = ctx.settings
    current = repository.refresh_token(conn, family.current_refresh_id)
    verdict = judge_refresh(token, current, settings.policy, settings.grace_cap, where.now)
    if verdict is Verdict.RETIRED:
        _refuse(ctx, token, family, "refresh_token_retired", InvalidGrant(
            "The refresh token was already used and replaced; use the newest one.",
            reason="refresh_token_retired"))
    if verdict is Verdict.REUSE:
        where.record("oauth.reuse.detected", store_id=family.store_id, partner_id=client.id,
                     token_id=token.id, actor="partner", family_id=family.id,
                     generation_used=token.generation)
        families.revoke_family(where, family, "reuse_detected", actor="system")
        _refuse(ctx, token, family, "reuse_detected", InvalidGrant(
            "A retired refresh token was presented again; the whole token family is revoked "
            "(RFC 9700 §4.14.2). Authorize again.", reason="reuse_detected"))
    in_grace = verdict is Verdict.ACCEPT_IN_GRACE
    issued = families.rotate(where, settings, family, token, current, scope,
                             in_grace=in_grace)
    where.record("oauth.refresh.succeeded", store_id=family.store_id, partner_id=client.id,
                 token_id=token.id, actor="partner", family_id=family.id,
                 generation_used=token.generation, new_generation=issued.generation,
                 access_token_id=issued.access_token_id,
                 refresh_token_id=issued.refresh_token_id, retired=in_grace)
    return issued


def _refuse(ctx: GrantContext, token: RefreshToken | None, family: Family | None, reason: str,
            error: OAuthError) -> NoReturn:
    ctx.where.record("oauth.refresh.rejected", store_id=family.store_id if family else None,
                     partner_id=ctx.client.id, token_id=token.id if token else None,
                     actor="partner", family_id=family.id if family else None, reason=reason,
                     generation_used=token.generation if token else None)
    raise Refused(error)
