"""Revoke, then re-authorize (seed 003): by the merchant or the platform, every call and every
refresh fails with `authorization_revoked` until the app goes through /oauth/authorize again."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from tests.oauth_support import (
    STORE,
    bearer,
    events,
    exchange_code,
    expiring_tokens,
    refresh,
    token_request,
)


def merchant(key: str) -> dict[str, str]:
    return {"X-Merchant-Key": key}


def test_merchant_revocation_then_reauthorization_through_the_consent_page(
        client: FlaskClient, world: dict[str, Any], merchant_key: str) -> None:
    client_id = world["partner"]["client_id"]
    tokens = expiring_tokens(client, world)
    listed = client.get("/merchant/v1/authorizations", headers=merchant(merchant_key))
    assert [a["client_id"] for a in listed.get_json()["authorizations"]] == [client_id]

    revoked = client.delete(f"/merchant/v1/authorizations/{client_id}",
                            headers=merchant(merchant_key))
    assert revoked.status_code == 200
    assert revoked.get_json()["authorization"]["revoked_by"] == "merchant"

    # the integrator's Test button: the token must be re-created
    test = client.get("/api/v1/token", headers=bearer(tokens["access_token"]))
    assert test.status_code == 401
    body = test.get_json()
    assert body["error"] == "authorization_revoked" and body["revoked_by"] == "merchant"
    assert "re-created" in body["message"] and "/oauth/authorize" in body["message"]
    assert 'error="invalid_token"' in test.headers["WWW-Authenticate"]
    orders = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert orders.get_json()["error"] == "authorization_revoked"
    refreshed = refresh(client, world, tokens["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert refreshed.get_json()["reason"] == "authorization_revoked"
    assert refreshed.get_json()["revoked_by"] == "merchant"

    # the merchant authorizes the app again in the browser
    page = client.get("/oauth/authorize", query_string={
        "response_type": "code", "client_id": client_id, "scope": tokens["scope"],
        "state": "again", "store_id": STORE})
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                           page.get_data(as_text=True)))
    approved = client.post("/oauth/authorize", data={
        **form, "store_id": STORE, "merchant_key": merchant_key, "decision": "approve"})
    code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
    fresh = exchange_code(client, world, code)

    test = client.get("/api/v1/token", headers=bearer(fresh["access_token"]))
    assert test.status_code == 200
    assert test.get_json()["valid"] is True and test.get_json()["message"] == \
        "This token is working."
    # the old tokens stay dead
    assert client.get("/api/v1/token",
                      headers=bearer(tokens["access_token"])).status_code == 401
    history = client.get("/merchant/v1/authorizations", headers=merchant(merchant_key))
    assert [a["status"] for a in history.get_json()["authorizations"]] == ["revoked", "active"]


def test_platform_revocation_names_the_platform(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    response = client.post("/_mock/oauth/revoke-authorization", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], "by": "platform"})
    assert response.status_code == 200
    call = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert call.get_json()["revoked_by"] == "platform"
    revoked = events(client, "oauth.authorization.revoked")[-1]
    assert revoked["detail"]["by"] == "platform"
    assert events(client, "oauth.access.rejected")[-1]["detail"]["reason"] == \
        "authorization_revoked"


def test_revocation_also_stops_non_expiring_tokens(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.post("/_mock/oauth/tokens", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], "expiring": False})
    perpetual = response.get_json()["access_token"]
    client.post("/_mock/oauth/revoke-authorization", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], "by": "merchant"})
    assert client.get("/api/v1/store", headers=bearer(perpetual)).status_code == 401


def test_revoking_an_app_without_an_authorization_is_404(
        client: FlaskClient, merchant_key: str) -> None:
    response = client.delete("/merchant/v1/authorizations/demo-client",
                             headers=merchant(merchant_key))
    assert response.status_code == 404


def test_code_issued_before_revocation_cannot_be_exchanged(
        client: FlaskClient, world: dict[str, Any]) -> None:
    code = client.post("/_mock/oauth/approve", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"],
        "scope": "read_orders"}).get_json()["code"]
    client.post("/_mock/oauth/revoke-authorization", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], "by": "merchant"})
    response = token_request(client, world, code=code, expiring="1")
    assert response.get_json()["error"] == "invalid_grant"


def test_scopes_are_enforced_with_insufficient_scope(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world, scope="read_products")
    assert client.get("/api/v1/products", headers=bearer(tokens["access_token"])
                      ).status_code == 200
    denied = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert denied.status_code == 403 and denied.get_json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
    write = client.put("/api/v1/products/1/inventory", json={"quantity": 1},
                       headers=bearer(tokens["access_token"]))
    assert write.status_code == 403
    assert client.get("/api/v1/store", headers=bearer(tokens["access_token"])
                      ).status_code == 200
    reasons = [e["detail"]["reason"] for e in events(client, "oauth.access.rejected")]
    assert reasons == ["insufficient_scope", "insufficient_scope"]


def test_token_description_for_an_oauth_token(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world, scope="read_orders")
    body = client.get("/api/v1/token", headers=bearer(tokens["access_token"])).get_json()
    assert body["token_type"] == "oauth_access_token"
    assert body["scopes"] == ["read_orders"] and body["family_id"].startswith("fam_")
    assert body["expires_at"].endswith("Z") and body["expiring"] is True


def test_unknown_oauth_token_is_token_unknown(client: FlaskClient) -> None:
    response = client.get("/api/v1/orders", headers=bearer("oat_nope"))
    assert response.status_code == 401 and response.get_json()["error"] == "token_unknown"
    assert events(client, "oauth.access.rejected")[-1]["detail"]["reason"] == "token_unknown"


def test_starter_store_cannot_authorize_apps(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.post("/_mock/oauth/approve", json={
        "store_id": "starter-store", "client_id": world["partner"]["client_id"],
        "scope": "read_orders"})
    assert response.status_code == 403 and response.get_json()["error"] == "plan_not_supported"
