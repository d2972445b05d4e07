"""The OAuth endpoints apps call: the consent page (`/oauth/authorize`), the token endpoint
(`/oauth/token`, also at the platform's `/admin/oauth/access_token`), revocation (RFC 7009)
and introspection (RFC 7662)."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import socket
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from flask import Blueprint, Response, jsonify, redirect, request
from werkzeug.datastructures import MultiDict

from mockserver.api.common import services
from mockserver.api.oauth_pages import ConsentPage, render_consent_page
from mockserver.credentials import same
from mockserver.errors import (
    NO_STORE,
    ApiError,
    ConsentError,
    CsrfFailed,
    InvalidClient,
    MerchantAuthRequired,
    OAuthInvalidRequest,
)
from mockserver.models import Partner
from mockserver.oauth.consent import AuthorizeRequest, Redirectable, deny_location
from mockserver.oauth.service import ClientCredentials

bp = Blueprint("oauth", __name__)

CSRF_COOKIE = "mock_oauth_csrf"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
AUTHORIZE_ENDPOINTS = ("oauth.authorize_page", "oauth.authorize_submit")


# --- request parsing --------------------------------------------------------------------

def oauth_params() -> dict[str, str]:
    """RFC 6749 §3.2: the parameters of a POST, form-encoded (or JSON, as the platform's
    libraries send), each at most once."""
    raw = request.get_data(cache=True)
    mimetype = request.mimetype
    if not raw.strip() and mimetype in ("", FORM, JSON):
        return {}
    if mimetype == FORM:
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise OAuthInvalidRequest("The form body is malformed.") from None
        return _single(pairs)
    if mimetype == JSON:
        try:
            data = json.loads(raw, object_pairs_hook=_single)
        except (ValueError, UnicodeDecodeError):
            raise OAuthInvalidRequest("The JSON body is malformed.") from None
        if not isinstance(data, dict):
            raise OAuthInvalidRequest("The JSON body must be an object.")
        return {k: _text(k, v) for k, v in data.items() if v is not None}
    raise OAuthInvalidRequest(f"Send the parameters as {FORM} or {JSON}.")


def _single(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise OAuthInvalidRequest(f"The '{key}' parameter is repeated.", parameter=key)
        out[key] = value
    return out


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise OAuthInvalidRequest(f"The '{name}' parameter must be a string.", parameter=name)


def client_credentials(params: dict[str, str]) -> ClientCredentials:
    """RFC 6749 §2.3.1: HTTP Basic (form-encoded id and secret) or body parameters."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ClientCredentials(params.get("client_id"), params.get("client_secret"), False)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("The Basic credentials are malformed.", basic=True) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("The Basic credentials are malformed.", basic=True)
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if "client_secret" in params:
        raise OAuthInvalidRequest("Use one client authentication method: HTTP Basic or "
                                  "body parameters, not both.")
    if params.get("client_id", client_id) != client_id:
        raise OAuthInvalidRequest("'client_id' differs from the HTTP Basic user.")
    return ClientCredentials(client_id, secret, True)


