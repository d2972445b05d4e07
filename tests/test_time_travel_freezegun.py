"""The server follows the process clock when nobody set it, so freezegun moves it too: a year
passes in a second, in-process and over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask.testing import FlaskClient
from freezegun import freeze_time

from tests.oauth_support import bearer

ISSUED = datetime(2030, 3, 1, 12, 0, 0, tzinfo=UTC)


def issue_token(client: FlaskClient, merchant_key: str) -> str:
    client.delete("/merchant/v1/partners/demo-partner", headers={"X-Merchant-Key": merchant_key})
    added = client.post("/merchant/v1/partners", json={"partner_id": "demo-partner"},
                        headers={"X-Merchant-Key": merchant_key})
    assert added.get_json()["token"]["issued_at"] == "2030-03-01T12:00:00Z"
    token: str = added.get_json()["token_value"]
    return token


def test_a_year_under_freezegun_in_process(client: FlaskClient, merchant_key: str) -> None:
    with freeze_time(ISSUED) as frozen:
        token = issue_token(client, merchant_key)
        frozen.move_to(ISSUED + timedelta(days=364))
        assert client.get("/api/v1/orders", headers=bearer(token)).status_code == 200
        frozen.move_to(ISSUED + timedelta(days=365))
        assert client.get("/api/v1/orders", headers=bearer(token)).status_code == 200
        frozen.move_to(ISSUED + timedelta(days=365, seconds=1))
        response = client.get("/api/v1/orders", headers=bearer(token))
        assert response.status_code == 401
        assert response.get_json()["error"] == "token_expired"
        assert client.get("/_mock/clock").get_json()["now"] == "2031-03-01T12:00:01Z"


def test_renewal_cutover_under_freezegun_over_real_http(
    live_server: Any, client: FlaskClient, merchant_key: str, partner_auth: tuple[str, str]
) -> None:
    with freeze_time(ISSUED) as frozen:
        token = issue_token(client, merchant_key)
        tokens = client.get("/merchant/v1/tokens?status=active",
                            headers={"X-Merchant-Key": merchant_key}).get_json()["tokens"]
        token_id = tokens[0]["id"]
        frozen.move_to(ISSUED + timedelta(days=335))
        renewed = requests.post(f"{live_server.url}/partner/v1/tokens/{token_id}/renew",
                                auth=partner_auth, timeout=10).json()
        successor = renewed["token_value"]
        for token_value in (token, successor):
            assert requests.get(f"{live_server.url}/api/v1/orders", headers=bearer(token_value),
                                timeout=10).status_code == 200
        frozen.move_to(ISSUED + timedelta(days=365, seconds=1))
        old = requests.get(f"{live_server.url}/api/v1/orders", headers=bearer(token), timeout=10)
        new = requests.get(f"{live_server.url}/api/v1/orders", headers=bearer(successor),
                           timeout=10)
        assert (old.status_code, new.status_code) == (401, 200)


def test_control_api_clock_overrides_freezegun_until_reset(client: FlaskClient) -> None:
    with freeze_time(ISSUED):
        client.post("/_mock/clock/set", json={"now": "2040-01-01T00:00:00Z"})
        assert client.get("/_mock/clock").get_json()["now"] == "2040-01-01T00:00:00Z"
        client.post("/_mock/clock/reset")
        assert client.get("/_mock/clock").get_json()["now"] == "2030-03-01T12:00:00Z"
