"""End to end over real HTTP with a real OAuth client library (authlib's OAuth2Session):
authorization code with PKCE → calls → expiry → refresh."""

from __future__ import annotations

import re
import secrets
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.conftest import LiveServer
from tests.oauth_support import STORE


def consent_in_browser(url: str, merchant_key: str) -> str:
    """What the merchant's browser does: open the consent page, approve, follow nothing."""
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    action = url.split("/oauth/authorize")[0] + "/oauth/authorize"
    approved = browser.post(action, data={**form, "store_id": STORE,
                                          "merchant_key": merchant_key, "decision": "approve"},
                            allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    location: str = approved.headers["Location"]
    return location


def session_for(live_server: LiveServer, world: dict[str, Any],
                saved: list[dict[str, Any]]) -> OAuth2Session:
    def update_token(token: dict[str, Any], refresh_token: str | None = None,
                     access_token: str | None = None) -> None:
        saved.append(dict(token))

    return OAuth2Session(
        world["partner"]["client_id"], world["partner"]["client_secret"],
        scope="read_orders read_products", redirect_uri=world["partner"]["redirect_uri"],
        code_challenge_method="S256", token_endpoint=live_server.url + "/oauth/token",
        update_token=update_token)


def authorize(live_server: LiveServer, session: OAuth2Session, merchant_key: str) -> None:
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(live_server.url + "/oauth/authorize",
                                                  code_verifier=verifier, store_id=STORE)
    callback = consent_in_browser(url, merchant_key)
    assert f"state={state}" in callback
    token = session.fetch_token(live_server.url + "/oauth/token",
                                authorization_response=callback, code_verifier=verifier,
                                expiring="1")
    assert token["expires_in"] > 0 and token["refresh_token"].startswith("ort_")


def test_authlib_authorization_code_calls_expiry_and_refresh(
        live_server: LiveServer, world: dict[str, Any], merchant_key: str) -> None:
    saved: list[dict[str, Any]] = []
    session = session_for(live_server, world, saved)
    authorize(live_server, session, merchant_key)
    assert session.get(live_server.url + "/api/v1/orders", timeout=10).status_code == 200

    # the server's hour passes; the client's clock does not know it
    requests.post(live_server.url + "/_mock/clock/advance", json={"seconds": 3601}, timeout=10)
    expired = session.get(live_server.url + "/api/v1/orders", timeout=10)
    assert expired.status_code == 401
    assert 'error_description="The access token expired"' in expired.headers["WWW-Authenticate"]

    # the client reacts to the 401 by refreshing
    old_refresh = session.token["refresh_token"]
    session.refresh_token(live_server.url + "/oauth/token")
    assert session.token["refresh_token"] != old_refresh
    assert saved and saved[-1]["access_token"] == session.token["access_token"]
    assert session.get(live_server.url + "/api/v1/orders", timeout=10).status_code == 200
    described = session.get(live_server.url + "/api/v1/token", timeout=10).json()
    assert described["token_type"] == "oauth_access_token" and described["generation"] == 2

    events = requests.get(live_server.url + "/_mock/events",
                          params={"kind": "oauth.refresh.succeeded"}, timeout=10).json()
    assert len(events["events"]) == 1


def test_authlib_refreshes_by_itself_before_expiry(
        live_server: LiveServer, world: dict[str, Any], merchant_key: str) -> None:
    """authlib refreshes 60 s before expiry: with 30-second tokens it refreshes on every call,
    which the event log shows."""
    requests.put(live_server.url + "/_mock/settings", json={"access_token_ttl": 30}, timeout=10)
    saved: list[dict[str, Any]] = []
    session = session_for(live_server, world, saved)
    authorize(live_server, session, merchant_key)
    for _ in range(3):
        assert session.get(live_server.url + "/api/v1/products", timeout=10).status_code == 200
    assert len(saved) == 3
    events = requests.get(live_server.url + "/_mock/events",
                          params={"kind": "oauth.refresh.succeeded"}, timeout=10).json()
    assert [e["detail"]["generation_used"] for e in events["events"]] == [1, 2, 3]
