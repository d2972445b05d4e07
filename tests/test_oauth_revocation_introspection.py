"""RFC 7009 revocation and RFC 7662 introspection, both client-authenticated."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.oauth_support import (
    advance,
    basic,
    bearer,
    creds,
    expiring_tokens,
    freeze,
    refresh,
    token_request,
)


def test_revoking_the_access_token_leaves_the_refresh_token_usable(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    response = token_request(client, world, path="/oauth/revoke", token=tokens["access_token"],
                             token_type_hint="access_token")
    assert response.status_code == 200
    assert client.get("/api/v1/orders", headers=bearer(tokens["access_token"])
                      ).status_code == 401
    assert refresh(client, world, tokens["refresh_token"]).status_code == 200


def test_revoking_the_refresh_token_revokes_the_family(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world)
    response = client.post("/oauth/revoke", data={"token": tokens["refresh_token"]},
                           headers=basic(*creds(world)))
    assert response.status_code == 200
    assert client.get("/api/v1/orders", headers=bearer(tokens["access_token"])
                      ).status_code == 401
    assert refresh(client, world, tokens["refresh_token"]).get_json()["error"] == \
        "invalid_grant"


def test_revoking_an_unknown_token_is_200(client: FlaskClient, world: dict[str, Any]) -> None:
    assert token_request(client, world, path="/oauth/revoke", token="oat_nope"
                         ).status_code == 200


def test_unknown_token_type_hint_is_unsupported_token_type(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world, path="/oauth/revoke", token="x",
                             token_type_hint="id_token")
    assert response.get_json()["error"] == "unsupported_token_type"


def test_revocation_needs_client_authentication(client: FlaskClient) -> None:
    response = client.post("/oauth/revoke", data={"token": "x"})
    assert response.status_code == 401


def test_introspection_of_an_active_access_token(
        client: FlaskClient, world: dict[str, Any]) -> None:
    tokens = expiring_tokens(client, world, scope="read_orders")
    body = token_request(client, world, path="/oauth/introspect",
                         token=tokens["access_token"]).get_json()
    assert body["active"] is True and body["scope"] == "read_orders"
    assert body["client_id"] == world["partner"]["client_id"]
    assert body["exp"] - body["iat"] == 3600


def test_introspection_says_only_inactive_for_expired_unknown_or_foreign_tokens(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    tokens = expiring_tokens(client, world)
    other = client.post("/_mock/partners", json={"name": "Other"}).get_json()["partner"]
    foreign = client.post("/oauth/introspect", data={"token": tokens["access_token"]},
                          headers=basic(other["client_id"], other["client_secret"]))
    assert foreign.get_json() == {"active": False}
    assert token_request(client, world, path="/oauth/introspect", token="oat_nope"
                         ).get_json() == {"active": False}
    advance(client, 3601)
    expired = token_request(client, world, path="/oauth/introspect",
                            token=tokens["access_token"])
    assert expired.get_json() == {"active": False}
    live_refresh = token_request(client, world, path="/oauth/introspect",
                                 token=tokens["refresh_token"])
    assert live_refresh.get_json()["active"] is True
