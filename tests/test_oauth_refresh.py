"""Refresh-token rotation over time (seed 004) and each retired-token policy."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.oauth_support import (
    advance,
    approve,
    bearer,
    events,
    exchange_code,
    expiring_tokens,
    freeze,
    refresh,
    settings,
    token_request,
)

DAY = 86_400


def test_access_token_expires_after_an_hour_with_rfc6750_challenge(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    tokens = expiring_tokens(client, world)
    advance(client, 3600)  # the expiry second itself still works
    assert client.get("/api/v1/orders", headers=bearer(tokens["access_token"])).status_code == 200
    advance(client, 1)
    response = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401
    assert response.get_json()["error"] == "token_expired"
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="store-api", error="invalid_token", '
        'error_description="The access token expired"')
    rejected = events(client, "oauth.access.rejected")[-1]
    assert rejected["detail"]["reason"] == "token_expired"


def test_refresh_rotates_and_the_old_access_token_stops_working(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    response = refresh(client, world, tokens["refresh_token"])
    new = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["scope"] == tokens["scope"] and new["expires_in"] == 3600
    assert client.get("/api/v1/orders", headers=bearer(new["access_token"])).status_code == 200
    old = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert old.status_code == 401 and old.get_json()["error"] == "token_revoked"
    succeeded = events(client, "oauth.refresh.succeeded")[-1]["detail"]
    assert succeeded["generation_used"] == 1 and succeeded["new_generation"] == 2
    assert succeeded["retired"] is False


def test_hourly_refreshes_keep_working_for_a_year(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    tokens = expiring_tokens(client, world)
    for _ in range(12):  # every 30 days, each refresh token lives 90 days from its issue
        advance(client, 30 * DAY)
        response = refresh(client, world, tokens["refresh_token"])
        assert response.status_code == 200
        tokens = response.get_json()
    assert client.get("/api/v1/orders", headers=bearer(tokens["access_token"])).status_code == 200


def test_refresh_token_fails_one_second_after_90_days(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    tokens = expiring_tokens(client, world)
    advance(client, 90 * DAY + 1)
    response = refresh(client, world, tokens["refresh_token"])
    body = response.get_json()
    assert response.status_code == 400 and body["error"] == "invalid_grant"
    assert body["reason"] == "refresh_token_expired" and "/oauth/authorize" in body[
        "error_description"]
    assert events(client, "oauth.refresh.rejected")[-1]["detail"]["reason"] == \
        "refresh_token_expired"


def test_refresh_token_works_on_its_last_second(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    tokens = expiring_tokens(client, world)
    advance(client, 90 * DAY)
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200


def test_grace_previous_token_works_until_the_replacement_is_first_used(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    first = refresh(client, world, tokens["refresh_token"]).get_json()
    # the response was lost: the client retries with the previous token, and again
    retry = refresh(client, world, tokens["refresh_token"])
    assert retry.status_code == 200
    assert events(client, "oauth.refresh.succeeded")[-1]["detail"]["retired"] is True
    latest = refresh(client, world, tokens["refresh_token"]).get_json()
    # the replacement handed out earlier was superseded by the retry
    assert refresh(client, world, first["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert refresh(client, world, latest["refresh_token"]).status_code == 200
    # the replacement was used: the previous token is retired now
    late = refresh(client, world, tokens["refresh_token"])
    assert late.get_json()["error"] == "invalid_grant"
    assert late.get_json()["reason"] == "refresh_token_retired"


def test_grace_is_capped_at_30_days_after_first_use(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    tokens = expiring_tokens(client, world)
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200
    advance(client, 30 * DAY)
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200
    tokens_after = expiring_tokens(client, world)  # a fresh family, used once
    assert refresh(client, world, tokens_after["refresh_token"]).status_code == 200
    advance(client, 30 * DAY + 1)
    response = refresh(client, world, tokens_after["refresh_token"])
    assert response.get_json()["reason"] == "refresh_token_retired"


def test_grace_never_extends_past_the_90_day_lifetime(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    tokens = expiring_tokens(client, world)
    advance(client, 80 * DAY)
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200
    advance(client, 10 * DAY + 1)  # inside the 30-day grace, past the 90 days
    response = refresh(client, world, tokens["refresh_token"])
    assert response.get_json()["reason"] == "refresh_token_expired"


def test_strict_policy_allows_a_single_use(client: FlaskClient, world: dict[str, Any]) -> None:
    settings(client, refresh_policy="strict")
    tokens = expiring_tokens(client, world)
    new = refresh(client, world, tokens["refresh_token"])
    assert new.status_code == 200
    again = refresh(client, world, tokens["refresh_token"])
    assert again.status_code == 400 and again.get_json()["reason"] == "refresh_token_retired"
    # the family itself is unharmed
    assert refresh(client, world, new.get_json()["refresh_token"]).status_code == 200


def test_reuse_detection_revokes_the_whole_family(
        client: FlaskClient, world: dict[str, Any]) -> None:
    settings(client, refresh_policy="reuse-detection")
    tokens = expiring_tokens(client, world)
    new = refresh(client, world, tokens["refresh_token"]).get_json()
    reuse = refresh(client, world, tokens["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["reason"] == "reuse_detected"
    assert refresh(client, world, new["refresh_token"]).get_json()["error"] == "invalid_grant"
    revoked = client.get("/api/v1/orders", headers=bearer(new["access_token"]))
    assert revoked.status_code == 401 and revoked.get_json()["error"] == "token_revoked"
    assert len(events(client, "oauth.reuse.detected")) == 1
    family = events(client, "oauth.family.revoked")[-1]["detail"]
    assert family["reason"] == "reuse_detected"


def test_per_app_policy_overrides_the_server_policy(
        client: FlaskClient, world: dict[str, Any]) -> None:
    settings(client, refresh_policy="reuse-detection")
    response = client.put(f"/_mock/partners/{world['partner']['id']}/settings",
                          json={"refresh_policy": "strict", "access_token_ttl": 5})
    assert response.status_code == 200
    assert response.get_json()["settings"]["refresh_policy"] == "strict"
    tokens = expiring_tokens(client, world)
    assert tokens["expires_in"] == 5
    refresh(client, world, tokens["refresh_token"])
    again = refresh(client, world, tokens["refresh_token"])
    assert again.get_json()["reason"] == "refresh_token_retired"  # strict, not reuse


def test_five_second_tokens_for_a_test(client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    settings(client, access_token_ttl=5, refresh_token_ttl=20)
    tokens = expiring_tokens(client, world)
    assert tokens["expires_in"] == 5 and tokens["refresh_token_expires_in"] == 20
    advance(client, 6)
    assert client.get("/api/v1/orders",
                      headers=bearer(tokens["access_token"])).status_code == 401
    advance(client, 15)
    assert refresh(client, world, tokens["refresh_token"]).get_json()["reason"] == \
        "refresh_token_expired"


def test_refresh_may_narrow_the_scope(client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = exchange_code(client, world, approve(client, world))
    narrowed = token_request(client, world, grant_type="refresh_token",
                             refresh_token=tokens["refresh_token"], scope="read_orders")
    assert narrowed.get_json()["scope"] == "read_orders"
    access = narrowed.get_json()["access_token"]
    assert client.get("/api/v1/products", headers=bearer(access)).status_code == 403


def test_refresh_token_of_another_client_is_invalid_grant(
        client: FlaskClient, world: dict[str, Any]) -> None:
    other = client.post("/_mock/partners", json={"name": "Other"}).get_json()["partner"]
    tokens = expiring_tokens(client, world)
    response = client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": other["client_id"], "client_secret": other["client_secret"]})
    assert response.get_json()["error"] == "invalid_grant"
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200
