"""Isolation matrix: the merchant of store A against store B's resources, partner P against
partner Q's tokens, an app against another app's OAuth tokens, and tokens of one store on the
store API. Every cross-tenant attempt answers exactly like an unknown id (no existence leak),
with the documented status, and changes nothing (a dump of the database is compared)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import figures
from tests.dbdump import dump
from tests.test_console import Console

UNKNOWN_TOKEN = "tok_00000000deadbeef"
UNKNOWN_PARTNER = "partner-nobody"
UNKNOWN_CLIENT = "client-nobody"

class World:
    """Store A (`demo-store`, partner P on its list), store B (partners P and Q on its list),
    P authorized by OAuth on B only."""

    def __init__(self, client: FlaskClient, seeded: dict[str, Any]) -> None:
        self.client = client
        self.merchant_a = {"X-Merchant-Key": seeded["stores"][0]["merchant_key"]}
        self.p_auth = (seeded["partner"]["client_id"], seeded["partner"]["client_secret"])
        self.p_id = seeded["partner"]["id"]
        self.token_a_p = seeded["partner_token"]["id"]
        self.value_a_p = seeded["partner_token"]["token_value"]
        store_b = client.post("/_mock/stores", json={"id": "store-b", "name": "B",
                                                     "plan": "standard"}).get_json()
        self.merchant_b = {"X-Merchant-Key": store_b["merchant_key"]}
        q = client.post("/_mock/partners", json={"id": "partner-q", "name": "Q"}).get_json()
        self.q_auth = (q["partner"]["client_id"], q["partner"]["client_secret"])
        self.q_client_id = q["partner"]["client_id"]
        self.p_client_id = seeded["partner"]["client_id"]
        issued = {}
        for partner in ("partner-q", self.p_id):
            body = client.post("/merchant/v1/partners", json={"partner_id": partner},
                               headers=self.merchant_b).get_json()
            issued[partner] = body
        self.token_b_q = issued["partner-q"]["token"]["id"]
        self.value_b_q = issued["partner-q"]["token_value"]
        self.token_b_p = issued[self.p_id]["token"]["id"]
        self.value_b_p = issued[self.p_id]["token_value"]
        self.oauth_b_p = client.post("/_mock/oauth/tokens", json={
            "store_id": "store-b", "client_id": self.p_client_id}).get_json()


@pytest.fixture
def w(client: FlaskClient, world: dict[str, Any]) -> World:
    return World(client, world)


def answer(client: FlaskClient, method: str, path: str, foreign: str, unknown: str,
           **kwargs: Any) -> tuple[int, Any]:
    """The response with the foreign id, checked to equal the one with an unknown id (ids
    blanked out): same status, same body, same headers that matter."""
    results = []
    for value in (foreign, unknown):
        sub = _substitute(kwargs, foreign, value)
        response = client.open(path.replace(foreign, value), method=method, **sub)
        body = response.get_data(as_text=True).replace(value, "<id>")
        results.append((response.status_code, body, response.headers.get("WWW-Authenticate")))
    assert results[0] == results[1], f"{method} {path}: foreign and unknown ids differ"
    figures.count("isolation", "cross_tenant_probes")
    return results[0][0], results[0][1]


def _substitute(node: Any, old: str, new: str) -> Any:
    if isinstance(node, str):
        return node.replace(old, new)
    if isinstance(node, dict):
        return {k: _substitute(v, old, new) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return type(node)(_substitute(v, old, new) for v in node)
    return node


def test_merchant_of_store_a_cannot_reach_store_b(app: Flask, client: FlaskClient, w: World,
                                                  db_path: Path) -> None:
    before = dump(db_path)
    probes = [
        ("GET", f"/merchant/v1/tokens/{w.token_b_q}", w.token_b_q, UNKNOWN_TOKEN, {}),
        ("POST", f"/merchant/v1/tokens/{w.token_b_q}/renew", w.token_b_q, UNKNOWN_TOKEN,
         {"json": {}}),
        ("POST", "/merchant/v1/tokens/revoke", w.token_b_q, UNKNOWN_TOKEN,
         {"json": {"token_ids": [w.token_b_q]}}),
        ("POST", "/merchant/v1/tokens/revoke", w.token_b_p, UNKNOWN_TOKEN,
         {"json": {"token_ids": [w.token_a_p, w.token_b_p]}}),  # one foreign: nothing revoked
        ("POST", f"/merchant/v1/tokens/{w.token_b_q}/email-copy", w.token_b_q, UNKNOWN_TOKEN,
         {"json": {"token_value": w.value_b_q}}),
        ("DELETE", "/merchant/v1/partners/partner-q", "partner-q", UNKNOWN_PARTNER, {}),
        ("DELETE", f"/merchant/v1/authorizations/{w.p_client_id}", w.p_client_id,
         UNKNOWN_CLIENT, {}),
    ]
    for method, path, foreign, unknown, kwargs in probes:
        status, _ = answer(client, method, path, foreign, unknown, headers=w.merchant_a,
                           **kwargs)
        assert status == 404, (method, path, status)
    listed = client.get("/merchant/v1/tokens", headers=w.merchant_a).get_json()["tokens"]
    assert {t["store_id"] for t in listed} == {"demo-store"}
    filtered = client.get("/merchant/v1/tokens?partner_id=partner-q",
                          headers=w.merchant_a).get_json()["tokens"]
    assert filtered == []
    partners = client.get("/merchant/v1/partners", headers=w.merchant_a).get_json()["partners"]
    assert "partner-q" not in {p["partner_id"] for p in partners}
    authorizations = client.get("/merchant/v1/authorizations",
                                headers=w.merchant_a).get_json()["authorizations"]
    assert authorizations == []
    assert dump(db_path) == before


def test_partner_p_cannot_reach_partner_qs_tokens(client: FlaskClient, w: World,
                                                  db_path: Path) -> None:
    before = dump(db_path)
    probes = [
        ("GET", f"/partner/v1/tokens/{w.token_b_q}", {}),
        ("POST", f"/partner/v1/tokens/{w.token_b_q}/renew", {"json": {}}),
        ("POST", "/partner/v1/tokens/revoke", {"json": {"token_ids": [w.token_b_q]}}),
        ("POST", "/partner/v1/tokens/revoke",
         {"json": {"token_ids": [w.token_b_p, w.token_b_q]}}),
    ]
    for method, path, kwargs in probes:
        status, _ = answer(client, method, path, w.token_b_q, UNKNOWN_TOKEN, auth=w.p_auth,
                           **kwargs)
        assert status == 404, (method, path, status)
    mine = client.get("/partner/v1/tokens", auth=w.p_auth).get_json()["tokens"]
    assert w.token_b_q not in {t["id"] for t in mine}
    assert {t["partner_id"] for t in mine} == {w.p_id}
    filtered = client.get("/partner/v1/tokens?store_id=store-b",
                          auth=w.p_auth).get_json()["tokens"]
    assert {t["id"] for t in filtered} == {w.token_b_p}
    messages = client.get("/partner/v1/messages", auth=w.q_auth).get_json()["messages"]
    assert all(m["recipient"]["id"] == "partner-q" for m in messages)
    assert dump(db_path) == before


def test_an_app_cannot_use_another_apps_oauth_tokens(client: FlaskClient, w: World,
                                                     db_path: Path) -> None:
    before = dump(db_path)
    for token in (w.oauth_b_p["access_token"], w.oauth_b_p["refresh_token"]):
        foreign = client.post("/oauth/introspect", data={"token": token}, auth=w.q_auth)
        unknown = client.post("/oauth/introspect", data={"token": "oat_unknown"},
                              auth=w.q_auth)
        assert foreign.status_code == unknown.status_code == 200
        assert foreign.get_json() == unknown.get_json() == {"active": False}
        revoked = client.post("/oauth/revoke", data={"token": token}, auth=w.q_auth)
        assert revoked.status_code == 400 and revoked.get_json()["error"] == "invalid_grant"
        figures.count("isolation", "cross_tenant_probes", 2)
    refresh = client.post("/oauth/token", auth=w.q_auth, data={
        "grant_type": "refresh_token", "refresh_token": w.oauth_b_p["refresh_token"]})
    assert refresh.status_code == 400 and refresh.get_json()["error"] == "invalid_grant"
    assert dump(db_path) == before
    # P's tokens still work after Q's attempts
    assert client.get("/api/v1/token", headers={
        "Authorization": f"Bearer {w.oauth_b_p['access_token']}"}).status_code == 200


def test_a_token_only_ever_reaches_its_own_store(client: FlaskClient, w: World) -> None:
    """The store API has no store in its URLs: the token decides, for partner tokens and
    OAuth tokens alike, and a write with one store's token leaves every other store alone."""
    a = {"Authorization": f"Bearer {w.value_a_p}"}
    b = {"Authorization": f"Bearer {w.value_b_p}"}
    oauth_b = {"Authorization": f"Bearer {w.oauth_b_p['access_token']}"}
    assert client.get("/api/v1/store", headers=a).get_json()["store"]["id"] == "demo-store"
    assert client.get("/api/v1/store", headers=b).get_json()["store"]["id"] == "store-b"
    assert client.get("/api/v1/store", headers=oauth_b).get_json()["store"]["id"] == "store-b"
    products_b = client.get("/api/v1/products", headers=b).get_json()
    assert client.put("/api/v1/products/3/inventory", json={"quantity": 999},
                      headers=a).status_code == 200
    assert client.get("/api/v1/products", headers=b).get_json() == products_b
    assert client.get("/api/v1/products", headers=oauth_b).get_json() == products_b
    a_orders = {o["id"] for o in client.get("/api/v1/orders", headers=a).get_json()["orders"]}
    for order_id in sorted(a_orders)[:3]:  # order ids are per store; b sees its own
        mine = client.get(f"/api/v1/orders/{order_id}", headers=b)
        theirs = client.get(f"/api/v1/orders/{order_id}", headers=a)
        assert mine.get_json() != theirs.get_json()
    figures.count("isolation", "cross_tenant_probes", 6)


