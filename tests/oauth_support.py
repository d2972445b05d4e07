"""Helpers shared by the OAuth tests: consent through the control API, token requests, and
the clock."""

from __future__ import annotations

import base64
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

STORE = "demo-store"
ALL_SCOPES = "read_orders read_products write_inventory"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def creds(world: dict[str, Any]) -> tuple[str, str]:
    return world["partner"]["client_id"], world["partner"]["client_secret"]


def approve(client: FlaskClient, world: dict[str, Any], scope: str = ALL_SCOPES,
            **extra: str) -> str:
    response = client.post("/_mock/oauth/approve", json={
        "store_id": STORE, "client_id": world["partner"]["client_id"], "scope": scope, **extra})
    assert response.status_code == 200, response.get_json()
    code: str = response.get_json()["code"]
    return code


def token_request(client: FlaskClient, world: dict[str, Any], path: str = "/oauth/token",
                  **params: str) -> TestResponse:
    client_id, secret = creds(world)
    return client.post(path, data={"client_id": client_id, "client_secret": secret, **params})


def exchange_code(client: FlaskClient, world: dict[str, Any], code: str,
                  expiring: str = "1", **params: str) -> dict[str, Any]:
    response = token_request(client, world, code=code, expiring=expiring, **params)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def expiring_tokens(client: FlaskClient, world: dict[str, Any],
                    scope: str = ALL_SCOPES) -> dict[str, Any]:
    return exchange_code(client, world, approve(client, world, scope))


def refresh(client: FlaskClient, world: dict[str, Any], refresh_token: str) -> TestResponse:
    return token_request(client, world, grant_type="refresh_token", refresh_token=refresh_token)


def settings(client: FlaskClient, **values: Any) -> None:
    response = client.put("/_mock/settings", json=values)
    assert response.status_code == 200, response.get_json()


def freeze(client: FlaskClient) -> None:
    assert client.post("/_mock/clock/freeze").status_code == 200


def advance(client: FlaskClient, seconds: float) -> None:
    assert client.post("/_mock/clock/advance", json={"seconds": seconds}).status_code == 200


def events(client: FlaskClient, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get("/_mock/events", query_string={"kind": kind}
                                              ).get_json()["events"]
    return found
