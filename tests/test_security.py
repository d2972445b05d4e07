"""Secrets stay secret: never in the server's output or the event log, stored only as hashes,
compared in constant time; request bodies over the limit are refused; the control API refuses
non-loopback callers without the control key."""

from __future__ import annotations

import hmac
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from mockserver import credentials
from mockserver.app import MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_URL_BYTES, create_app
from tests import figures
from tests.server import ROOT, ServerProcess, free_port

TIMEOUT = 10


def test_secrets_never_reach_the_logs_the_event_log_or_the_database(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "mock.sqlite3", workers=2).start()
    started = len(server.output())  # the seed banner prints the first world's secrets, once
    try:
        url = server.url
        world = server.reset()  # a new world: these secrets were never printed
        merchant = {"X-Merchant-Key": world["stores"][0]["merchant_key"]}
        client = (world["partner"]["client_id"], world["partner"]["client_secret"])
        token = world["partner_token"]
        renewed = requests.post(f"{url}/merchant/v1/tokens/{token['id']}/renew", json={},
                                headers=merchant, timeout=TIMEOUT).json()
        pair = requests.post(url + "/_mock/oauth/tokens", timeout=TIMEOUT, json={
            "store_id": world["stores"][0]["id"], "client_id": client[0]}).json()
        refreshed = requests.post(url + "/oauth/token", auth=client, timeout=TIMEOUT, data={
            "grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}).json()
        session = requests.post(url + "/_mock/oauth/session-token", timeout=TIMEOUT, json={
            "store_id": world["stores"][0]["id"], "client_id": client[0]}).json()
        secrets = {
            "merchant key": merchant["X-Merchant-Key"], "client secret": client[1],
            "partner token": token["token_value"], "renewed token": renewed["token_value"],
            "access token": pair["access_token"], "refresh token": pair["refresh_token"],
            "refreshed access": refreshed["access_token"],
            "refreshed refresh": refreshed["refresh_token"],
            "session token": session["session_token"],
            "rejected guess": "ptk_guessed-but-wrong-0123456789",
        }
        # use them all, right and wrong, so every code path that could log them runs
        for value in secrets.values():
            for headers in ({"Authorization": f"Bearer {value}"}, {"X-Access-Token": value},
                            {"X-Merchant-Key": value}):
                requests.get(url + "/api/v1/orders", headers=headers, timeout=TIMEOUT)
                requests.get(url + "/merchant/v1/tokens", headers=headers, timeout=TIMEOUT)
            requests.post(url + "/oauth/introspect", auth=client, data={"token": value},
                          timeout=TIMEOUT)
            requests.post(url + "/oauth/token", auth=(client[0], value), timeout=TIMEOUT,
                          data={"grant_type": "refresh_token", "refresh_token": value})
        requests.post(url + "/oauth/revoke", auth=client, timeout=TIMEOUT,
                      data={"token": refreshed["refresh_token"]})
        events = requests.get(url + "/_mock/events?limit=10000", timeout=TIMEOUT).text
    finally:
        server.stop()
    output = server.output()[started:]
    with open(server.db, "rb") as raw:
        stored = raw.read()
    for wal in server.db.parent.glob(server.db.name + "-*"):
        stored += wal.read_bytes()
    for name, value in secrets.items():
        assert value not in output, f"{name} in the server output"
        assert value not in events, f"{name} in the event log"
        if name not in ("client secret",):  # the app secret is shown on the control API
            assert value.encode() not in stored, f"{name} stored in plaintext"
        figures.count("security", "secrets_checked")


def test_same_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(credentials.hmac, "compare_digest", spy)
    assert credentials.same("abc", "abc") and not credentials.same("abc", "abd")
    assert not credentials.same("abc", "abcd")
    assert len(calls) == 3


def test_secrets_are_looked_up_by_hash_and_never_compared_with_equals() -> None:
    """Code inspection: a stored secret or hash is only ever compared through `same`."""
    pattern = re.compile(
        r"(token_hash|key_hash|client_secret|digest|secret)\b[^\n]*?[^=!<>](==|!=)\s*[^=\s\"']"
        r"|[^=!<>](==|!=)\s*[^\"'\s][^\n]*?(token_hash|key_hash|client_secret)\b")
    offenders = []
    for path in sorted((ROOT / "mockserver").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if pattern.search(code) and "same(" not in code:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, offenders
    hashed = (ROOT / "mockserver" / "tenants.py").read_text()
    assert "merchant_key_hash = ?" in hashed  # looked up by hash (an indexed UNIQUE column)


def test_request_bodies_over_the_limit_are_refused_over_real_http(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "mock.sqlite3", workers=1) as server:
        world = server.reset()
        response = requests.put(
            server.url + "/api/v1/products/1/inventory", timeout=TIMEOUT,
            data=b'{"quantity": 1, "x": "' + b"a" * MAX_BODY_BYTES + b'"}',
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {world['partner_token']['token_value']}"})
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"


def test_oversized_urls_and_headers_are_refused_in_json_over_real_http(tmp_path: Path) -> None:
    """gunicorn's own limits would answer in HTML; the app enforces them in JSON instead."""
    with ServerProcess(tmp_path / "mock.sqlite3", workers=1) as server:
        world = server.reset()
        auth = {"Authorization": f"Bearer {world['partner_token']['token_value']}"}
        long_url = requests.get(server.url + "/api/v1/orders?status=" + "x" * (MAX_URL_BYTES + 1),
                                headers=auth, timeout=TIMEOUT)
        assert long_url.status_code == 414
        assert long_url.json()["error"] == "uri_too_long"
        big_header = requests.get(server.url + "/api/v1/orders", timeout=TIMEOUT,
                                  headers={**auth, "X-Padding": "p" * (MAX_HEADER_BYTES + 1)})
        assert big_header.status_code == 431
        assert big_header.json()["error"] == "headers_too_large"
        huge_header = requests.get(server.url + "/api/v1/orders", timeout=TIMEOUT,
                                   headers={**auth, "X-Padding": "p" * (3 * MAX_HEADER_BYTES)})
        assert huge_header.status_code == 431  # refused by gunicorn, still in JSON
        assert huge_header.json()["error"] == "headers_too_large"
        fine = requests.get(server.url + "/api/v1/orders", timeout=TIMEOUT,
                            headers={**auth, "X-Padding": "p" * 10_000})
        assert fine.status_code == 200
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=TIMEOUT) as raw:
            raw.sendall(b"GARBAGE / HTTP/9\r\n\r\n")
            head, _, body = raw.recv(4096).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
        assert json.loads(body)["error"] == "invalid_request"


def caller_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def keyed_app(db_path: Path) -> Flask:
    return create_app(db_path, control_key="the-control-key")


@pytest.mark.parametrize("path", ["/_mock/clock", "/_mock/events", "/_mock/stores"])
def test_control_api_refuses_non_loopback_callers_without_the_key(keyed_app: Flask,
                                                                  path: str) -> None:
    remote = caller_at(keyed_app, "10.1.2.3")
    refused = remote.get(path)
    assert refused.status_code == 403 and refused.get_json()["error"] == "control_forbidden"
    assert remote.get(path, headers={"X-Control-Key": "wrong"}).status_code == 403
    assert remote.post("/_mock/reset").status_code == 403
    assert remote.get(path, headers={"X-Control-Key": "the-control-key"}).status_code == 200
    local = caller_at(keyed_app, "127.0.0.1")
    assert local.get(path).status_code == 200
    figures.count("security", "control_probes", 5)


def test_control_api_without_a_configured_key_is_loopback_only(db_path: Path) -> None:
    app = create_app(db_path)
    remote = caller_at(app, "192.0.2.7")
    assert remote.get("/_mock/clock").status_code == 403
    assert remote.get("/_mock/clock", headers={"X-Control-Key": ""}).status_code == 403


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.255", 9))
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_serve_on_all_interfaces_makes_up_a_control_key(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "mock.sqlite3", workers=1, port=free_port(),
                           extra_args=("--host", "0.0.0.0"))
    server.start()
    try:
        found = re.search(r"X-Control-Key: ([^'\s]+)", server.output())
        assert found, server.output()
        key = found.group(1)
        address = _non_loopback_address()
        if address is not None:  # reach it the way a machine on the network would
            remote = f"http://{address}:{server.port}/_mock/clock"
            refused: Any = requests.get(remote, timeout=TIMEOUT)
            assert refused.status_code == 403
            assert requests.get(remote, headers={"X-Control-Key": key},
                                timeout=TIMEOUT).status_code == 200
            figures.note("security", "non_loopback_checked_over_http", True)
        assert requests.get(server.url + "/_mock/clock", timeout=TIMEOUT).status_code == 200
    finally:
        server.stop()
