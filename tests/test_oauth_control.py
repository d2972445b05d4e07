"""The OAuth control API: settings, scripted faults, early invalidation, clock skew."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.conftest import LiveServer
from tests.oauth_support import (
    STORE,
    bearer,
    creds,
    events,
    expiring_tokens,
    refresh,
    token_request,
)


def test_settings_default_and_override(client: FlaskClient) -> None:
    body = client.get("/_mock/settings").get_json()
    assert body["settings"] == {
        "access_token_ttl": 3600, "refresh_token_ttl": 90 * 86_400,
        "authorization_code_ttl": 600, "grace_cap": 30 * 86_400,
        "client_credentials_ttl": 86_400, "refresh_policy": "grace"}
    put = client.put("/_mock/settings", json={"access_token_ttl": 60, "refresh_policy": "strict"})
    assert put.get_json()["settings"]["access_token_ttl"] == 60
    assert put.get_json()["overrides"] == {"access_token_ttl": 60, "refresh_policy": "strict"}
    # PUT replaces: the omitted key falls back to the default
    again = client.put("/_mock/settings", json={"refresh_policy": "grace"})
    assert again.get_json()["settings"]["access_token_ttl"] == 3600


@pytest.mark.parametrize("bad", [
    {"access_token_ttl": 0}, {"access_token_ttl": -5}, {"access_token_ttl": "60"},
    {"access_token_ttl": True}, {"access_token_ttl": 1.5}, {"refresh_policy": "lenient"},
    {"unknown_key": 1}, {"grace_cap": 10**12},
])
def test_settings_are_validated_strictly(client: FlaskClient, bad: dict[str, Any]) -> None:
    response = client.put("/_mock/settings", json=bad)
    assert response.status_code == 400
    assert client.get("/_mock/settings").get_json()["overrides"] == {}


def test_partner_settings_of_an_unknown_partner_are_404(client: FlaskClient) -> None:
    assert client.get("/_mock/partners/nobody/settings").status_code == 404
    assert client.put("/_mock/partners/nobody/settings", json={}).status_code == 404


def test_token_endpoint_error_fault_fires_count_times_with_retry_after(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    injected = client.post("/_mock/faults", json={"kind": "token_endpoint_error", "status": 503,
                                                  "count": 2, "retry_after": 7})
    assert injected.status_code == 201
    assert [f["remaining"] for f in client.get("/_mock/faults").get_json()["faults"]] == [2]
    for _ in range(2):
        response = refresh(client, world, tokens["refresh_token"])
        assert response.status_code == 503 and response.headers["Retry-After"] == "7"
        assert response.get_json()["error"] == "temporarily_unavailable"
    assert client.get("/_mock/faults").get_json()["faults"] == []
    # nothing was consumed by the failed attempts: the refresh token still works
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200
    fired = events(client, "fault.fired")
    assert [(e["detail"]["kind"], e["detail"]["status"]) for e in fired] == [
        ("token_endpoint_error", 503)] * 2
    assert events(client, "fault.injected")[0]["detail"]["kind"] == "token_endpoint_error"


def test_429_and_500_faults(client: FlaskClient, world: dict[str, Any]) -> None:
    client.post("/_mock/faults", json={"kind": "token_endpoint_error", "status": 429})
    client.post("/_mock/faults", json={"kind": "token_endpoint_error", "status": 500})
    first = token_request(client, world, grant_type="client_credentials", store_id=STORE)
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    second = token_request(client, world, grant_type="client_credentials", store_id=STORE)
    assert second.status_code == 500 and second.get_json()["error"] == "server_error"


@pytest.mark.parametrize("bad", [
    {"kind": "token_endpoint_error"}, {"kind": "token_endpoint_error", "status": 404},
    {"kind": "token_endpoint_error", "status": 500, "retry_after": 3},
    {"kind": "drop_refresh_response", "status": 503}, {"kind": "explode"},
    {"kind": "drop_refresh_response", "count": 0},
])
def test_fault_requests_are_validated(client: FlaskClient, bad: dict[str, Any]) -> None:
    assert client.post("/_mock/faults", json=bad).status_code == 400
    assert client.get("/_mock/faults").get_json()["faults"] == []


def test_faults_can_be_cleared(client: FlaskClient) -> None:
    client.post("/_mock/faults", json={"kind": "drop_refresh_response", "count": 3})
    assert client.delete("/_mock/faults").get_json() == {"cleared": 1}
    assert client.get("/_mock/faults").get_json()["faults"] == []


def test_dropped_refresh_response_closes_the_connection_but_commits_the_refresh(
        live_server: LiveServer, world: dict[str, Any], client: FlaskClient) -> None:
    tokens = expiring_tokens(client, world)
    client.post("/_mock/faults", json={"kind": "drop_refresh_response"})
    client_id, secret = creds(world)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.post(live_server.url + "/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": client_id, "client_secret": secret}, timeout=10)
    succeeded = events(client, "oauth.refresh.succeeded")
    assert len(succeeded) == 1
    assert events(client, "fault.fired")[0]["detail"]["kind"] == "drop_refresh_response"
    # under grace the client recovers by retrying with the refresh token it still has
    retry = requests.post(live_server.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": client_id, "client_secret": secret}, timeout=10)
    assert retry.status_code == 200
    assert events(client, "oauth.refresh.succeeded")[-1]["detail"]["retired"] is True


def test_invalidated_access_token_fails_early_and_refresh_still_works(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    response = client.post("/_mock/oauth/invalidate", json={"access_token": tokens["access_token"]})
    assert response.status_code == 200 and len(response.get_json()["invalidated"]) == 1
    call = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert call.status_code == 401 and call.get_json()["error"] == "token_revoked"
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200


def test_invalidate_by_family_and_unknown_targets(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    family = client.get("/api/v1/token", headers=bearer(tokens["access_token"])
                        ).get_json()["family_id"]
    assert client.post("/_mock/oauth/invalidate", json={"family_id": family}).status_code == 200
    assert client.get("/api/v1/store", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/_mock/oauth/invalidate", json={"family_id": "fam_x"}).status_code == 404
    assert client.post("/_mock/oauth/invalidate",
                       json={"access_token": "oat_x"}).status_code == 404
    assert client.post("/_mock/oauth/invalidate", json={}).status_code == 400


def test_clock_skew_follows_the_process_clock_with_an_offset(client: FlaskClient) -> None:
    client.post("/_mock/clock/freeze")
    body = client.post("/_mock/clock/skew", json={"seconds": -120}).get_json()
    assert body["frozen"] is False and body["offset_seconds"] == -120
    assert abs(body["epoch"] - (time.time() - 120)) < 5
    assert client.post("/_mock/clock/skew", json={"seconds": "x"}).status_code == 400


def test_skewed_server_clock_expires_tokens_early_for_the_client(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    client.post("/_mock/clock/skew", json={"seconds": 3700})
    response = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401 and response.get_json()["error"] == "token_expired"


def test_control_tokens_and_approve_validate_their_input(
        client: FlaskClient, world: dict[str, Any]) -> None:
    client_id = world["partner"]["client_id"]
    assert client.post("/_mock/oauth/tokens", json={"store_id": "nope", "client_id": client_id}
                       ).status_code == 404
    assert client.post("/_mock/oauth/tokens", json={"store_id": STORE, "client_id": "nope"}
                       ).status_code == 404
    bad_scope = client.post("/_mock/oauth/tokens", json={
        "store_id": STORE, "client_id": client_id, "scope": "everything"})
    assert bad_scope.status_code == 400 and bad_scope.get_json()["error"] == "invalid_scope"
    assert client.post("/_mock/oauth/approve", json={
        "store_id": STORE, "client_id": client_id, "scope": "read_orders",
        "redirect_uri": "https://evil.example"}).status_code == 400
    assert events(client, "oauth.token.issued") == []
