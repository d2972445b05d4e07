"""Crash safety: `mockserver serve` on a SQLite file, a client driving writes (issue, renew,
revoke, OAuth refresh, inventory update), SIGKILL to master and workers at random moments
(seeded), restart, and check that:

- every operation that got a 2xx is there after the restart, including the usage event of
  every store-API call answered (written behind, through the journal);
- the one operation in flight at the kill happened whole or not at all;
- every refresh token handed out behaves per the default `grace` policy: the newest one the
  client holds refreshes (even when the kill ate the response to a committed refresh: that
  token is then retired but in grace), those whose replacement was used are inactive;
- the database passes `PRAGMA integrity_check`.

Budget: `KILLS` kills with a run of 0.05-0.5 s of writes before each.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests import figures
from tests.server import ServerProcess

KILLS = 24
SEED = 20260505
TIMEOUT = 5


@dataclass
class Acknowledged:
    """What the server confirmed with a 2xx: this must survive any crash."""

    issued: dict[str, str] = field(default_factory=dict)  # token id -> plaintext
    renewed: dict[str, str] = field(default_factory=dict)  # original -> successor
    revoked: set[str] = field(default_factory=set)
    inventory: dict[int, int] = field(default_factory=dict)  # product -> quantity
    refresh_tokens: list[str] = field(default_factory=list)  # handed out, oldest first
    uses: int = 0  # answered GET /api/v1/orders calls, each logged as a usage event
    operations: int = 0


class Driver:
    """One client writing as fast as the server answers until the server dies."""

    def __init__(self, url: str, world: dict[str, Any], acked: Acknowledged,
                 rng: random.Random) -> None:
        self.url = url
        self.acked = acked
        self.rng = rng
        self.merchant = {"X-Merchant-Key": world["stores"][0]["merchant_key"]}
        self.client = (world["partner"]["client_id"], world["partner"]["client_secret"])
        self.store_id = world["stores"][0]["id"]
        self.partner_token_id, self.partner_token = next(iter(acked.issued.items()))
        self.http = requests.Session()
        #: the operation sent when the server died, if any: (kind, argument)
        self.in_flight: tuple[str, Any] | None = None
        self.error: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            kind = self.rng.choice(["issue", "renew", "revoke", "refresh", "inventory",
                                    "refresh", "use"])
            try:
                getattr(self, kind)()
            except requests.RequestException:
                return  # killed mid-request: self.in_flight says what was on the wire
            except BaseException as error:  # reported by the test thread
                self.error = error
                return

    def send(self, kind: str, argument: Any, method: str, path: str,
             **kwargs: Any) -> requests.Response:
        self.in_flight = (kind, argument)
        response = self.http.request(method, self.url + path, timeout=TIMEOUT, **kwargs)
        assert response.status_code < 500, response.text
        self.in_flight = None
        if response.ok:
            self.acked.operations += 1
        return response

    def issue(self) -> None:
        partner_id = f"crash-{self.rng.getrandbits(48):012x}"
        created = self.http.post(self.url + "/_mock/partners", timeout=TIMEOUT,
                                 json={"id": partner_id, "name": partner_id})
        assert created.status_code == 201, created.text
        response = self.send("issue", partner_id, "POST", "/merchant/v1/partners",
                             json={"partner_id": partner_id}, headers=self.merchant)
        assert response.status_code == 201, response.text
        body = response.json()
        self.acked.issued[body["token"]["id"]] = body["token_value"]

    def renewable(self) -> list[str]:
        gone = self.acked.revoked | set(self.acked.renewed)
        return [t for t in self.acked.issued if t not in gone]

    def renew(self) -> None:
        candidates = self.renewable()
        if not candidates:
            return self.issue()
        token_id = self.rng.choice(candidates)
        response = self.send("renew", token_id, "POST",
                             f"/merchant/v1/tokens/{token_id}/renew", json={},
                             headers=self.merchant)
        if response.status_code == 409:  # renewed by the in-flight call before a crash
            return None
        assert response.status_code == 201, response.text
        body = response.json()
        self.acked.renewed[token_id] = body["token"]["id"]
        self.acked.issued[body["token"]["id"]] = body["token_value"]
        return None

    def revoke(self) -> None:
        candidates = [t for t in self.acked.issued
                      if t not in self.acked.revoked and t != self.partner_token_id]
        if len(candidates) < 3:
            return self.issue()
        token_id = self.rng.choice(candidates)
        response = self.send("revoke", token_id, "POST", "/merchant/v1/tokens/revoke",
                             json={"token_ids": [token_id]}, headers=self.merchant)
        assert response.status_code == 200, response.text
        self.acked.revoked.add(token_id)
        return None

    def refresh(self) -> None:
        current = self.acked.refresh_tokens[-1]
        response = self.send("refresh", current, "POST", "/oauth/token", auth=self.client,
                             data={"grant_type": "refresh_token", "refresh_token": current})
        assert response.status_code == 200, response.text
        self.acked.refresh_tokens.append(response.json()["refresh_token"])

    def use(self) -> None:
        response = self.send("use", None, "GET", "/api/v1/orders",
                             headers={"Authorization": f"Bearer {self.partner_token}"})
        assert response.status_code == 200, response.text
        self.acked.uses += 1

    def inventory(self) -> None:
        product, quantity = self.rng.randint(1, 24), self.rng.randint(0, 1000)
        response = self.send("inventory", (product, quantity), "PUT",
                             f"/api/v1/products/{product}/inventory",
                             json={"quantity": quantity},
                             headers={"Authorization": f"Bearer {self.partner_token}"})
        assert response.status_code == 200, response.text
        self.acked.inventory[product] = quantity


def check_database(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def check_survivors(server: ServerProcess, driver: Driver, acked: Acknowledged) -> None:
    """After a restart: every acknowledged write is there, the in-flight one is whole or
    absent, and the structure (renewal chains) is consistent."""
    url, merchant = server.url, driver.merchant
    listed = {t["id"]: t for t in requests.get(url + "/merchant/v1/tokens", headers=merchant,
                                               timeout=TIMEOUT).json()["tokens"]}
    missing = set(acked.issued) - set(listed)
    assert not missing, f"acknowledged tokens lost: {missing}"
    for token_id in acked.revoked:
        assert listed[token_id]["status"] == "revoked", listed[token_id]
    for original, successor in acked.renewed.items():
        assert listed[original]["successor_id"] == successor
    for token in listed.values():  # a renewal is never half done
        if token["successor_id"] is not None:
            assert listed[token["successor_id"]]["predecessor_id"] == token["id"]
        if token["predecessor_id"] is not None:
            assert listed[token["predecessor_id"]]["successor_id"] == token["id"]
    in_flight = driver.in_flight
    for token_id, plaintext in list(acked.issued.items())[-5:]:  # the plaintexts still work
        expected = {401} if token_id in acked.revoked else {200}
        if in_flight == ("revoke", token_id):  # committed or not when the server died
            expected.add(401)
        got = requests.get(url + "/api/v1/token", timeout=TIMEOUT,
                           headers={"X-Access-Token": plaintext})
        assert got.status_code in expected, (token_id, got.status_code, got.text, in_flight)
        if got.status_code == 401:
            assert got.json()["error"] == "token_revoked", got.text

    uses = logged_uses(url, driver.partner_token_id)
    allowed_uses = {acked.uses, acked.uses + 1} if in_flight == ("use", None) else {acked.uses}
    assert uses in allowed_uses, (uses, acked.uses, in_flight)

    products = {p["id"]: p["inventory"] for p in requests.get(
        url + "/api/v1/products", timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {driver.partner_token}"}).json()["products"]}
    for product, quantity in acked.inventory.items():
        allowed = {quantity}
        if in_flight is not None and in_flight[0] == "inventory" and in_flight[1][0] == product:
            allowed.add(in_flight[1][1])
        assert products[product] in allowed, (product, products[product], allowed)

    # refresh tokens per the grace policy: the newest handed out refreshes, even if a refresh
    # committed without its response reaching the client; one whose replacement has been used
    # is spent (the one before the newest is retired but still in grace)
    for spent in acked.refresh_tokens[:-2][-3:]:
        introspected = requests.post(url + "/oauth/introspect", auth=driver.client,
                                     data={"token": spent}, timeout=TIMEOUT).json()
        assert introspected == {"active": False}
    current = acked.refresh_tokens[-1]
    response = requests.post(url + "/oauth/token", auth=driver.client, timeout=TIMEOUT,
                             data={"grant_type": "refresh_token", "refresh_token": current})
    assert response.status_code == 200, response.text
    acked.refresh_tokens.append(response.json()["refresh_token"])
    if in_flight is not None:
        figures.count("crash_safety", "operations_cut_by_a_kill")
        settle(in_flight, acked, listed, products, uses)
        driver.in_flight = None


def logged_uses(url: str, token_id: str) -> int:
    """Usage events of `GET /api/v1/orders` with the token, read page by page."""
    count, after = 0, 0
    while True:
        page = requests.get(url + "/_mock/events", timeout=TIMEOUT, params={
            "token_id": token_id, "kind": "token.used", "after_id": after,
            "limit": 1000}).json()["events"]
        if not page:
            return count
        count += sum(e["detail"]["path"] == "/api/v1/orders" for e in page)
        after = page[-1]["id"]


def settle(in_flight: tuple[str, Any], acked: Acknowledged, listed: dict[str, Any],
           products: dict[int, int], uses: int) -> None:
    """The write cut by the kill happened whole or not at all (checked above); from now on
    what the database says about it is what the next rounds expect."""
    kind, argument = in_flight
    if kind == "inventory" and products.get(argument[0]) == argument[1]:
        acked.inventory[argument[0]] = argument[1]
    elif kind == "revoke" and listed[argument]["status"] == "revoked":
        acked.revoked.add(argument)
    elif kind == "renew" and listed[argument]["successor_id"] is not None:
        acked.renewed[argument] = listed[argument]["successor_id"]
    elif kind == "use":
        acked.uses = uses


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    server = ServerProcess(tmp_path / "mock.sqlite3", workers=2).start()
    try:
        world = server.reset()
        partner = world["partner"]
        tokens = requests.post(server.url + "/_mock/oauth/tokens", timeout=TIMEOUT, json={
            "store_id": world["stores"][0]["id"], "client_id": partner["client_id"]}).json()
        acked = Acknowledged(issued={world["partner_token"]["id"]:
                                     world["partner_token"]["token_value"]},
                             refresh_tokens=[tokens["refresh_token"]])
        driver = Driver(server.url, world, acked, rng)
        for _ in range(KILLS):
            stop = threading.Event()
            thread = threading.Thread(target=driver.run, args=(stop,), daemon=True)
            thread.start()
            threading.Event().wait(rng.uniform(0.05, 0.5))
            server.kill()
            stop.set()
            thread.join(timeout=TIMEOUT * 2)
            assert not thread.is_alive()
            if driver.error is not None:
                raise driver.error
            check_database(server.db)
            server.start()
            check_survivors(server, driver, acked)
            figures.count("crash_safety", "kills")
        output = server.output()
        assert "Traceback" not in output and "database is locked" not in output, output
    finally:
        server.stop()
    check_database(server.db)
    figures.count("crash_safety", "acknowledged_operations", acked.operations)
    figures.count("crash_safety", "acknowledged_calls_logged", acked.uses)
    figures.note("crash_safety", "lost", 0)
