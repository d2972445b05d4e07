"""The OAuth side of the mock as the web layer sees it: one method per operation, each one
write transaction that happens whole or not at all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockserver import events
from mockserver.clock import Clock
from mockserver.credentials import hash_secret, same
from mockserver.db import CLOCK_COLUMNS, CLOCK_JOIN, Database, joined_clock
from mockserver.errors import (
    AuthorizationRevoked,
    BearerChallenge,
    InvalidClient,
    NotFound,
    OAuthInvalidRequest,
    PlanNotSupported,
    TokenExpired,
    TokenRevoked,
    TokenUnknown,
    UnsupportedGrantType,
    ValidationFailed,
)
from mockserver.models import Partner, Store
from mockserver.oauth import (
    consent,
    families,
    faults,
    introspection,
    repository,
    revocation,
    session_tokens,
    settings,
)
from mockserver.oauth.families import Where
from mockserver.oauth.grants import (
    authorization_code,
    client_credentials,
    refresh_token,
    token_exchange,
)
from mockserver.oauth.grants.base import GrantContext, Refused
from mockserver.oauth.models import (
    GRANT_TOKEN_EXCHANGE,
    KNOWN_SCOPES,
    AccessStatus,
    AccessToken,
    Authorization,
    Family,
    Issued,
    Kind,
    parse_scope,
    scope_text,
    scope_tuple,
)
from mockserver.tenants import Tenants
from mockserver.wire import iso

Grant = Callable[[GrantContext], Issued]


def _columns(alias: str, cls: type, prefix: str) -> str:
    return ", ".join(f"{alias}.{name} AS {prefix}{name}"
                     for name in cls.__dataclass_fields__)  # type: ignore[attr-defined]


#: The store API's gate in one query: the access token, its family, authorization, store, the
#: app's client_id and the store's sandbox clock.
ACCESS_QUERY = (
    f"SELECT a.token_hash AS a_token_hash, {_columns('a', AccessToken, 'a_')}, "
    f"{_columns('f', Family, 'f_')}, {_columns('z', Authorization, 'z_')}, "
    f"{_columns('s', Store, 's_')}, p.client_id AS p_client_id, "
    f"{CLOCK_COLUMNS} "
    "FROM oauth_access_tokens a JOIN oauth_families f ON f.id = a.family_id "
    "JOIN oauth_authorizations z ON z.id = f.authorization_id "
    "JOIN stores s ON s.id = f.store_id JOIN partners p ON p.id = f.partner_id "
    f"{CLOCK_JOIN} WHERE a.token_hash = ?"
)

GRANTS: dict[str, Grant] = {
    "authorization_code": authorization_code.grant,
    "refresh_token": refresh_token.grant,
    GRANT_TOKEN_EXCHANGE: token_exchange.grant,
    "client_credentials": client_credentials.grant,
}


@dataclass(frozen=True)
class ClientCredentials:
    """RFC 6749 §2.3.1: HTTP Basic or body parameters, never both."""

    client_id: str | None
    client_secret: str | None
    basic: bool


@dataclass(frozen=True)
class AccessUse:
    """An OAuth access token accepted by the store API gate."""

    token: AccessToken
    family: Family
    store: Store
    authorization: Authorization
    client_id: str
    now: datetime


class OAuth:
    def __init__(self, db: Database, tenants: Tenants,
                 clock_for: Callable[[str], Clock]) -> None:
        self.db = db
        self.tenants = tenants
        self.clock_for = clock_for

    def _where(self, conn: Any, sandbox: str = "default") -> Where:
        return Where(conn, self.clock_for(sandbox).now(), sandbox)

    # --- the token endpoint -----------------------------------------------------------

    def endpoint_fault(self) -> None:
        """Fires a scripted token-endpoint error, if one is pending (a cheap read first, so
        the endpoint takes no write lock when nothing is scripted)."""
        if not faults.any_pending(self.db.connection(), faults.FaultKind.TOKEN_ENDPOINT_ERROR):
            return
        with self.db.write() as conn:
            fault = faults.take(conn, faults.FaultKind.TOKEN_ENDPOINT_ERROR,
                                self.clock_for("default").now())
        if fault is not None:
            raise fault.error()

    def authenticate_client(self, creds: ClientCredentials) -> Partner:
        if not creds.client_id or creds.client_secret is None:
            raise InvalidClient("Authenticate the client with HTTP Basic or with client_id and "
                                "client_secret in the body.", basic=creds.basic)
        partner = self.tenants.partner_by_client_id(creds.client_id)
        if partner is None or not same(partner.client_secret, creds.client_secret):
            raise InvalidClient("The client credentials are not recognised.", basic=creds.basic)
        return partner

    def token(self, params: Mapping[str, str], client: Partner) -> tuple[Issued, bool]:
        """Runs the grant; returns what it issued and whether a scripted fault wants the
        response dropped (the refresh is committed all the same)."""
        grant_type = params.get("grant_type")
        if grant_type is None:
            if "code" not in params:
                raise OAuthInvalidRequest("The 'grant_type' parameter is required.",
                                          parameter="grant_type")
            grant_type = "authorization_code"  # the platform's shape
        handler = GRANTS.get(grant_type)
        if handler is None:
            raise UnsupportedGrantType(f"Grant type '{grant_type}' is not supported; use one "
                                       f"of: {', '.join(GRANTS)}.")
        refused: Refused | None = None
        drop = False
        with self.db.write() as conn:
            where = self._where(conn, client.sandbox)
            ctx = GrantContext(where, client, params, settings.effective(conn, client.id),
                               self.tenants)
            try:
                issued = handler(ctx)
            except Refused as exc:
                refused = exc
            else:
                if grant_type == "refresh_token":
                    family = repository.family(conn, issued.family_id)
                    drop = faults.take(conn, faults.FaultKind.DROP_REFRESH_RESPONSE, where.now,
                                       store_id=family.store_id if family else None,
                                       partner_id=client.id) is not None
        if refused is not None:
            raise refused.error
        return issued, drop

    def revoke(self, client: Partner, token: str, hint: str | None) -> None:
        with self.db.write() as conn:
            revocation.revoke(self._where(conn, client.sandbox), client, token, hint)

    def introspect(self, client: Partner, token: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return introspection.introspect(self._where(conn, client.sandbox), client, token,
                                            settings.effective(conn, client.id))

    # --- consent ----------------------------------------------------------------------

    def parse_authorize(self, params: Mapping[str, str]) -> consent.AuthorizeRequest:
        return consent.parse_request(params, self.tenants)

    def approve(self, request: consent.AuthorizeRequest, store: Store, *,
                actor: str) -> tuple[str, str]:
        with self.db.write() as conn:
            where = self._where(conn, store.sandbox)
            return consent.approve(where, settings.effective(conn, request.client.id), request,
                                   store, actor=actor)

    # --- the store API gate -----------------------------------------------------------

    def authenticate_access(self, plaintext: str, method: str, path: str) -> AccessUse:
        """RFC 6750 §3.1 semantics; a revoked authorization says that re-authorization is
        needed (seed 003). One query brings the token, its family, authorization, store, app
        and clock; every rejection is logged."""
        digest = hash_secret(plaintext)
        row = self.db.connection().execute(ACCESS_QUERY, (digest,)).fetchone()
        if row is None or not same(row["a_token_hash"], digest):
            self._rejected("default", self.clock_for("default").now(), None, None,
                           "token_unknown", method, path)
            raise TokenUnknown()
        token = AccessToken.from_row(row, "a_")
        family = Family.from_row(row, "f_")
        authorization = Authorization.from_row(row, "z_")
        store = Store.from_row(row, "s_")
        client_id: str = row["p_client_id"]
        now = Clock.at(joined_clock(row))
        error: BearerChallenge | None = None
        reason = ""
        detail: dict[str, Any] = {}
        if not authorization.active:
            reason = "authorization_revoked"
            error = AuthorizationRevoked(
                f"The {authorization.revoked_by} revoked this app's authorization for store "
                f"'{store.id}'. The token must be re-created: send the merchant through "
                "/oauth/authorize again.", revoked_by=authorization.revoked_by,
                store_id=store.id, client_id=client_id,
                reauthorize_url=f"/oauth/authorize?response_type=code&client_id="
                                f"{client_id}&store_id={store.id}")
        else:
            status = token.status(now)
            if status is AccessStatus.REVOKED:
                reason = "token_revoked"
                detail["revoked_reason"] = token.revoked_reason
                error = TokenRevoked("The access token was revoked", token_id=token.id)
            elif status is AccessStatus.INVALIDATED:
                reason = "token_revoked"
                detail["invalidated"] = True
                error = TokenRevoked("The access token was revoked", token_id=token.id)
            elif status is AccessStatus.EXPIRED:
                reason = "token_expired"
                error = TokenExpired("The access token expired", token_id=token.id)
        if error is None and not store.plan.has_api:
            raise PlanNotSupported()
        if error is not None:
            self._rejected(store.sandbox, now, token, family, reason, method, path, **detail)
            raise error
        return AccessUse(token, family, store, authorization, client_id, now)

    def record_access(self, use: AccessUse, method: str, path: str,
                      denied_scope: str | None) -> None:
        if denied_scope is not None:
            self._rejected(use.store.sandbox, use.now, use.token, use.family,
                           "insufficient_scope", method, path, scope=denied_scope)
            return
        self.db.record_event(events.row(
            "oauth.access.used", sandbox=use.store.sandbox, at=use.now, store_id=use.store.id,
            partner_id=use.family.partner_id, token_id=use.token.id, actor="partner",
            family_id=use.family.id, method=method, path=path))

    def _rejected(self, sandbox: str, now: datetime, token: AccessToken | None,
                  family: Family | None, reason: str, method: str, path: str,
                  **detail: Any) -> None:
        self.db.record_event(events.row(
            "oauth.access.rejected", sandbox=sandbox, at=now,
            store_id=family.store_id if family else None,
            partner_id=family.partner_id if family else None,
            token_id=token.id if token else None, actor="partner", reason=reason,
            method=method, path=path, family_id=family.id if family else None, **detail))

    # --- authorizations (merchant and control) ------------------------------------------

    def authorizations(self, store: Store) -> list[dict[str, Any]]:
        conn = self.db.connection()
        out = []
        for a in repository.authorizations(conn, store.id):
            partner = self.tenants.partner(a.partner_id, conn)
            out.append(authorization_to_wire(a, partner))
        return out

    def revoke_authorization(self, store: Store, client_id: str, by: str) -> dict[str, Any]:
        """Seed 003: from now on every call and every refresh of the app on this store fails
        with `authorization_revoked` until the merchant authorizes it again. An unknown app
        gets the same answer as one not authorized here, so a merchant learns nothing of apps
        authorized elsewhere."""
        not_here = NotFound(f"App '{client_id}' has no active authorization on store "
                            f"'{store.id}'.")
        try:
            partner = consent.client_by_id(self.tenants, client_id)
        except NotFound:
            raise not_here from None
        with self.db.write() as conn:
            where = self._where(conn, store.sandbox)
            current = repository.active_authorization(conn, store.id, partner.id)
            if current is None:
                raise not_here
            conn.execute("UPDATE oauth_authorizations SET revoked_at = ?, revoked_by = ? "
                         "WHERE id = ?", (where.stamp, by, current.id))
            where.record("oauth.authorization.revoked", store_id=store.id,
                         partner_id=partner.id, actor=by, by=by, authorization_id=current.id)
            for family in repository.live_families(conn, store.id, partner.id):
                families.revoke_family(where, family, "authorization_revoked", actor=by)
            return authorization_to_wire(repository.authorization(conn, current.id), partner)

    # --- control API helpers ----------------------------------------------------------

    def mint(self, store: Store, client_id: str, scope: str | None,
             expiring: bool) -> Issued:
        """Tokens without the code flow, for tests: consents on the merchant's behalf."""
        partner = consent.client_by_id(self.tenants, client_id)
        if not store.plan.has_api:
            raise PlanNotSupported("Apps cannot be authorized on a store on the Starter plan.")
        with self.db.write() as conn:
            where = self._where(conn, store.sandbox)
            current = repository.active_authorization(conn, store.id, partner.id)
            default = scope_tuple(current.scope) if current else KNOWN_SCOPES
            scopes = parse_scope(scope, default=default)
            if not expiring and repository.migrated(conn, store.id, partner.id):
                raise ValidationFailed("This store's tokens were migrated to expiring tokens.",
                                       field="expiring")
            authorization, new = repository.grant_authorization(conn, store.id, partner.id,
                                                                scope_text(scopes), where.now)
            if new:
                where.record("oauth.authorization.granted", store_id=store.id,
                             partner_id=partner.id, actor="control",
                             authorization_id=authorization.id, scope=authorization.scope,
                             via="control")
            return families.issue(
                where, settings.effective(conn, partner.id), store_id=store.id,
                partner_id=partner.id, authorization_id=authorization.id, scope=scopes,
                kind=Kind.OFFLINE, origin="control", grant_type="control", expiring=expiring,
                actor="control")

    def session_token(self, store: Store, client_id: str,
                      user_id: str | None) -> dict[str, Any]:
        partner = consent.client_by_id(self.tenants, client_id)
        now = self.clock_for(store.sandbox).now()
        token = session_tokens.mint(store.id, partner.client_id, partner.client_secret, now,
                                    user_id)
        expires_at = int(now.timestamp()) + session_tokens.SESSION_TOKEN_TTL
        return {"session_token": token, "expires_at": iso(expires_at),
                "expires_in": session_tokens.SESSION_TOKEN_TTL}

    def invalidate(self, access_token: str | None, family_id: str | None) -> list[str]:
        """Ends access tokens early on the server side; the client is not told."""
        with self.db.write() as conn:
            if access_token is not None:
                token = repository.access_by_plaintext(conn, access_token)
                if token is None:
                    raise NotFound("No such access token.", field="access_token")
                family = repository.family(conn, token.family_id)
                ids = [token.id]
            else:
                assert family_id is not None
                family = repository.family(conn, family_id)
                if family is None:
                    raise NotFound(f"No token family '{family_id}'.", field="family_id")
                ids = [r[0] for r in conn.execute(
                    "SELECT id FROM oauth_access_tokens WHERE family_id = ? AND revoked_at IS "
                    "NULL AND invalidated_at IS NULL", (family.id,))]
            assert family is not None
            store = self.tenants.store(family.store_id, conn)
            where = self._where(conn, store.sandbox)
            for token_id in ids:
                conn.execute("UPDATE oauth_access_tokens SET invalidated_at = ? WHERE id = ? "
                             "AND invalidated_at IS NULL", (where.stamp, token_id))
                where.record("oauth.token.invalidated", store_id=family.store_id,
                             partner_id=family.partner_id, token_id=token_id, actor="control",
                             family_id=family.id)
        return ids

    def settings_view(self, partner_id: str | None = None) -> dict[str, Any]:
        conn = self.db.connection()
        server = settings.server_overrides(conn)
        if partner_id is None:
            return {"settings": settings.merge(server).to_wire(), "overrides": server,
                    "defaults": settings.DEFAULTS.to_wire()}
        self.tenants.partner(partner_id, conn)
        app = settings.partner_overrides(conn, partner_id)
        return {"partner_id": partner_id, "settings": settings.merge(server, app).to_wire(),
                "overrides": app, "server": settings.merge(server).to_wire()}

    def put_settings(self, raw: Any, partner_id: str | None = None) -> dict[str, Any]:
        """PUT replaces the overrides: keys left out fall back to the next layer."""
        overrides = settings.validate_overrides(raw)
        with self.db.write() as conn:
            if partner_id is None:
                settings.save_server_overrides(conn, overrides)
            else:
                self.tenants.partner(partner_id, conn)
                settings.save_partner_overrides(conn, partner_id, overrides)
            events.record(conn, "oauth.settings.changed", sandbox="default",
                          at=self.clock_for("default").now(), partner_id=partner_id,
                          actor="control", overrides=overrides)
        return self.settings_view(partner_id)


def authorization_to_wire(a: Authorization, partner: Partner) -> dict[str, Any]:
    return {"id": a.id, "store_id": a.store_id, "partner_id": a.partner_id,
            "client_id": partner.client_id, "app_name": partner.name,
            "scopes": list(scope_tuple(a.scope)), "status": "active" if a.active else "revoked",
            "granted_at": iso(a.granted_at), "updated_at": iso(a.updated_at),
            "revoked_at": iso(a.revoked_at), "revoked_by": a.revoked_by}


