"""RFC 6749 §4.4 client credentials (seed 004): an expiring access token and no refresh token;
the client simply asks again. The store is named with `store_id`, and the app must be
authorized there."""

from __future__ import annotations

from mockserver.errors import InvalidScope, NotFound, OAuthInvalidRequest, UnauthorizedClient
from mockserver.oauth import families, repository
from mockserver.oauth.grants.base import GrantContext
from mockserver.oauth.models import Issued, Kind, parse_scope, scope_tuple


def grant(ctx: GrantContext) -> Issued:
    where, client = ctx.where, ctx.client
    store_id = ctx.require("store_id")
    try:
        store = ctx.tenants.store(store_id, where.conn)
    except NotFound:
        raise OAuthInvalidRequest(f"No store '{store_id}'.", parameter="store_id") from None
    authorization = repository.active_authorization(where.conn, store.id, client.id)
    if authorization is None:
        raise UnauthorizedClient(f"The app is not authorized on store '{store.id}'; send the "
                                 "merchant through /oauth/authorize first.")
    granted = scope_tuple(authorization.scope)
    scope = parse_scope(ctx.params.get("scope"), default=granted)
    if not set(scope) <= set(granted):
        raise InvalidScope("The requested scope exceeds what the merchant granted.")
    return families.issue(
        where, ctx.settings, store_id=store.id, partner_id=client.id,
        authorization_id=authorization.id, scope=scope, kind=Kind.CLIENT_CREDENTIALS,
        origin="client_credentials", grant_type="client_credentials", expiring=True)
