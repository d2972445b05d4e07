"""Lifecycle invariants: Hypothesis drives random sequences of add partner, renew (either side),
revoke (selected tokens, or all of a partner's), clock jumps from seconds to years, and store
API calls with every token ever issued; `tests.model` predicts each outcome.

Invariants after every step: every status equals the model's, never a 2xx with an expired or
revoked token, never a 5xx, and the merchant's and partners' views list exactly the model's
tokens with the model's statuses. Budget: `EXAMPLES` sequences of at most `STEPS` steps.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from werkzeug.test import TestResponse

from mockserver.app import create_app
from mockserver.wire import iso, parse_iso
from tests import figures
from tests.conftest import SpecCheckingClient
from tests.model import DAY, Outcome, PartnerTokenModel

EXAMPLES = 100
STEPS = 40
START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())

STORE, STARTER = "store-a", "store-starter"
PARTNERS = ("partner-p", "partner-q", "partner-r")

#: Clock jumps: seconds, minutes to days, days to months, months, years.
JUMPS = st.one_of(
    st.integers(1, 120),
    st.integers(60, 3 * DAY),
    st.integers(1, 60).map(lambda d: d * DAY),
    st.integers(2, 12).map(lambda m: m * 30 * DAY),
    st.integers(1, 6).map(lambda y: y * 365 * DAY),
)
#: Validity asked for on renewal: mostly valid (default, 1 day .. 5 years), sometimes not.
VALIDITY = st.one_of(st.none(), st.integers(1, 60), st.integers(1, 5 * 365 + 1),
                     st.integers(1, 5 * 365 + 1), st.sampled_from([0, 1827, -3]))


class PartnerTokenLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        app = create_app(self.dir / "mock.sqlite3", seed_if_empty=False)
        app.test_client_class = SpecCheckingClient
        self.client: FlaskClient = app.test_client()
        self.model = PartnerTokenModel(now=START)
        self.merchant: dict[str, dict[str, str]] = {}
        self.basic: dict[str, tuple[str, str]] = {}
        figures.count("state_machine", "sequences")

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- plumbing ---------------------------------------------------------------------------

    def send(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.open(path, method=method, **kwargs)
        figures.count("state_machine", "requests")
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        return response

    def expect(self, response: TestResponse, outcome: Outcome, what: str) -> dict[str, Any]:
        body: dict[str, Any] = response.get_json(silent=True) or {}
        got = Outcome(response.status_code, body.get("error") if response.status_code >= 400
                      else None)
        assert got == outcome, f"{what}: server said {got}, model says {outcome}: {body}"
        if response.status_code >= 400:
            assert set(body) >= {"error", "message"}, body
        return body

    def token_id(self, index: int) -> str:
        ids = list(self.model.tokens)  # in issue order: ids are random, the order is not
        return ids[index % len(ids)]

    # --- the world ----------------------------------------------------------------------------

    @initialize()
    def world(self) -> None:
        self.send("POST", "/_mock/clock/set", json={"now": iso(START), "frozen": True})
        for store, plan in ((STORE, "standard"), (STARTER, "starter")):
            body = self.send("POST", "/_mock/stores",
                             json={"id": store, "name": store, "plan": plan}).get_json()
            self.merchant[store] = {"X-Merchant-Key": body["merchant_key"]}
            self.model.stores[store] = plan != "starter"
        for partner in PARTNERS:
            body = self.send("POST", "/_mock/partners",
                             json={"id": partner, "name": partner}).get_json()["partner"]
            self.basic[partner] = (body["client_id"], body["client_secret"])
            self.model.partners.add(partner)

    # --- rules --------------------------------------------------------------------------------

    @rule(store=st.sampled_from([STORE, STORE, STARTER]),
          partner=st.sampled_from([*PARTNERS, "partner-unknown"]))
    def add_partner(self, store: str, partner: str) -> None:
        figures.count("state_machine", "steps")
        response = self.send("POST", "/merchant/v1/partners", json={"partner_id": partner},
                             headers=self.merchant[store])
        body = self.expect(response, self.model.add_partner(store, partner), "add partner")
        if response.status_code == 201:
            token = self.model.added(store, partner, body["token"]["id"], body["token_value"])
            assert body["token"]["status"] == "active"
            expires_at = parse_iso(body["token"]["expires_at"], "expires_at").timestamp()
            assert expires_at == token.expires_at

    @precondition(lambda self: self.model.tokens)
    @rule(index=st.integers(0, 10**6), side=st.sampled_from(["merchant", "partner"]),
          as_owner=st.sampled_from([True, True, False]), days=VALIDITY)
    def renew(self, index: int, side: str, as_owner: bool, days: int | None) -> None:
        """Any token ever issued, by either side (a partner sometimes not the owner)."""
        figures.count("state_machine", "steps")
        self.renew_token(self.token_id(index), side, as_owner, days)

    @precondition(lambda self: self.working())
    @rule(index=st.integers(0, 10**6), side=st.sampled_from(["merchant", "partner"]),
          days=VALIDITY)
    def renew_a_working_token(self, index: int, side: str, days: int | None) -> None:
        """A token that still works: new, active or already renewed."""
        figures.count("state_machine", "steps")
        working = self.working()
        self.renew_token(working[index % len(working)], side, True, days)

    def working(self) -> list[str]:
        return [t.id for t in self.model.tokens.values() if t.valid(self.model.now)]

    def renew_token(self, token_id: str, side: str, as_owner: bool, days: int | None) -> None:
        owner = self.model.tokens[token_id].partner
        as_partner = owner if as_owner else next(p for p in PARTNERS if p != owner)
        payload = {} if days is None else {"validity_days": days}
        if side == "merchant":
            who, kwargs = STORE, {"headers": self.merchant[STORE]}
        else:
            who, kwargs = as_partner, {"auth": self.basic[as_partner]}
        response = self.send("POST", f"/{side}/v1/tokens/{token_id}/renew", json=payload,
                             **kwargs)
        outcome = self.model.renew(token_id, side, who, days)
        figures.count("state_machine", f"renew_{outcome.status}")
        body = self.expect(response, outcome, f"renew {token_id} as {side} {who}")
        if response.status_code == 201:
            successor = self.model.renewed(token_id, days, body["token"]["id"],
                                           body["token_value"])
            assert body["token"]["status"] == "new"
            assert body["original"]["status"] == "renewed"
            expires_at = parse_iso(body["token"]["expires_at"], "expires_at").timestamp()
            assert expires_at == successor.expires_at
            expires_at = parse_iso(body["original"]["expires_at"], "expires_at").timestamp()
            assert expires_at == self.model.tokens[token_id].expires_at

    @precondition(lambda self: self.model.tokens)
    @rule(indices=st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
          side=st.sampled_from(["merchant", "partner"]), as_partner=st.sampled_from(PARTNERS),
          with_unknown=st.booleans())
    def revoke(self, indices: list[int], side: str, as_partner: str,
               with_unknown: bool) -> None:
        figures.count("state_machine", "steps")
        token_ids = [self.token_id(i) for i in indices]
        if with_unknown:
            token_ids.append("tok_0000000000000000")
        if side == "merchant":
            who, kwargs = STORE, {"headers": self.merchant[STORE]}
        else:
            who, kwargs = as_partner, {"auth": self.basic[as_partner]}
        response = self.send("POST", f"/{side}/v1/tokens/revoke", json={"token_ids": token_ids},
                             **kwargs)
        body = self.expect(response, self.model.revoke(token_ids, side, who),
                           f"revoke {token_ids} as {side} {who}")
        if response.status_code == 200:
            assert {t["status"] for t in body["revoked"]} == {"revoked"}
            assert {t["id"] for t in body["still_valid"]} == self.model.still_valid(token_ids)

    @rule(partner=st.sampled_from(PARTNERS))
    def remove_partner(self, partner: str) -> None:
        figures.count("state_machine", "steps")
        response = self.send("DELETE", f"/merchant/v1/partners/{partner}",
                             headers=self.merchant[STORE])
        self.expect(response, self.model.remove_partner(STORE, partner), f"remove {partner}")

    @rule(seconds=JUMPS)
    def advance(self, seconds: int) -> None:
        figures.count("state_machine", "steps")
        self.move_clock(seconds)

    def move_clock(self, seconds: int) -> None:
        response = self.send("POST", "/_mock/clock/advance", json={"seconds": seconds})
        self.expect(response, self.model.advance(seconds), "advance")
        assert parse_iso(response.get_json()["now"], "now").timestamp() == self.model.now

    @precondition(lambda self: self.model.tokens)
    @rule(index=st.integers(0, 10**6), offset=st.sampled_from([-1, 0, 1]))
    def jump_to_expiry(self, index: int, offset: int) -> None:
        figures.count("state_machine", "steps")
        """To the edge of a token's life: its last second, or the first one after it."""
        target = self.model.tokens[self.token_id(index)].expires_at + offset
        if target > self.model.now:
            self.move_clock(target - self.model.now)

    @precondition(lambda self: self.model.tokens)
    @rule(index=st.integers(0, 10**6),
          path=st.sampled_from(["/api/v1/token", "/api/v1/orders", "/api/v1/store"]),
          header=st.sampled_from(["bearer", "vendor"]))
    def call(self, index: int, path: str, header: str) -> None:
        figures.count("state_machine", "steps")
        self.call_with(self.token_id(index), path, header)

    @rule()
    def call_with_every_token(self) -> None:
        figures.count("state_machine", "steps")
        for token_id in self.model.tokens:
            self.call_with(token_id, "/api/v1/token", "bearer")
        self.call_with(None, "/api/v1/token", "bearer")

    def call_with(self, token_id: str | None, path: str, header: str) -> None:
        value = self.model.tokens[token_id].value if token_id else "ptk_never-issued"
        headers = ({"Authorization": f"Bearer {value}"} if header == "bearer"
                   else {"X-Access-Token": value})
        outcome = self.model.call(token_id)
        body = self.expect(self.send("GET", path, headers=headers), outcome,
                           f"call {path} with {token_id} at {iso(self.model.now)}")
        figures.count("state_machine", "api_calls")
        if outcome.status == 200 and path == "/api/v1/token":
            assert token_id is not None
            token = self.model.tokens[token_id]
            assert body["status"] == token.status(self.model.now)
            assert body["expires_in"] == token.expires_in(self.model.now)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def merchant_view_matches_the_model(self) -> None:
        if not self.merchant:
            return
        response = self.send("GET", "/merchant/v1/tokens", headers=self.merchant[STORE])
        listed = {t["id"]: t for t in response.get_json()["tokens"]}
        mine = {t.id: t for t in self.model.tokens.values() if t.store == STORE}
        assert set(listed) == set(mine)
        now = self.model.now
        for token_id, token in mine.items():
            wire = listed[token_id]
            assert wire["status"] == token.status(now), (token_id, wire, iso(now))
            assert wire["expiring"] == token.expiring(now), (token_id, wire)
            assert wire["expires_in"] == token.expires_in(now)
            assert wire["successor_id"] == token.successor

    @invariant()
    def partner_tabs_match_the_model(self) -> None:
        if not self.basic:
            return
        now = self.model.now
        for partner in PARTNERS:
            for tab in ("active", "expiring"):
                response = self.send("GET", f"/partner/v1/tokens?tab={tab}",
                                     auth=self.basic[partner])
                listed = {t["id"] for t in response.get_json()["tokens"]}
                expected = {
                    t.id for t in self.model.tokens.values()
                    if t.partner == partner and t.valid(now)
                    and (tab == "active" or t.expiring(now))
                }
                assert listed == expected, (partner, tab, iso(now))


PartnerTokenLifecycle.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
    database=None, suppress_health_check=[HealthCheck.too_slow],
)


def test_partner_token_lifecycle_matches_the_model() -> None:
    PartnerTokenLifecycle.TestCase().runTest()
