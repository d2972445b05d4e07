"""Bad input sweep over the foundation's write operations: malformed JSON, wrong types,
unknown fields, unknown ids, oversized bodies, bad dates, wrong methods, wrong content types.
Each gets a 4xx JSON `{"error", "message"}`, never a 5xx, and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import MAX_BODY_BYTES, MAX_URL_BYTES
from tests import figures
from tests.dbdump import dump

#: (method, path template, a valid body) for every foundation operation that takes a body.
WRITES = [
    ("POST", "/merchant/v1/partners", {"partner_id": "demo-partner"}),
    ("POST", "/merchant/v1/tokens/{token}/renew", {"validity_days": 30}),
    ("POST", "/merchant/v1/tokens/revoke", {"token_ids": ["{token}"]}),
    ("POST", "/merchant/v1/tokens/{token}/email-copy", {"token_value": "{value}"}),
    ("POST", "/partner/v1/tokens/{token}/renew", {"validity_days": 30}),
    ("POST", "/partner/v1/tokens/revoke", {"token_ids": ["{token}"]}),
    ("PUT", "/api/v1/products/1/inventory", {"quantity": 5}),
    ("POST", "/_mock/clock/set", {"now": "2027-01-01T00:00:00Z"}),
    ("POST", "/_mock/clock/advance", {"days": 1}),
    ("POST", "/_mock/stores", {"name": "S", "plan": "standard"}),
    ("POST", "/_mock/partners", {"name": "P"}),
]

MALFORMED = [
    ("not json", b"{not json", "application/json"),
    ("truncated", b'{"a": ', "application/json"),
    ("array", b"[1, 2]", "application/json"),
    ("string", b'"text"', "application/json"),
    ("null", b"null", "application/json"),
    ("NaN", b'{"quantity": NaN}', "application/json"),
    ("bad utf-8", b'{"a": "\xff\xfe"}', "application/json"),
    ("form", b"partner_id=x", "application/x-www-form-urlencoded"),
    ("text", b'{"quantity": 1}', "text/plain"),
    ("no content type", b'{"quantity": 1}', None),
]


class Caller:
    def __init__(self, client: FlaskClient, world: dict[str, Any]) -> None:
        self.client = client
        self.token = world["partner_token"]["id"]
        self.value = world["partner_token"]["token_value"]
        self.headers = {
            "/merchant": {"X-Merchant-Key": world["stores"][0]["merchant_key"]},
            "/api": {"Authorization": f"Bearer {self.value}"},
        }
        self.auth = (world["partner"]["client_id"], world["partner"]["client_secret"])

    def path(self, template: str) -> str:
        return template.replace("{token}", self.token)

    def body(self, body: Any) -> Any:
        if isinstance(body, str):
            return body.replace("{token}", self.token).replace("{value}", self.value)
        if isinstance(body, dict):
            return {k: self.body(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self.body(v) for v in body]
        return body

    def send(self, method: str, template: str, **kwargs: Any) -> Any:
        path = self.path(template)
        for prefix, headers in self.headers.items():
            if path.startswith(prefix):
                kwargs.setdefault("headers", {}).update(headers)
        if path.startswith("/partner"):
            kwargs["auth"] = self.auth
        response = self.client.open(path, method=method, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.status_code,
                                                   response.get_data(as_text=True)[:300])
        body = response.get_json(silent=True)
        assert isinstance(body, dict) and {"error", "message"} <= set(body), body
        figures.count("bad_input", "requests")
        return response


@pytest.fixture
def caller(client: FlaskClient, world: dict[str, Any]) -> Caller:
    # the token's first use is a change of its own (New -> Active): get it done first
    token = world["partner_token"]["token_value"]
    assert client.get("/api/v1/store", headers={"X-Access-Token": token}).status_code == 200
    return Caller(client, world)


@pytest.fixture
def raw(app: Flask, world: dict[str, Any]) -> Caller:
    """Without the spec check: for answers no operation can document (unknown URLs, methods
    an URL does not have, URLs too long for any operation)."""
    return Caller(FlaskClient(app, app.response_class), world)


@pytest.mark.parametrize("method,template,valid", WRITES)
def test_malformed_bodies_are_refused_and_change_nothing(
    caller: Caller, db_path: Path, method: str, template: str, valid: dict[str, Any]
) -> None:
    before = dump(db_path)
    for _, raw, content_type in MALFORMED:
        headers = {"Content-Type": content_type} if content_type else {}
        response = caller.send(method, template, data=raw, headers=headers)
        assert response.status_code in (400, 415)
    assert dump(db_path) == before


@pytest.mark.parametrize("method,template,valid", WRITES)
def test_wrong_shapes_are_refused_and_change_nothing(
    caller: Caller, db_path: Path, method: str, template: str, valid: dict[str, Any]
) -> None:
    before = dump(db_path)
    good = caller.body(valid)
    variants: list[Any] = [
        {**good, "unexpected": 1},  # unknown field
        {},  # missing everything (renew's body is optional: only for the others)
    ]
    for name, value in good.items():
        for wrong in (None, True, 1.5, "", " ", [], {}, "x" * 5000, -1, 10**20):
            if type(wrong) is type(value) and wrong not in ("", " ", -1, 10**20, "x" * 5000):
                continue
            if wrong == 1.5 and template == "/_mock/clock/advance":
                continue  # fractions of a day are fine there
            variants.append({**good, name: wrong})
    for body in variants:
        if body == {} and "renew" in template:
            continue
        if body == good:
            continue
        response = caller.client.open(caller.path(template), method=method, json=body,
                                      headers=_auth_headers(caller, template),
                                      auth=caller.auth if template.startswith("/partner")
                                      else None)
        if response.status_code < 400:  # a value that happens to be valid (e.g. -1 → ok?)
            raise AssertionError((template, body, response.get_json()))
        assert response.status_code < 500
        assert {"error", "message"} <= set(response.get_json())
        figures.count("bad_input", "requests")
    assert dump(db_path) == before


def _auth_headers(caller: Caller, template: str) -> dict[str, str]:
    for prefix, headers in caller.headers.items():
        if template.startswith(prefix):
            return dict(headers)
    return {}


def test_unknown_ids_are_404_and_change_nothing(caller: Caller, db_path: Path) -> None:
    before = dump(db_path)
    for method, path, kwargs in [
        ("GET", "/merchant/v1/tokens/tok_unknown", {}),
        ("POST", "/merchant/v1/tokens/tok_unknown/renew", {"json": {}}),
        ("POST", "/merchant/v1/tokens/revoke", {"json": {"token_ids": ["{token}", "tok_x"]}}),
        ("POST", "/merchant/v1/tokens/tok_unknown/email-copy", {"json": {"token_value": "x"}}),
        ("POST", "/merchant/v1/partners", {"json": {"partner_id": "nobody"}}),
        ("DELETE", "/merchant/v1/partners/nobody", {}),
        ("GET", "/partner/v1/tokens/tok_unknown", {}),
        ("POST", "/partner/v1/tokens/revoke", {"json": {"token_ids": ["tok_x"]}}),
        ("GET", "/api/v1/orders/999999", {}),
        ("GET", "/api/v1/products/999", {}),
        ("PUT", "/api/v1/products/999/inventory", {"json": {"quantity": 1}}),
    ]:
        response = caller.send(method, path, **caller.body(kwargs))
        assert response.status_code == 404, (path, response.get_json())
    assert dump(db_path) == before


def test_bad_dates_and_bad_clock_moves_change_nothing(caller: Caller, db_path: Path) -> None:
    before = dump(db_path)
    for now in ("2027-01-01", "2027-13-01T00:00:00Z", "2027-01-01T00:00:00", "yesterday",
                "0000-01-01T00:00:00Z", "99999-01-01T00:00:00Z", "2027-01-01T25:00:00Z"):
        response = caller.send("POST", "/_mock/clock/set", json={"now": now})
        assert response.status_code == 400, now
    for body in ({"days": -1}, {"seconds": "1"}, {"years": 1}, {}, {"days": 10**9},
                 {"seconds": 1e308}):
        assert caller.send("POST", "/_mock/clock/advance", json=body).status_code == 400
    for query in ("page=0", "page=x", "limit=101", "limit=-1", "status=lost"):
        assert caller.send("GET", f"/api/v1/orders?{query}").status_code == 400
    assert dump(db_path) == before


def test_unknown_urls_are_404_json(raw: Caller) -> None:
    for path in ("/no/such/url", "/api/v2/orders", "/merchant/v1/tokens/a/b/c"):
        assert raw.send("GET", path).status_code == 404


def test_wrong_methods_are_405_json_with_allow(raw: Caller) -> None:
    caller = raw
    for method, path in [("DELETE", "/merchant/v1/tokens"), ("PUT", "/merchant/v1/partners"),
                         ("GET", "/merchant/v1/partners/x"), ("POST", "/api/v1/orders"),
                         ("PATCH", "/api/v1/products/1/inventory"), ("GET", "/oauth/token"),
                         ("PUT", "/_mock/clock/set")]:
        response = caller.send(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers.get("Allow"), (method, path)


def test_oversized_bodies_are_413_json(caller: Caller, db_path: Path) -> None:
    before = dump(db_path)
    big = b'{"quantity": 1, "pad": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    for method, template, _ in WRITES:
        response = caller.send(method, template, data=big,
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 413, template
        assert response.get_json()["error"] == "payload_too_large"
    assert dump(db_path) == before


def test_overlong_urls_are_414_json(raw: Caller) -> None:
    caller = raw
    response = caller.send("GET", "/api/v1/orders?status=" + "x" * (MAX_URL_BYTES + 1))
    assert response.status_code == 414
    assert response.get_json()["error"] == "uri_too_long"