def test_revoking_at_one_store_leaves_the_other_alone(client: FlaskClient, w: World) -> None:
    """Revoke-all of partner P at store B leaves P's token at store A working."""
    assert client.delete(f"/merchant/v1/partners/{w.p_id}",
                         headers=w.merchant_b).status_code == 200
    assert client.get("/api/v1/token", headers={"X-Access-Token": w.value_b_p}).status_code == 401
    assert client.get("/api/v1/token", headers={"X-Access-Token": w.value_a_p}).status_code == 200


# --- the web consoles ---------------------------------------------------------------------

def console_answer(console: Console, method: str, path: str, foreign: str, unknown: str,
                   data: dict[str, Any] | None = None) -> tuple[int, str]:
    """A console form or page with a foreign id and with an unknown one, redirects followed:
    the same final page, status and text (ids blanked out; a Flask session cookie carries the
    message, so the second request sees the same page state as the first)."""
    results = []
    for value in (foreign, unknown):
        form = _substitute(data or {}, foreign, value)
        if method == "POST":
            response = console.post(path.replace(foreign, value), form)
        else:
            response = console.client.get(path.replace(foreign, value), follow_redirects=True)
        # Both ids are blanked in both pages: public lists (the partners offered by the Add
        # partner form) name the foreign id on either page.
        body = response.get_data(as_text=True).replace(foreign, "<id>").replace(unknown, "<id>")
        results.append((response.status_code, response.request.path.replace(value, "<id>"),
                        body))
    assert results[0] == results[1], f"{method} {path}: foreign and unknown ids differ"
    assert "<id>" in results[0][2] or results[0][0] == 404, "the page says what was refused"
    figures.count("isolation", "cross_tenant_probes")
    figures.count("isolation", "console_probes")
    return results[0][0], results[0][2]


