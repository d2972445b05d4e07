"""Races: gunicorn with 3 worker processes, parallel clients released together on the same
tokens — renew/renew, renew/revoke, refresh/refresh, refresh/revoke, and calls spread over
the workers around a revocation (each worker's gate cache, each worker's usage journal). The
invariants hold, no 5xx, no "database is locked". Budget: `ROUNDS` rounds of each race,
`CLIENTS` clients each."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from tests import figures
from tests.server import ServerProcess

ROUNDS = 20
CLIENTS = 10
TIMEOUT = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db: Path = tmp_path_factory.mktemp("races") / "mock.sqlite3"
    process = ServerProcess(db, workers=3).start()
    try:
        yield process
    finally:
        process.stop()
        output = process.output()
        assert "database is locked" not in output, output
        assert "Traceback" not in output, output


@pytest.fixture
def world(server: ServerProcess) -> dict[str, Any]:
    return server.reset()


def together(*calls: Callable[[], requests.Response]) -> list[requests.Response]:
    """Runs the calls in parallel threads released at the same instant."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        responses = list(pool.map(run, calls))
    for response in responses:
        assert response.status_code < 500, response.text
        assert "database is locked" not in response.text
    figures.count("races", "requests", len(responses))
    return responses


class Api:
    def __init__(self, server: ServerProcess, world: dict[str, Any]) -> None:
        self.url = server.url
        self.world = world
        self.merchant = {"X-Merchant-Key": world["stores"][0]["merchant_key"]}
        self.partner = (world["partner"]["client_id"], world["partner"]["client_secret"])

    def post(self, path: str, **kwargs: Any) -> Callable[[], requests.Response]:
        return lambda: requests.post(self.url + path, timeout=TIMEOUT, **kwargs)

    def fresh_partner_token(self, name: str) -> tuple[str, str]:
        requests.post(self.url + "/_mock/partners", json={"id": name, "name": name},
                      timeout=TIMEOUT).raise_for_status()
        body = requests.post(self.url + "/merchant/v1/partners", json={"partner_id": name},
                             headers=self.merchant, timeout=TIMEOUT).json()
        return body["token"]["id"], body["token_value"]

    def token(self, token_id: str) -> dict[str, Any]:
        token: dict[str, Any] = requests.get(f"{self.url}/merchant/v1/tokens/{token_id}",
                                             headers=self.merchant,
                                             timeout=TIMEOUT).json()["token"]
        return token

    def call(self, token: str) -> int:
        return requests.get(self.url + "/api/v1/token", headers={"X-Access-Token": token},
                            timeout=TIMEOUT).status_code

    def oauth_pair(self) -> dict[str, Any]:
        body: dict[str, Any] = requests.post(self.url + "/_mock/oauth/tokens", timeout=TIMEOUT,
                                             json={"store_id": self.world["stores"][0]["id"],
                                                   "client_id": self.partner[0]}).json()
        return body

    def refresh(self, refresh_token: str) -> Callable[[], requests.Response]:
        return self.post("/oauth/token", auth=self.partner,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})

    def policy(self, name: str) -> None:
        requests.put(self.url + "/_mock/settings", json={"refresh_policy": name},
                     timeout=TIMEOUT).raise_for_status()


