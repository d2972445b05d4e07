"""Partner tokens across a full year, driven through the control API's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient

from tests.oauth_support import advance, bearer, freeze

DAY = 86_400


def merchant(key: str) -> dict[str, str]:
    return {"X-Merchant-Key": key}


def set_clock(client: FlaskClient, epoch: float) -> None:
    now = datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
    assert client.post("/_mock/clock/set", json={"now": now, "frozen": True}).status_code == 200


def issued_at(client: FlaskClient, key: str, token_id: str) -> float:
    response = client.get(f"/merchant/v1/tokens/{token_id}", headers=merchant(key))
    return datetime.fromisoformat(response.get_json()["token"]["issued_at"]).timestamp()


def status_of(client: FlaskClient, key: str, token_id: str) -> str:
    response = client.get(f"/merchant/v1/tokens/{token_id}", headers=merchant(key))
    value: str = response.get_json()["token"]["status"]
    return value


def test_token_works_at_day_364_and_fails_one_second_after_a_year(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    issued = issued_at(client, merchant_key, world["partner_token"]["id"])
    set_clock(client, issued + 364 * DAY)
    assert client.get("/api/v1/orders", headers=bearer(partner_token)).status_code == 200
    set_clock(client, issued + 365 * DAY)  # the expiry second itself still works
    assert client.get("/api/v1/orders", headers=bearer(partner_token)).status_code == 200
    advance(client, 1)
    response = client.get("/api/v1/orders", headers=bearer(partner_token))
    assert response.status_code == 401
    assert response.get_json()["error"] == "token_expired"
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="store-api", error="invalid_token", '
        'error_description="The access token expired"'
    )


def test_renewal_30_days_before_expiry_overlaps_until_the_originals_expiry(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    original_id = world["partner_token"]["id"]
    issued = issued_at(client, merchant_key, original_id)
    set_clock(client, issued + 335 * DAY)
    renewed = client.post(f"/merchant/v1/tokens/{original_id}/renew", json={},
                          headers=merchant(merchant_key))
    assert renewed.status_code == 201
    successor = renewed.get_json()["token_value"]
    successor_id = renewed.get_json()["token"]["id"]
    assert renewed.get_json()["token"]["status"] == "new"
    assert renewed.get_json()["original"]["status"] == "renewed"

    # both work during the overlap; the original's responses point at the successor
    old = client.get("/api/v1/orders", headers=bearer(partner_token))
    assert old.status_code == 200
    assert old.headers["X-Token-Status"] == "renewed"
    assert old.headers["X-Token-Successor-Id"] == successor_id
    assert "Sunset" in old.headers
    assert status_of(client, merchant_key, successor_id) == "new"
    assert client.get("/api/v1/orders", headers=bearer(successor)).status_code == 200
    assert status_of(client, merchant_key, successor_id) == "active"

    set_clock(client, issued + 365 * DAY)  # the original's expiry second
    assert client.get("/api/v1/orders", headers=bearer(partner_token)).status_code == 200
    advance(client, 1)
    assert client.get("/api/v1/orders", headers=bearer(partner_token)).status_code == 401
    assert client.get("/api/v1/orders", headers=bearer(successor)).status_code == 200
    assert status_of(client, merchant_key, original_id) == "expired"
    assert status_of(client, merchant_key, successor_id) == "active"


def test_successor_validity_is_counted_from_the_renewal(
    client: FlaskClient, world: dict[str, Any], merchant_key: str
) -> None:
    freeze(client)
    advance(client, 100 * DAY)
    renewed = client.post(f"/merchant/v1/tokens/{world['partner_token']['id']}/renew",
                          json={"validity_days": 1}, headers=merchant(merchant_key)).get_json()
    successor = renewed["token_value"]
    renewed_at = datetime.fromisoformat(renewed["token"]["issued_at"]).timestamp()
    set_clock(client, renewed_at + DAY)
    assert client.get("/api/v1/store", headers=bearer(successor)).status_code == 200
    advance(client, 1)
    assert client.get("/api/v1/store", headers=bearer(successor)).get_json()["error"] == (
        "token_expired")


def test_renewing_a_renewed_expired_or_revoked_token_is_a_conflict(
    client: FlaskClient, world: dict[str, Any], merchant_key: str, partner_auth: tuple[str, str]
) -> None:
    token_id = world["partner_token"]["id"]
    first = client.post(f"/merchant/v1/tokens/{token_id}/renew", headers=merchant(merchant_key))
    assert first.status_code == 201
    again = client.post(f"/partner/v1/tokens/{token_id}/renew", auth=partner_auth)
    assert again.status_code == 409
    assert again.get_json()["error"] == "token_not_renewable"

    successor_id = first.get_json()["token"]["id"]
    client.post("/merchant/v1/tokens/revoke", json={"token_ids": [successor_id]},
                headers=merchant(merchant_key))
    revoked = client.post(f"/merchant/v1/tokens/{successor_id}/renew",
                          headers=merchant(merchant_key))
    assert revoked.status_code == 409

    freeze(client)
    advance(client, 366 * DAY)
    expired = client.post(f"/merchant/v1/tokens/{token_id}/renew", headers=merchant(merchant_key))
    assert expired.status_code == 409
    assert expired.get_json()["status"] == "expired"


def test_revocation_is_immediate_and_lists_the_partners_other_valid_tokens(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    token_id = world["partner_token"]["id"]
    successor = client.post(f"/merchant/v1/tokens/{token_id}/renew",
                            headers=merchant(merchant_key)).get_json()
    response = client.post("/merchant/v1/tokens/revoke",
                           json={"token_ids": [successor["token"]["id"]]},
                           headers=merchant(merchant_key))
    assert response.status_code == 200
    body = response.get_json()
    assert [t["status"] for t in body["revoked"]] == ["revoked"]
    assert [t["id"] for t in body["still_valid"]] == [token_id]
    failed = client.get("/api/v1/orders", headers=bearer(successor["token_value"]))
    assert failed.status_code == 401
    assert failed.get_json()["error"] == "token_revoked"
    assert client.get("/api/v1/orders", headers=bearer(partner_token)).status_code == 200
    # idempotent
    again = client.post("/merchant/v1/tokens/revoke",
                        json={"token_ids": [successor["token"]["id"]]},
                        headers=merchant(merchant_key))
    assert again.status_code == 200


def test_revocation_is_all_or_nothing(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    response = client.post("/merchant/v1/tokens/revoke",
                           json={"token_ids": [world["partner_token"]["id"], "tok_nope"]},
                           headers=merchant(merchant_key))
    assert response.status_code == 404
    assert client.get("/api/v1/orders", headers=bearer(partner_token)).status_code == 200


def test_partner_can_revoke_its_own_token(
    client: FlaskClient, world: dict[str, Any], partner_token: str, partner_auth: tuple[str, str]
) -> None:
    response = client.post("/partner/v1/tokens/revoke",
                           json={"token_ids": [world["partner_token"]["id"]]}, auth=partner_auth)
    assert response.status_code == 200
    assert client.get("/api/v1/token", headers=bearer(partner_token)).status_code == 401


def test_revoke_all_and_re_add_yields_a_fresh_working_token(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    client.post(f"/merchant/v1/tokens/{world['partner_token']['id']}/renew",
                headers=merchant(merchant_key))
    removed = client.delete("/merchant/v1/partners/demo-partner", headers=merchant(merchant_key))
    assert removed.status_code == 200
    assert len(removed.get_json()["revoked"]) == 2
    assert client.get("/merchant/v1/partners", headers=merchant(merchant_key)).get_json() == {
        "partners": []}
    assert client.get("/api/v1/orders", headers=bearer(partner_token)).status_code == 401

    added = client.post("/merchant/v1/partners", json={"partner_id": "demo-partner"},
                        headers=merchant(merchant_key))
    assert added.status_code == 201
    fresh = added.get_json()
    assert fresh["token"]["status"] == "active"
    described = client.get("/api/v1/token", headers=bearer(fresh["token_value"])).get_json()
    assert described["token_id"] == fresh["token"]["id"]
    assert described["valid"] is True


def test_adding_a_partner_twice_is_a_conflict(client: FlaskClient, merchant_key: str) -> None:
    response = client.post("/merchant/v1/partners", json={"partner_id": "demo-partner"},
                           headers=merchant(merchant_key))
    assert response.status_code == 409
    assert response.get_json()["error"] == "partner_already_added"


def test_starter_store_cannot_add_partners_and_is_refused_by_the_api(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    starter_key = world["stores"][1]["merchant_key"]
    response = client.post("/merchant/v1/partners", json={"partner_id": "demo-partner"},
                           headers=merchant(starter_key))
    assert response.status_code == 403
    assert response.get_json()["error"] == "plan_not_supported"
    assert client.get("/merchant/v1/tokens", headers=merchant(starter_key)).get_json() == {
        "tokens": []}


def test_test_connection_describes_a_renewed_token_and_its_successor(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    renewed = client.post(f"/merchant/v1/tokens/{world['partner_token']['id']}/renew",
                          json={"validity_days": 730}, headers=merchant(merchant_key)).get_json()
    described = client.get("/api/v1/token", headers=bearer(partner_token)).get_json()
    assert described["status"] == "renewed"
    assert described["successor"]["id"] == renewed["token"]["id"]
    assert described["successor"]["status"] == "new"
    assert described["store_id"] == "demo-store"
    assert described["partner_id"] == "demo-partner"


def test_expiring_view_lists_tokens_within_30_days(
    client: FlaskClient, world: dict[str, Any], merchant_key: str, partner_auth: tuple[str, str]
) -> None:
    freeze(client)
    assert client.get("/partner/v1/tokens?tab=expiring", auth=partner_auth).get_json()[
        "tokens"] == []
    advance(client, 336 * DAY)
    expiring = client.get("/partner/v1/tokens?tab=expiring", auth=partner_auth).get_json()
    assert [t["id"] for t in expiring["tokens"]] == [world["partner_token"]["id"]]
    merchant_view = client.get("/merchant/v1/tokens?expiring=true", headers=merchant(merchant_key))
    assert len(merchant_view.get_json()["tokens"]) == 1
    advance(client, 30 * DAY)
    assert client.get("/partner/v1/tokens?tab=expiring", auth=partner_auth).get_json()[
        "tokens"] == []
    assert client.get("/partner/v1/tokens?tab=active", auth=partner_auth).get_json()[
        "tokens"] == []
    assert client.get("/partner/v1/tokens?status=expired", auth=partner_auth).get_json()[
        "tokens"][0]["status"] == "expired"


def test_renewal_notifies_both_sides_and_email_copy_reaches_the_partner(
    client: FlaskClient, world: dict[str, Any], merchant_key: str, partner_auth: tuple[str, str]
) -> None:
    renewed = client.post(f"/merchant/v1/tokens/{world['partner_token']['id']}/renew",
                          json={"email_copy": True}, headers=merchant(merchant_key)).get_json()
    outbox = client.get("/_mock/outbox").get_json()["messages"]
    kinds = sorted(m["recipient"]["kind"] for m in outbox if m["subject"] ==
                   "Partner token renewed")
    assert kinds == ["merchant", "partner"]
    mailbox = client.get("/partner/v1/messages", auth=partner_auth).get_json()["messages"]
    copies = [m for m in mailbox if m["subject"].startswith("Copy of your partner token")]
    assert len(copies) == 1
    assert renewed["token_value"] in copies[0]["body"]


def test_email_copy_needs_the_tokens_own_plaintext(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    token_id = world["partner_token"]["id"]
    wrong = client.post(f"/merchant/v1/tokens/{token_id}/email-copy",
                        json={"token_value": "ptk_wrong"}, headers=merchant(merchant_key))
    assert wrong.status_code == 400
    right = client.post(f"/merchant/v1/tokens/{token_id}/email-copy",
                        json={"token_value": partner_token}, headers=merchant(merchant_key))
    assert right.status_code == 202
    bodies = [m["body"] for m in client.get("/_mock/outbox?recipient_kind=partner").get_json()[
        "messages"]]
    assert any(partner_token in body for body in bodies)


def test_event_log_records_the_lifecycle_without_plaintexts(
    client: FlaskClient, world: dict[str, Any], partner_token: str, merchant_key: str
) -> None:
    token_id = world["partner_token"]["id"]
    client.get("/api/v1/orders", headers=bearer(partner_token))
    renewed = client.post(f"/merchant/v1/tokens/{token_id}/renew",
                          headers=merchant(merchant_key)).get_json()
    client.post("/merchant/v1/tokens/revoke", json={"token_ids": [token_id]},
                headers=merchant(merchant_key))
    client.get("/api/v1/orders", headers=bearer(partner_token))
    response = client.get(f"/_mock/events?token_id={token_id}")
    kinds = [e["kind"] for e in response.get_json()["events"]]
    assert kinds == ["token.issued", "token.used", "token.renewed", "token.revoked",
                     "token.rejected"]
    raw = client.get("/_mock/events?limit=10000").get_data(as_text=True)
    assert partner_token not in raw
    assert renewed["token_value"] not in raw
    assert merchant_key not in raw


def test_concurrent_renewals_produce_exactly_one_successor(
    live_server: Any, world: dict[str, Any], merchant_key: str
) -> None:
    import concurrent.futures

    import requests

    token_id = world["partner_token"]["id"]
    url = f"{live_server.url}/merchant/v1/tokens/{token_id}/renew"

    def renew(_: int) -> int:
        return requests.post(url, json={}, headers=merchant(merchant_key), timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(renew, range(16)))
    assert statuses == [201] + [409] * 15
    tokens = requests.get(f"{live_server.url}/merchant/v1/tokens", headers=merchant(merchant_key),
                          timeout=10).json()["tokens"]
    assert len(tokens) == 2