def test_console_merchant_of_store_a_cannot_act_on_store_b(client: FlaskClient, w: World,
                                                           db_path: Path) -> None:
    assert client.post("/_mock/clock/freeze").status_code == 200
    console = Console(client)
    assert console.sign_in_merchant("demo-store",
                                    w.merchant_a["X-Merchant-Key"]).status_code == 200
    before = dump(db_path)
    probes: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("GET", f"/console/merchant/tokens/{w.token_b_q}/renew", w.token_b_q, UNKNOWN_TOKEN,
         {}),
        ("POST", f"/console/merchant/tokens/{w.token_b_q}/renew", w.token_b_q, UNKNOWN_TOKEN,
         {"validity_days": "365"}),
        ("POST", "/console/merchant/tokens/revoke", w.token_b_q, UNKNOWN_TOKEN,
         {"token_ids": [w.token_b_q]}),
        ("POST", "/console/merchant/tokens/revoke", w.token_b_q, UNKNOWN_TOKEN,
         {"token_ids": [w.token_b_q], "confirmed": "1"}),
        ("POST", "/console/merchant/tokens/revoke", w.token_b_p, UNKNOWN_TOKEN,
         {"token_ids": [w.token_a_p, w.token_b_p], "confirmed": "1"}),
        ("POST", f"/console/merchant/tokens/{w.token_b_q}/email-copy", w.token_b_q,
         UNKNOWN_TOKEN, {"token_value": w.value_b_q}),
        ("GET", "/console/merchant/partners/partner-q/revoke-all", "partner-q",
         UNKNOWN_PARTNER, {}),
        ("POST", "/console/merchant/partners/partner-q/revoke-all", "partner-q",
         UNKNOWN_PARTNER, {}),
        ("POST", f"/console/merchant/authorizations/{w.p_client_id}/revoke", w.p_client_id,
         UNKNOWN_CLIENT, {}),
    ]
    for method, path, foreign, unknown, data in probes:
        status, body = console_answer(console, method, path, foreign, unknown, data)
        assert (status == 200 and 'class="message error"' in body) or (
            method == "GET" and status == 404), (method, path, status)
    assert dump(db_path) == before
    page = console.client.get("/console/merchant").get_data(as_text=True)
    for foreign in (w.token_b_q, w.token_b_p, w.value_b_q):  # partner ids are public
        assert foreign not in page


