"""The authorization request (RFC 6749 §4.1.1, RFC 7636) and the merchant's consent, which
records the authorization and hands out a one-time code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mockserver.credentials import hash_secret, new_id, new_secret
from mockserver.errors import (
    AccessDenied,
    ConsentError,
    NotFound,
    OAuthError,
    OAuthInvalidRequest,
    PlanNotSupported,
    UnsupportedResponseType,
)
from mockserver.models import Partner, Store
from mockserver.oauth import repository
from mockserver.oauth.families import Where
from mockserver.oauth.models import CHALLENGE_RE, CODE_PREFIX, parse_scope, scope_text
from mockserver.oauth.settings import OAuthSettings
from mockserver.tenants import Tenants
from mockserver.wire import iso


@dataclass(frozen=True)
class AuthorizeRequest:
    client: Partner
    redirect_uri: str
    redirect_uri_given: bool
    scope: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    def hidden_fields(self) -> dict[str, str]:
        """What the consent form carries back on submit."""
        fields = {"response_type": "code", "client_id": self.client.client_id,
                  "scope": scope_text(self.scope)}
        if self.redirect_uri_given:
            fields["redirect_uri"] = self.redirect_uri
        for name in ("state", "code_challenge", "code_challenge_method"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields


class Redirectable(Exception):  # noqa: N818 - carries an error to send back to the client
    """RFC 6749 §4.1.2.1: once the client and redirect URI are known, errors go back to the
    client on its redirect URI."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.description)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state

    def location(self) -> str:
        return with_query(self.redirect_uri, {"error": self.error.error,
                                              "error_description": self.error.description,
                                              "state": self.state})


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_request(params: Mapping[str, str], tenants: Tenants) -> AuthorizeRequest:
    """Client and redirect URI problems raise `ConsentError` (shown, never redirected); any
    other problem raises `Redirectable`."""
    client_id = params.get("client_id")
    if not client_id:
        raise ConsentError("The 'client_id' parameter is required.")
    client = tenants.partner_by_client_id(client_id)
    if client is None:
        raise ConsentError(f"No app with client_id '{client_id}'.")
    given = params.get("redirect_uri")
    if not client.redirect_uri:
        raise ConsentError("The app has no registered redirect URI.")
    if given is not None and given != client.redirect_uri:
        raise ConsentError("The redirect_uri does not match the one registered for the app.")
    redirect_uri = client.redirect_uri
    state = params.get("state")
    try:
        if params.get("response_type") != "code":
            raise UnsupportedResponseType()
        scope = parse_scope(params.get("scope"))
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is None and method is not None:
            raise OAuthInvalidRequest("'code_challenge_method' needs a 'code_challenge'.")
        if challenge is not None:
            method = method or "plain"
            if method != "S256":
                raise OAuthInvalidRequest("Only code_challenge_method=S256 is supported.")
            if not CHALLENGE_RE.fullmatch(challenge):
                raise OAuthInvalidRequest("'code_challenge' must be the 43-character base64url "
                                          "SHA-256 of the verifier.")
    except OAuthError as error:
        raise Redirectable(error, redirect_uri, state) from None
    return AuthorizeRequest(client, redirect_uri, given is not None, scope, state, challenge,
                            method)


def client_by_id(tenants: Tenants, client_id: str) -> Partner:
    partner = tenants.partner_by_client_id(client_id)
    if partner is None:
        raise NotFound(f"No app with client_id '{client_id}'.", field="client_id")
    return partner


def approve(where: Where, settings: OAuthSettings, request: AuthorizeRequest, store: Store,
            *, actor: str) -> tuple[str, str]:
    """The merchant approves: the authorization is recorded (a new one after a revocation)
    and a one-time code is issued. Returns the code and the redirect location."""
    if not store.plan.has_api:
        raise PlanNotSupported("Apps cannot be authorized on a store on the Starter plan.")
    conn = where.conn
    partner = request.client
    authorization, new = repository.grant_authorization(
        conn, store.id, partner.id, scope_text(request.scope), where.now)
    if new:
        where.record("oauth.authorization.granted", store_id=store.id, partner_id=partner.id,
                     actor=actor, authorization_id=authorization.id, scope=authorization.scope,
                     via="consent")
    code_id = new_id("code")
    plaintext = new_secret(CODE_PREFIX)
    expires_at = where.stamp + settings.authorization_code_ttl
    conn.execute(
        "INSERT INTO oauth_codes(id, code_hash, authorization_id, store_id, partner_id, scope, "
        "redirect_uri, redirect_uri_given, code_challenge, code_challenge_method, issued_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (code_id, hash_secret(plaintext), authorization.id, store.id, partner.id,
         scope_text(request.scope), request.redirect_uri, int(request.redirect_uri_given),
         request.code_challenge, request.code_challenge_method, where.stamp, expires_at))
    where.record("oauth.code.issued", store_id=store.id, partner_id=partner.id, token_id=code_id,
                 actor=actor, authorization_id=authorization.id, scope=scope_text(request.scope),
                 pkce=request.code_challenge is not None, expires_at=iso(expires_at))
    return plaintext, with_query(request.redirect_uri, {"code": plaintext,
                                                        "state": request.state})


def deny_location(request: AuthorizeRequest) -> str:
    return Redirectable(AccessDenied(), request.redirect_uri, request.state).location()
