"""Malformed token requests get the right RFC 6749 §5.2 error and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.oauth_support import approve, basic, creds, events, exchange_code, token_request


def assert_nothing_issued(client: FlaskClient) -> None:
    assert events(client, "oauth.token.issued") == []


def test_missing_grant_type_and_code_is_invalid_request(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_request" and "grant_type" in body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


def test_repeated_parameter_is_invalid_request_and_the_code_stays_usable(
        client: FlaskClient, world: dict[str, Any]) -> None:
    client_id, secret = creds(world)
    code = approve(client, world)
    response = client.post("/oauth/token", data=f"client_id={client_id}&client_secret={secret}"
                           f"&code={code}&code={code}",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert_nothing_issued(client)
    assert exchange_code(client, world, code)["access_token"]


def test_repeated_json_member_is_invalid_request(
        client: FlaskClient, world: dict[str, Any]) -> None:
    code = approve(client, world)
    raw = f'{{"grant_type": "authorization_code", "code": "{code}", "code": "x"}}'
    response = client.post("/oauth/token", data=raw, content_type="application/json",
                           headers=basic(*creds(world)))
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x",
                                          "application/xml"])
def test_wrong_content_type_is_invalid_request(
        client: FlaskClient, world: dict[str, Any], content_type: str) -> None:
    response = client.post("/oauth/token", data="grant_type=client_credentials",
                           content_type=content_type, headers=basic(*creds(world)))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_malformed_json_is_invalid_request(client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.post("/oauth/token", data="{nope", content_type="application/json",
                           headers=basic(*creds(world)))
    assert response.get_json()["error"] == "invalid_request"


def test_unknown_grant_type_is_unsupported_grant_type(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world, grant_type="password", username="a", password="b")
    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_grant_type"


def test_wrong_secret_in_body_is_invalid_client_401_without_challenge(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.post("/oauth/token", data={
        "client_id": world["partner"]["client_id"], "client_secret": "nope",
        "grant_type": "client_credentials", "store_id": "demo-store"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response.headers


def test_wrong_secret_over_basic_is_invalid_client_with_basic_challenge(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                 "store_id": "demo-store"},
                           headers=basic(world["partner"]["client_id"], "nope"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_no_client_authentication_is_invalid_client(client: FlaskClient) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_basic_and_body_secret_together_is_invalid_request(
        client: FlaskClient, world: dict[str, Any]) -> None:
    client_id, secret = creds(world)
    response = client.post("/oauth/token", data={
        "client_secret": secret, "grant_type": "client_credentials", "store_id": "demo-store"},
        headers=basic(client_id, secret))
    assert response.get_json()["error"] == "invalid_request"


def test_unknown_code_is_invalid_grant(client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world, code="oac_nope", expiring="1")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert_nothing_issued(client)


def test_bad_expiring_value_is_invalid_request(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world, code=approve(client, world), expiring="maybe")
    assert response.get_json()["error"] == "invalid_request"
    assert_nothing_issued(client)


def test_unknown_refresh_token_is_invalid_grant(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world, grant_type="refresh_token", refresh_token="ort_x")
    assert response.get_json()["error"] == "invalid_grant"
    assert events(client, "oauth.refresh.rejected")[-1]["detail"]["reason"] == "unknown"


def test_refresh_cannot_widen_the_scope(client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = exchange_code(client, world, approve(client, world, "read_orders"))
    response = token_request(client, world, grant_type="refresh_token",
                             refresh_token=tokens["refresh_token"],
                             scope="read_orders write_inventory")
    assert response.get_json()["error"] == "invalid_scope"
    still = token_request(client, world, grant_type="refresh_token",
                          refresh_token=tokens["refresh_token"])
    assert still.status_code == 200  # the refused request did not rotate anything