def token_response(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return response


def dropped_response() -> Response:
    """A scripted fault: the refresh was committed, but the client gets no response. The
    connection is shut down under the server's feet; without a socket (an in-process test
    client) the response is cut short instead."""
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    response = Response(b"{", status=200, mimetype=JSON)
    response.headers["Content-Length"] = "4096"
    response.headers["Connection"] = "close"
    return response


# --- token endpoint, revocation, introspection --------------------------------------------

@bp.post("/oauth/token")
@bp.post("/admin/oauth/access_token")
def token() -> Response:
    oauth = services().oauth
    oauth.endpoint_fault()
    params = oauth_params()
    client = oauth.authenticate_client(client_credentials(params))
    issued, drop = oauth.token(params, client)
    if drop:
        return dropped_response()
    return token_response(issued.body)


@bp.post("/oauth/revoke")
def revoke() -> Response:
    client, token_value, params = client_and_token()
    services().oauth.revoke(client, token_value, params.get("token_type_hint"))
    return token_response({})


@bp.post("/oauth/introspect")
def introspect() -> Response:
    client, token_value, _ = client_and_token()
    return token_response(services().oauth.introspect(client, token_value))


def client_and_token() -> tuple[Partner, str, dict[str, str]]:
    """RFC 7009 §2.1 / RFC 7662 §2.1: an authenticated client and the `token` it asks about."""
    params = oauth_params()
    client = services().oauth.authenticate_client(client_credentials(params))
    token_value = params.get("token")
    if not token_value:
        raise OAuthInvalidRequest("The 'token' parameter is required.", parameter="token")
    return client, token_value, params


# --- the consent page -----------------------------------------------------------------------

def _single_valued(values: MultiDict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in values:
        items = values.getlist(key)
        if len(items) > 1:
            raise ConsentError(f"The '{key}' parameter is repeated.")
        out[key] = items[0]
    return out


def _consent_page(req: AuthorizeRequest, store_id: str | None, csrf: str,
                  error: str | None = None, status: int = 200) -> Response:
    page = ConsentPage(title=f"Authorize {req.client.name}", app_name=req.client.name,
                       scopes=req.scope, store_id=store_id, hidden=req.hidden_fields(),
                       csrf_token=csrf, error=error)
    response = Response(render_consent_page(page), status=status, mimetype="text/html")
    response.headers.update(NO_STORE)
    response.headers["X-Frame-Options"] = "DENY"
    # The form posts here and is answered with a redirect to the app: browsers check
    # form-action against that redirect too, so the redirect URI's origin must be allowed.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'self'; form-action 'self' {origin(req.redirect_uri)}; "
        "frame-ancestors 'none'")
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Strict", path="/oauth")
    return response


def origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


@bp.get("/oauth/authorize")
def authorize_page() -> Response:
    """RFC 6749 §4.1.1; `store_id` pre-fills the store the merchant signs in to."""
    params = _single_valued(request.args)
    req = services().oauth.parse_authorize(params)
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return _consent_page(req, params.get("store_id"), csrf)


@bp.post("/oauth/authorize")
def authorize_submit() -> Any:
    """The consent form: CSRF-checked (double-submit cookie), then deny → `access_denied`,
    approve → the merchant key must open the store → redirect with `code` and `state`."""
    form = _single_valued(request.form)
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = form.get("csrf_token")
    if not cookie or not sent or not same(cookie, sent):
        raise CsrfFailed()
    svc = services()
    req = svc.oauth.parse_authorize(form)
    decision = form.get("decision")
    if decision == "deny":
        return redirect(deny_location(req), 302)
    if decision != "approve":
        raise ConsentError("Choose Approve or Deny.")
    store_id = form.get("store_id")
    try:
        store = svc.tenants.authenticate_merchant(form.get("merchant_key"))
    except MerchantAuthRequired:
        return _consent_page(req, store_id, cookie, "The merchant key is not recognised.", 401)
    if store_id and store_id != store.id:
        return _consent_page(req, store_id, cookie,
                             f"That merchant key does not open store '{store_id}'.", 401)
    _code, location = svc.oauth.approve(req, store, actor="merchant")
    return redirect(location, 302)


@bp.errorhandler(Redirectable)
def redirect_error(exc: Redirectable) -> Any:
    """RFC 6749 §4.1.2.1: errors after the redirect URI is known go back to the client."""
    return redirect(exc.location(), 302)


@bp.errorhandler(ApiError)
def html_error(exc: ApiError) -> Any:
    """On the consent page errors are shown to the merchant; elsewhere the usual JSON."""
    from mockserver.app import handle_error

    if request.endpoint not in AUTHORIZE_ENDPOINTS:
        return handle_error(exc)
    page = ConsentPage(title="Authorization failed", error=exc.description)
    response = Response(render_consent_page(page), status=exc.status_code, mimetype="text/html")
    response.headers.update(exc.headers())
    response.headers["Cache-Control"] = "no-store"
    return response