def test_renew_renew_makes_exactly_one_successor(server: ServerProcess,
                                                 world: dict[str, Any]) -> None:
    api = Api(server, world)
    for round_ in range(ROUNDS):
        token_id, _ = api.fresh_partner_token(f"rr-{round_}")
        sides = [api.post(f"/merchant/v1/tokens/{token_id}/renew", json={},
                          headers=api.merchant) for _ in range(CLIENTS // 2)]
        partner = _basic_of(api, f"rr-{round_}")
        sides += [api.post(f"/partner/v1/tokens/{token_id}/renew", json={}, auth=partner)
                  for _ in range(CLIENTS // 2)]
        statuses = sorted(r.status_code for r in together(*sides))
        assert statuses == [201] + [409] * (CLIENTS - 1), statuses
        winner = api.token(token_id)
        assert winner["status"] == "renewed" and winner["successor_id"]
        figures.count("races", "renew_renew")


def test_renew_revoke_never_leaves_a_half_state(server: ServerProcess,
                                                world: dict[str, Any]) -> None:
    api = Api(server, world)
    for round_ in range(ROUNDS):
        token_id, plaintext = api.fresh_partner_token(f"rv-{round_}")
        calls = [api.post(f"/merchant/v1/tokens/{token_id}/renew", json={},
                          headers=api.merchant) for _ in range(CLIENTS // 2)]
        calls += [api.post("/merchant/v1/tokens/revoke", json={"token_ids": [token_id]},
                           headers=api.merchant) for _ in range(CLIENTS // 2)]
        responses = together(*calls)
        renewed = [r for r in responses[:CLIENTS // 2] if r.status_code == 201]
        assert len(renewed) <= 1
        assert all(r.status_code in (201, 409) for r in responses[:CLIENTS // 2])
        assert all(r.status_code == 200 for r in responses[CLIENTS // 2:])
        original = api.token(token_id)
        assert original["status"] == "revoked"
        assert api.call(plaintext) == 401
        if renewed:  # renewed before the revocation: the successor lives on, and works
            successor = renewed[0].json()
            assert original["successor_id"] == successor["token"]["id"]
            assert api.call(successor["token_value"]) == 200
        else:
            assert original["successor_id"] is None
        figures.count("races", "renew_revoke")


@pytest.mark.parametrize("policy", ["strict", "grace", "reuse-detection"])
def test_refresh_refresh_keeps_the_policy(server: ServerProcess, world: dict[str, Any],
                                          policy: str) -> None:
    api = Api(server, world)
    api.policy(policy)
    for _ in range(ROUNDS // 2):
        pair = api.oauth_pair()
        responses = together(*[api.refresh(pair["refresh_token"]) for _ in range(CLIENTS)])
        ok = [r.json() for r in responses if r.status_code == 200]
        refused = [r.json() for r in responses if r.status_code != 200]
        assert all(r["error"] == "invalid_grant" for r in refused)
        if policy == "grace":
            assert len(ok) == CLIENTS  # the replacement is unused: the old token is in grace
            working = [p for p in ok if api.call(p["access_token"]) == 200]
            assert len(working) == 1  # one access token per family is active
        else:
            assert len(ok) == 1
        if policy == "reuse-detection":  # the retries were reuse: the family is revoked
            assert api.call(ok[0]["access_token"]) == 401
        figures.count("races", "refresh_refresh")
    api.policy("grace")


def test_refresh_revoke_ends_the_family(server: ServerProcess, world: dict[str, Any]) -> None:
    api = Api(server, world)
    for _ in range(ROUNDS):
        pair = api.oauth_pair()
        calls = [api.refresh(pair["refresh_token"]) for _ in range(CLIENTS // 2)]
        calls += [api.post("/oauth/revoke", auth=api.partner,
                           data={"token": pair["refresh_token"],
                                 "token_type_hint": "refresh_token"})
                  for _ in range(CLIENTS // 2)]
        responses = together(*calls)
        assert all(r.status_code in (200, 400) for r in responses[:CLIENTS // 2])
        assert all(r.status_code == 200 for r in responses[CLIENTS // 2:])
        # whatever the order, the family is revoked: nothing it issued works any more
        issued = [r.json() for r in responses[:CLIENTS // 2] if r.status_code == 200]
        for body in [pair, *issued]:
            assert api.call(body["access_token"]) == 401
            again = api.refresh(body["refresh_token"])()
            assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        figures.count("races", "refresh_revoke")


def test_calls_across_workers_see_a_revocation_at_once_and_are_all_logged(
        server: ServerProcess, world: dict[str, Any]) -> None:
    api = Api(server, world)
    for round_ in range(ROUNDS // 2):
        token_id, plaintext = api.fresh_partner_token(f"gate-{round_}")
        headers = {"Authorization": f"Bearer {plaintext}"}
        orders = [partial(requests.get, api.url + "/api/v1/orders", headers=headers,
                          timeout=TIMEOUT) for _ in range(CLIENTS)]
        # every call on a new connection: the kernel spreads them over the workers, whose
        # gate caches now hold the token
        assert [r.status_code for r in together(*orders)] == [200] * CLIENTS
        revoked = api.post("/merchant/v1/tokens/revoke", json={"token_ids": [token_id]},
                           headers=api.merchant)()
        assert revoked.status_code == 200
        refused = together(*orders)
        assert [(r.status_code, r.json()["error"]) for r in refused] == [
            (401, "token_revoked")] * CLIENTS
        log = requests.get(api.url + "/_mock/events", params={"token_id": token_id},
                           timeout=TIMEOUT).json()["events"]
        kinds = [e["kind"] for e in log if e["kind"] != "token.issued"]
        assert kinds == ["token.used"] * CLIENTS + ["token.revoked"] + ["token.rejected"] * (
            CLIENTS), kinds
        figures.count("races", "revoke_under_load")


def _basic_of(api: Api, partner_id: str) -> tuple[str, str]:
    partners = requests.get(api.url + "/_mock/partners", timeout=TIMEOUT).json()["partners"]
    partner = next(p for p in partners if p["id"] == partner_id)
    return partner["client_id"], partner["client_secret"]
