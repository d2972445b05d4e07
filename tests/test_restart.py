"""State survives a restart of the real server on its SQLite file: tokens and their statuses,
the access list, OAuth families, inventory, the virtual clock, settings, the event log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from tests.server import ServerProcess

TIMEOUT = 10


def snapshot(url: str, merchant: dict[str, str], partner_token: str) -> dict[str, Any]:
    def get(path: str, **kwargs: Any) -> Any:
        response = requests.get(url + path, timeout=TIMEOUT, **kwargs)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    return {
        "tokens": get("/merchant/v1/tokens", headers=merchant),
        "partners": get("/merchant/v1/partners", headers=merchant),
        "authorizations": get("/merchant/v1/authorizations", headers=merchant),
        "products": get("/api/v1/products", headers={"X-Access-Token": partner_token}),
        "clock": get("/_mock/clock"),
        "settings": get("/_mock/settings"),
        "events": get("/_mock/events?limit=10000"),
        "outbox": get("/_mock/outbox"),
    }


def test_state_survives_a_restart(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "mock.sqlite3", workers=2).start()
    try:
        url = server.url
        world = server.reset()
        merchant = {"X-Merchant-Key": world["stores"][0]["merchant_key"]}
        client = (world["partner"]["client_id"], world["partner"]["client_secret"])
        original = world["partner_token"]
        requests.post(url + "/_mock/clock/set", timeout=TIMEOUT,
                      json={"now": "2027-06-01T12:00:00Z", "frozen": True}).raise_for_status()
        renewed = requests.post(f"{url}/merchant/v1/tokens/{original['id']}/renew",
                                json={"validity_days": 90, "email_copy": True},
                                headers=merchant, timeout=TIMEOUT).json()
        requests.post(url + "/_mock/partners", json={"id": "second", "name": "Second"},
                      timeout=TIMEOUT).raise_for_status()
        second = requests.post(url + "/merchant/v1/partners", json={"partner_id": "second"},
                               headers=merchant, timeout=TIMEOUT).json()
        requests.post(url + "/merchant/v1/tokens/revoke", headers=merchant, timeout=TIMEOUT,
                      json={"token_ids": [second["token"]["id"]]}).raise_for_status()
        requests.put(f"{url}/api/v1/products/7/inventory", json={"quantity": 42},
                     timeout=TIMEOUT, headers={"X-Access-Token": renewed["token_value"]}
                     ).raise_for_status()
        requests.put(url + "/_mock/settings", json={"refresh_policy": "strict"},
                     timeout=TIMEOUT).raise_for_status()
        pair = requests.post(url + "/_mock/oauth/tokens", timeout=TIMEOUT, json={
            "store_id": world["stores"][0]["id"], "client_id": client[0]}).json()
        before = snapshot(url, merchant, renewed["token_value"])

        server.stop()  # a clean shutdown, then the same file again
        server.start()

        after = snapshot(url, merchant, renewed["token_value"])
        logged, relogged = before.pop("events")["events"], after.pop("events")["events"]
        assert relogged[:len(logged)] == logged  # the snapshot's own calls log more after it
        assert after == before
        assert after["clock"]["frozen"] is True
        assert after["clock"]["now"] == "2027-06-01T12:00:00Z"
        statuses = {t["id"]: t["status"] for t in after["tokens"]["tokens"]}
        assert statuses[original["id"]] == "renewed"
        assert statuses[renewed["token"]["id"]] == "active"
        assert statuses[second["token"]["id"]] == "revoked"
        for value, expected in ((original["token_value"], 200),
                                (renewed["token_value"], 200),
                                (second["token_value"], 401),
                                (pair["access_token"], 200)):
            assert requests.get(url + "/api/v1/token", headers={"X-Access-Token": value},
                                timeout=TIMEOUT).status_code == expected
        # the OAuth family continues where it was, under the persisted strict policy
        first = requests.post(url + "/oauth/token", auth=client, timeout=TIMEOUT, data={
            "grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
        assert first.status_code == 200
        again = requests.post(url + "/oauth/token", auth=client, timeout=TIMEOUT, data={
            "grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert "Using the existing database" in server.output()
    finally:
        server.stop()