def test_console_partner_p_cannot_act_on_partner_qs_tokens(client: FlaskClient, w: World,
                                                           db_path: Path) -> None:
    assert client.post("/_mock/clock/freeze").status_code == 200
    console = Console(client)
    assert console.sign_in_partner(*w.p_auth).status_code == 200
    before = dump(db_path)
    probes: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/console/partner/tokens/{w.token_b_q}/renew", {}),
        ("POST", f"/console/partner/tokens/{w.token_b_q}/renew", {"validity_days": "365"}),
        ("POST", "/console/partner/tokens/revoke", {"token_ids": [w.token_b_q]}),
        ("POST", "/console/partner/tokens/revoke",
         {"token_ids": [w.token_b_q], "confirmed": "1"}),
        ("POST", "/console/partner/tokens/revoke",
         {"token_ids": [w.token_b_p, w.token_b_q], "confirmed": "1"}),
    ]
    for method, path, data in probes:
        status, body = console_answer(console, method, path, w.token_b_q, UNKNOWN_TOKEN, data)
        assert (status == 200 and 'class="message error"' in body) or (
            method == "GET" and status == 404), (method, path, status)
    assert dump(db_path) == before
    for tab in ("active", "expiring", "all"):
        page = console.client.get(f"/console/partner?tab={tab}").get_data(as_text=True)
        assert w.token_b_q not in page and w.value_b_q not in page
