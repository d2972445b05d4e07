"""Token exchange (RFC 8693 with the platform's token types) and client credentials."""

from __future__ import annotations

from typing import Any

import jwt
from flask.testing import FlaskClient

from mockserver.oauth.models import TYPE_ID_TOKEN, TYPE_OFFLINE, TYPE_ONLINE
from tests.oauth_support import STORE, advance, bearer, events, freeze, token_request

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def session_token(client: FlaskClient, world: dict[str, Any], **extra: str) -> str:
    response = client.post("/_mock/oauth/session-token", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], **extra})
    assert response.status_code == 200
    value: str = response.get_json()["session_token"]
    return value


def exchange(client: FlaskClient, world: dict[str, Any], subject: str,
             subject_type: str = TYPE_ID_TOKEN, **params: str) -> Any:
    return token_request(client, world, grant_type=EXCHANGE, subject_token=subject,
                         subject_token_type=subject_type, **params)


def test_session_token_is_an_hs256_jwt_signed_with_the_app_secret(
        client: FlaskClient, world: dict[str, Any]) -> None:
    token = session_token(client, world, user_id="42")
    claims = jwt.decode(token, world["partner"]["client_secret"], algorithms=["HS256"],
                        audience=world["partner"]["client_id"])
    assert claims["dest"] == f"https://{STORE}" and claims["sub"] == "42"


def test_session_token_exchanges_for_an_expiring_offline_token(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = exchange(client, world, session_token(client, world),
                        requested_token_type=TYPE_OFFLINE, expiring="1")
    body = response.get_json()
    assert response.status_code == 200
    assert body["issued_token_type"] == TYPE_OFFLINE and body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and body["refresh_token"].startswith("ort_")
    assert client.get("/api/v1/orders", headers=bearer(body["access_token"])).status_code == 200


def test_session_token_exchanges_for_a_non_expiring_token_by_default(
        client: FlaskClient, world: dict[str, Any]) -> None:
    body = exchange(client, world, session_token(client, world)).get_json()
    assert "expires_in" not in body and "refresh_token" not in body


def test_online_token_names_the_user(client: FlaskClient, world: dict[str, Any]) -> None:
    body = exchange(client, world, session_token(client, world, user_id="7"),
                    requested_token_type=TYPE_ONLINE).get_json()
    assert body["associated_user"] == {"id": "7"} and "refresh_token" not in body
    assert body["issued_token_type"] == TYPE_ONLINE


def test_session_token_signed_with_another_secret_is_invalid_subject_token(
        client: FlaskClient, world: dict[str, Any]) -> None:
    forged = jwt.encode({"aud": world["partner"]["client_id"], "dest": f"https://{STORE}",
                         "exp": 2**40, "nbf": 0, "sub": "1"},
                        "not-the-app-secret-but-long-enough-for-hs256", algorithm="HS256")
    response = exchange(client, world, forged)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_subject_token"
    assert events(client, "oauth.token.issued") == []


def test_garbage_and_expired_session_tokens_are_invalid_subject_token(
        client: FlaskClient, world: dict[str, Any]) -> None:
    assert exchange(client, world, "not-a-jwt").get_json()["error"] == "invalid_subject_token"
    freeze(client)
    token = session_token(client, world)
    advance(client, 61)
    assert exchange(client, world, token).get_json()["error"] == "invalid_subject_token"


def test_unknown_subject_token_type_is_invalid_request(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = exchange(client, world, session_token(client, world),
                        subject_type="urn:example:nope")
    assert response.get_json()["error"] == "invalid_request"


def test_migration_of_a_non_expiring_token_is_one_time_and_irreversible(
        client: FlaskClient, world: dict[str, Any]) -> None:
    old = client.post("/_mock/oauth/tokens", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], "expiring": False,
    }).get_json()["access_token"]
    migrated = exchange(client, world, old, subject_type=TYPE_OFFLINE,
                        requested_token_type=TYPE_OFFLINE, expiring="1")
    body = migrated.get_json()
    assert migrated.status_code == 200 and body["expires_in"] == 3600 and body["refresh_token"]
    assert client.get("/api/v1/orders", headers=bearer(old)).status_code == 401
    again = exchange(client, world, old, subject_type=TYPE_OFFLINE, expiring="1")
    assert again.get_json()["error"] == "invalid_subject_token"
    # no way back to non-expiring tokens for this store
    back = exchange(client, world, session_token(client, world), expiring="0")
    assert back.get_json()["error"] == "invalid_request"
    assert events(client, "oauth.family.revoked")[-1]["detail"]["reason"] == "migrated"


def test_migration_needs_expiring_1(client: FlaskClient, world: dict[str, Any]) -> None:
    old = client.post("/_mock/oauth/tokens", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], "expiring": False,
    }).get_json()["access_token"]
    response = exchange(client, world, old, subject_type=TYPE_OFFLINE)
    assert response.get_json()["error"] == "invalid_request"
    assert client.get("/api/v1/orders", headers=bearer(old)).status_code == 200


def test_an_expiring_token_cannot_be_migrated(
        client: FlaskClient, world: dict[str, Any]) -> None:
    expiring = client.post("/_mock/oauth/tokens", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"],
    }).get_json()["access_token"]
    response = exchange(client, world, expiring, subject_type=TYPE_OFFLINE, expiring="1")
    assert response.get_json()["error"] == "invalid_subject_token"


def test_client_credentials_gives_a_24_hour_token_without_refresh(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    client.post("/_mock/oauth/tokens", json={"store_id": STORE,
                                             "client_id": world["partner"]["client_id"]})
    response = token_request(client, world, grant_type="client_credentials", store_id=STORE)
    body = response.get_json()
    assert response.status_code == 200 and body["expires_in"] == 86_400
    assert "refresh_token" not in body
    advance(client, 86_401)
    assert client.get("/api/v1/orders", headers=bearer(body["access_token"])).status_code == 401


def test_client_credentials_needs_an_authorized_store(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world, grant_type="client_credentials", store_id=STORE)
    assert response.status_code == 400
    assert response.get_json()["error"] == "unauthorized_client"
    missing = token_request(client, world, grant_type="client_credentials")
    assert missing.get_json()["error"] == "invalid_request"
