"""RFC 8693 token exchange with the platform's token types (seed 004):

- a session token (HS256 JWT signed with the app secret) → an offline token, expiring or not,
  or an online (per-user) token;
- a non-expiring offline token → an expiring one: the one-time, irreversible migration.
"""

from __future__ import annotations

from mockserver.errors import InvalidSubjectToken, NotFound, OAuthInvalidRequest
from mockserver.oauth import families, repository, session_tokens
from mockserver.oauth.grants.base import GrantContext
from mockserver.oauth.models import (
    GRANT_TOKEN_EXCHANGE,
    KNOWN_SCOPES,
    TYPE_ID_TOKEN,
    TYPE_OFFLINE,
    TYPE_ONLINE,
    AccessStatus,
    Issued,
    Kind,
    parse_scope,
    scope_text,
    scope_tuple,
)


def grant(ctx: GrantContext) -> Issued:
    subject = ctx.require("subject_token")
    subject_type = ctx.require("subject_token_type")
    requested = ctx.params.get("requested_token_type", TYPE_OFFLINE)
    if requested not in (TYPE_OFFLINE, TYPE_ONLINE):
        raise OAuthInvalidRequest(f"'requested_token_type' must be {TYPE_OFFLINE} or "
                                  f"{TYPE_ONLINE}.", parameter="requested_token_type")
    expiring = ctx.flag("expiring")
    if subject_type == TYPE_ID_TOKEN:
        return _from_session_token(ctx, subject, requested, expiring)
    if subject_type == TYPE_OFFLINE:
        return _migrate(ctx, subject, requested, expiring)
    raise OAuthInvalidRequest(f"'subject_token_type' must be {TYPE_ID_TOKEN} (a session token) "
                              f"or {TYPE_OFFLINE} (migration).", parameter="subject_token_type")


def _from_session_token(ctx: GrantContext, subject: str, requested: str,
                        expiring: bool) -> Issued:
    where, client = ctx.where, ctx.client
    conn = where.conn
    claims = session_tokens.decode(subject, client.client_secret, client.client_id, where.now)
    try:
        store = ctx.tenants.store(session_tokens.store_of(claims), conn)
    except NotFound:
        raise InvalidSubjectToken("The session token names an unknown store (dest).") from None
    current = repository.active_authorization(conn, store.id, client.id)
    default = scope_tuple(current.scope) if current else KNOWN_SCOPES
    scope = parse_scope(ctx.params.get("scope"), default=default)
    # Opening the app in the store admin installs it: the session token is the consent.
    authorization, new = repository.grant_authorization(conn, store.id, client.id,
                                                        scope_text(scope), where.now)
    if new:
        where.record("oauth.authorization.granted", store_id=store.id, partner_id=client.id,
                     actor="merchant", authorization_id=authorization.id,
                     scope=authorization.scope, via="token_exchange")
    if requested == TYPE_ONLINE:
        user = str(claims.get("sub") or "")
        return families.issue(
            where, ctx.settings, store_id=store.id, partner_id=client.id,
            authorization_id=authorization.id, scope=scope, kind=Kind.ONLINE,
            origin="token_exchange", grant_type=GRANT_TOKEN_EXCHANGE, expiring=True,
            associated_user=user,
            extra={"issued_token_type": TYPE_ONLINE, "associated_user": {"id": user},
                   "associated_user_scope": scope_text(scope)})
    if not expiring and repository.migrated(conn, store.id, client.id):
        raise OAuthInvalidRequest("This store's tokens were migrated to expiring tokens; "
                                  "send expiring=1.", parameter="expiring")
    return families.issue(
        where, ctx.settings, store_id=store.id, partner_id=client.id,
        authorization_id=authorization.id, scope=scope, kind=Kind.OFFLINE,
        origin="token_exchange", grant_type=GRANT_TOKEN_EXCHANGE, expiring=expiring,
        extra={"issued_token_type": TYPE_OFFLINE})


def _migrate(ctx: GrantContext, subject: str, requested: str, expiring: bool) -> Issued:
    """Seed 004: exchange the old non-expiring token with `expiring=1`; one-time and
    irreversible per store: every non-expiring offline token of the app there is revoked."""
    where, client = ctx.where, ctx.client
    conn = where.conn
    if not expiring or requested != TYPE_OFFLINE:
        raise OAuthInvalidRequest("Migration exchanges a non-expiring offline token for an "
                                  "expiring one: send expiring=1.", parameter="expiring")
    token = repository.access_by_plaintext(conn, subject)
    family = repository.family(conn, token.family_id) if token else None
    if token is None or family is None or family.partner_id != client.id:
        raise InvalidSubjectToken("The subject token is not an offline token of this app.")
    if family.kind != Kind.OFFLINE or family.expiring:
        raise InvalidSubjectToken("Only a non-expiring offline token can be migrated.")
    authorization = repository.authorization(conn, family.authorization_id)
    if not authorization.active:
        raise InvalidSubjectToken(
            f"The authorization was revoked by the {authorization.revoked_by}; send the "
            "merchant through /oauth/authorize again.", reason="authorization_revoked",
            revoked_by=authorization.revoked_by)
    if token.status(where.now) is not AccessStatus.ACTIVE:
        reason = family.revoked_reason or token.revoked_reason or "revoked"
        raise InvalidSubjectToken(f"The subject token is no longer valid ({reason}).")
    for old in repository.live_families(conn, family.store_id, client.id):
        if old.kind == Kind.OFFLINE and not old.expiring:
            families.revoke_family(where, old, "migrated", actor="partner")
    return families.issue(
        where, ctx.settings, store_id=family.store_id, partner_id=client.id,
        authorization_id=family.authorization_id, scope=scope_tuple(family.scope),
        kind=Kind.OFFLINE, origin="migration", grant_type=GRANT_TOKEN_EXCHANGE, expiring=True,
        extra={"issued_token_type": TYPE_OFFLINE})
