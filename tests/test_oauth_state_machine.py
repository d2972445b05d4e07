"""OAuth lifecycle invariants: Hypothesis drives random sequences of consent and code exchange,
token exchange, client credentials, refreshes with the current and with retired refresh tokens
(any ever issued), RFC 7009 revocation, revoking the app's authorization (merchant or
platform), switching an app's refresh policy, clock jumps from seconds to ~100 days, and store
API calls with every access token ever issued; `tests.oauth_model` predicts each outcome.

Invariants after every step: every status, error code and `invalid_grant` reason equals the
model's, never a 2xx with an expired or revoked token, never a 5xx, and each store's
"Third-party authorizations" list matches the model. Budget: `EXAMPLES` sequences of at most
`STEPS` steps, a fixed derandomized seed.
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
from mockserver.oauth.models import GRANT_TOKEN_EXCHANGE, TYPE_ID_TOKEN, TYPE_OFFLINE
from mockserver.wire import iso
from tests import figures
from tests.conftest import SpecCheckingClient
from tests.oauth_model import (
    DAY,
    POLICIES,
    SCOPES,
    Access,
    Authorization,
    Code,
    OAuthModel,
    Outcome,
    Refresh,
)

EXAMPLES = 100
STEPS = 30
START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
AREA = "oauth_state_machine"

STORES = ("store-a", "store-b")
APPS = ("app-p", "app-q")

#: Clock jumps: seconds, minutes to hours, hours to days, days to ~100 days.
JUMPS = st.one_of(
    st.integers(1, 120),
    st.integers(60, 4 * 3600),
    st.integers(3600, 3 * DAY),
    st.integers(1, 100).map(lambda d: d * DAY),
)
SCOPE_SETS = st.sets(st.sampled_from(SCOPES), min_size=1).map(frozenset)


def pick(items: list[Any], index: int) -> Any:
    return items[index % len(items)]


class OAuthLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="oauth-lifecycle-"))
        app = create_app(self.dir / "mock.sqlite3", seed_if_empty=False)
        app.test_client_class = SpecCheckingClient
        self.client: FlaskClient = app.test_client()
        self.model = OAuthModel(now=START)
        self.merchant: dict[str, dict[str, str]] = {}
        self.creds: dict[str, tuple[str, str]] = {}
        figures.count(AREA, "sequences")

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- plumbing ---------------------------------------------------------------------------

    def send(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.open(path, method=method, **kwargs)
        figures.count(AREA, "requests")
        assert response.status_code < 500, (method, path, response.get_data(as_text=True))
        return response

    def expect(self, response: TestResponse, outcome: Outcome, what: str) -> dict[str, Any]:
        body: dict[str, Any] = response.get_json(silent=True) or {}
        failed = response.status_code >= 400
        got = Outcome(response.status_code, body.get("error") if failed else None,
                      body.get("reason") if failed else None)
        assert got == outcome, (f"{what} at {iso(self.model.now)}: server said {got}, "
                                f"model says {outcome}: {body}")
        if failed:
            assert set(body) >= {"error", "message"}, body
        return body

    def token(self, app: str, **params: str) -> TestResponse:
        client_id, secret = self.creds[app]
        return self.send("POST", "/oauth/token",
                         data={"client_id": client_id, "client_secret": secret, **params})

    def step(self) -> None:
        figures.count(AREA, "steps")

    # --- the world --------------------------------------------------------------------------

    @initialize()
    def world(self) -> None:
        self.send("POST", "/_mock/clock/set", json={"now": iso(START), "frozen": True})
        for store in STORES:
            body = self.send("POST", "/_mock/stores",
                             json={"id": store, "name": store, "plan": "standard"}).get_json()
            self.merchant[store] = {"X-Merchant-Key": body["merchant_key"]}
        for app in APPS:
            body = self.send("POST", "/_mock/partners",
                             json={"id": app, "name": app,
                                   "redirect_uri": "http://localhost:8910/callback"}
                             ).get_json()["partner"]
            self.creds[app] = (body["client_id"], body["client_secret"])

    # --- the rules: few, so that each comes up often; each picks what it does -------------

    @rule(how=st.sampled_from(["authorize", "authorize", "consent", "code", "token_exchange",
                               "client_credentials", "mint", "migrate"]),
          store=st.sampled_from(STORES), app=st.sampled_from(APPS), scope=SCOPE_SETS,
          expiring=st.sampled_from([True, True, True, False]), index=st.integers(0, 10**6))
    def grant(self, how: str, store: str, app: str, scope: frozenset[str], expiring: bool,
              index: int) -> None:
        """Consent and code exchange (or consent alone, or any code ever handed out: fresh,
        used, expired, of a revoked authorization), token exchange, client credentials, the
        control API's shortcut, migration of a non-expiring token."""
        if (how == "code" and not self.model.codes) or (how == "migrate"
                                                        and not self.model.access):
            how = "authorize"
        self.step()
        if how in ("authorize", "consent"):
            self.authorize(store, app, scope, how == "authorize", expiring)
        elif how == "code":
            self.exchange(pick(self.model.codes, index), expiring)
        elif how == "token_exchange":
            self.token_exchange(store, app)
        elif how == "mint":
            self.mint(store, app, scope, expiring)
        elif how == "migrate":
            perpetual = [a for a in self.model.access if a.family.kind == "offline"]
            self.migrate(pick(perpetual or self.model.access, index))
        else:
            self.client_credentials(store, app)

    @precondition(lambda self: self.model.access)
    @rule(how=st.sampled_from(["authorization", "authorization", "access", "refresh"]),
          store=st.sampled_from(STORES), app=st.sampled_from(APPS),
          by=st.sampled_from(["merchant", "control-merchant", "control-platform"]),
          index=st.integers(0, 10**6), as_owner=st.sampled_from([True, True, True, False]))
    def revoke(self, how: str, store: str, app: str, by: str, index: int,
               as_owner: bool) -> None:
        """The app's authorization on a store (merchant API or control API), or one token by
        RFC 7009 (a refresh token: its family)."""
        self.step()
        if how == "authorization":
            self.revoke_authorization(store, app, by)
        else:
            self.revoke_token(index, how == "refresh", as_owner)

    @precondition(lambda self: self.model.codes)
    @rule(how=st.sampled_from(["advance", "advance", "edge"]), seconds=JUMPS,
          edge=st.sampled_from(["access", "refresh", "grace", "code"]),
          index=st.integers(0, 10**6), offset=st.sampled_from([-1, 0, 1]))
    def clock(self, how: str, seconds: int, edge: str, index: int, offset: int) -> None:
        """A clock jump, or to the edge of a lifetime or grace window."""
        self.step()
        if how == "advance":
            self.move_clock(seconds)
        else:
            self.jump_to_an_edge(edge, index, offset)

    @precondition(lambda self: self.model.access)
    @rule(how=st.sampled_from(["call", "call_every_token", "introspect"]),
          index=st.integers(0, 10**6), refresh=st.booleans(),
          as_owner=st.sampled_from([True, True, True, False]))
    def use(self, how: str, index: int, refresh: bool, as_owner: bool) -> None:
        """A store API call with one token or with every access token ever issued, or an RFC
        7662 introspection of any token."""
        self.step()
        if how == "call":
            self.call_with(pick(self.model.access, index))
        elif how == "call_every_token":
            for access in self.model.access:
                self.call_with(access)
        else:
            self.introspect(index, refresh, as_owner)

    # --- consent and grants -----------------------------------------------------------------

    def authorize(self, store: str, app: str, scope: frozenset[str], exchange: bool,
                  expiring: bool) -> None:
        """Headless consent, and (usually at once) the code exchange."""
        response = self.send("POST", "/_mock/oauth/approve", json={
            "store_id": store, "client_id": self.creds[app][0], "scope": " ".join(sorted(scope))})
        body = self.expect(response, Outcome(200), "approve")
        code = self.model.approve(store, app, scope, body["code"])
        if exchange:
            self.exchange(code, expiring)

    def exchange(self, code: Code, expiring: bool) -> None:
        authorization = code.authorization
        response = self.token(authorization.app, code=code.value,
                              expiring="1" if expiring else "0")
        outcome = self.model.exchange_code(code, expiring)
        figures.count(AREA, f"code_{outcome.status}")
        body = self.expect(response, outcome, f"exchange code of {authorization}")
        if response.status_code == 200:
            self.issued(authorization, "expiring" if expiring else "offline", code.scope,
                        body, code)

    def issued(self, authorization: Authorization, kind: str, scope: frozenset[str],
               body: dict[str, Any], code: Code | None = None) -> None:
        assert set(body["scope"].split()) == scope, (body["scope"], scope)
        assert ("refresh_token" in body) == (kind == "expiring"), body
        self.model.issue(authorization, kind, scope, body["access_token"],
                         body.get("refresh_token"), code)

    def token_exchange(self, store: str, app: str) -> None:
        """A session token (the merchant opening the app) for an expiring offline token."""
        minted = self.send("POST", "/_mock/oauth/session-token",
                           json={"store_id": store, "client_id": self.creds[app][0]})
        session = self.expect(minted, Outcome(200), "session token")["session_token"]
        response = self.token(app, grant_type=GRANT_TOKEN_EXCHANGE, subject_token=session,
                              subject_token_type=TYPE_ID_TOKEN,
                              requested_token_type=TYPE_OFFLINE, expiring="1")
        body = self.expect(response, Outcome(200), "token exchange")
        assert body["issued_token_type"] == TYPE_OFFLINE
        authorization = self.model.session_exchange(store, app)
        self.issued(authorization, "expiring", authorization.scope, body)

    def mint(self, store: str, app: str, scope: frozenset[str], expiring: bool) -> None:
        response = self.send("POST", "/_mock/oauth/tokens", json={
            "store_id": store, "client_id": self.creds[app][0],
            "scope": " ".join(sorted(scope)), "expiring": expiring})
        body = self.expect(response, self.model.mint(store, app, scope, expiring), "mint")
        if response.status_code == 200:
            authorization = self.model.active_authorization(store, app)
            assert authorization is not None
            self.issued(authorization, "expiring" if expiring else "offline", scope, body)

    def migrate(self, subject: Access) -> None:
        app = subject.family.app
        response = self.token(app, grant_type=GRANT_TOKEN_EXCHANGE, subject_token=subject.value,
                              subject_token_type=TYPE_OFFLINE,
                              requested_token_type=TYPE_OFFLINE, expiring="1")
        outcome = self.model.migrate(subject)
        figures.count(AREA, f"migrate_{outcome.error or 'ok'}")
        body = self.expect(response, outcome, f"migrate a {subject.family.kind} token")
        if response.status_code == 200:
            self.issued(subject.family.authorization, "expiring", subject.family.scope, body)

    def client_credentials(self, store: str, app: str) -> None:
        response = self.token(app, grant_type="client_credentials", store_id=store)
        body = self.expect(response, self.model.client_credentials(store, app),
                           f"client credentials {app} on {store}")
        if response.status_code == 200:
            authorization = self.model.active_authorization(store, app)
            assert authorization is not None
            self.issued(authorization, "client_credentials", authorization.scope, body)

    # --- refresh ----------------------------------------------------------------------------

    @precondition(lambda self: self.model.refresh)
    @rule(which=st.sampled_from(["current", "retry", "replaced", "replaced", "any"]),
          index=st.integers(0, 10**6), scope=st.one_of(st.none(), st.none(), SCOPE_SETS),
          policy=st.one_of(st.none(), st.none(), st.sampled_from(POLICIES)))
    def refresh(self, which: str, index: int, scope: frozenset[str] | None,
                policy: str | None) -> None:
        """The current refresh token of a family; the current one and then the same one again
        (a client retrying after a lost response); a used one of a live family (grace
        retries, strict refusals, reuse detection); or any ever issued (expired, revoked).
        Sometimes the app's refresh policy is switched first."""
        self.step()
        live = [r for r in self.model.refresh
                if not r.family.revoked and r.family.authorization.revoked_by is None]
        candidates = {
            "current": [r for r in live if r is r.family.current],
            "retry": [r for r in live if r is r.family.current],
            "replaced": [r for r in live if r.first_used_at is not None],
        }.get(which) or self.model.refresh
        token = pick(candidates, index)
        if policy is not None:
            figures.count(AREA, "policy_switches")
            self.set_policy(token.family.app, policy)
        self.refresh_with(token, scope)
        if which == "retry":
            self.refresh_with(token, None)

    def refresh_with(self, token: Refresh, scope: frozenset[str] | None) -> None:
        app = token.family.app
        params = {"grant_type": "refresh_token", "refresh_token": token.value}
        if scope is not None:
            params["scope"] = " ".join(sorted(scope))
        response = self.token(app, **params)
        policy = self.model.policy.get(app, "grace")
        outcome = self.model.judge_refresh(token, scope)
        in_grace = outcome.status == 200 and token is not token.family.current
        figures.count(AREA, f"refresh_{outcome.reason or outcome.error or 'ok'}"
                      + ("_in_grace" if in_grace else ""))
        body = self.expect(response, outcome, f"refresh under {policy}")
        if outcome.reason == "authorization_revoked":
            assert body["revoked_by"] == token.family.authorization.revoked_by
        if response.status_code == 200:
            assert body["expires_in"] == 3600 and body["refresh_token"] != token.value
            self.model.refreshed(token, scope, body["access_token"], body["refresh_token"])

    def set_policy(self, app: str, policy: str) -> None:
        response = self.send("PUT", f"/_mock/partners/{app}/settings",
                             json={"refresh_policy": policy})
        self.expect(response, self.model.set_policy(app, policy), "settings")

    def revoke_authorization(self, store: str, app: str, how: str) -> None:
        client_id = self.creds[app][0]
        if how == "merchant":
            by = "merchant"
            response = self.send("DELETE", f"/merchant/v1/authorizations/{client_id}",
                                 headers=self.merchant[store])
        else:
            by = how.removeprefix("control-")
            response = self.send("POST", "/_mock/oauth/revoke-authorization",
                                 json={"store_id": store, "client_id": client_id, "by": by})
        outcome = self.model.revoke_authorization(store, app, by)
        figures.count(AREA, f"revoke_authorization_{outcome.status}")
        self.expect(response, outcome, f"revoke authorization of {app} on {store} by {how}")

    def send_token(self, path: str, index: int, refresh: bool,
                   as_owner: bool) -> tuple[Any, str, TestResponse]:
        """Any token (a refresh token if asked and there is one), sent to `path` by its own app
        or by the other app; returns the token, the sending app and the response."""
        tokens: list[Any] = self.model.refresh if refresh and self.model.refresh else (
            self.model.access)
        token = pick(tokens, index)
        owner = token.family.app
        app = owner if as_owner else next(a for a in APPS if a != owner)
        client_id, secret = self.creds[app]
        response = self.send("POST", path, data={
            "client_id": client_id, "client_secret": secret, "token": token.value})
        return token, app, response

    def revoke_token(self, index: int, refresh: bool, as_owner: bool) -> None:
        """RFC 7009, sometimes by the other app (refused, nothing changes)."""
        token, app, response = self.send_token("/oauth/revoke", index, refresh, as_owner)
        self.expect(response, self.model.revoke_token(token.value, app), "RFC 7009 revoke")

    def introspect(self, index: int, refresh: bool, as_owner: bool) -> None:
        """RFC 7662, sometimes by the other app (always inactive)."""
        token, app, response = self.send_token("/oauth/introspect", index, refresh, as_owner)
        body = self.expect(response, Outcome(200), "introspect")
        active = self.model.introspect(token, app)
        figures.count(AREA, f"introspect_{'active' if active else 'inactive'}")
        assert body["active"] is active, (type(token).__name__, body, iso(self.model.now))

    # --- time -------------------------------------------------------------------------------

    def move_clock(self, seconds: int) -> None:
        response = self.send("POST", "/_mock/clock/advance", json={"seconds": seconds})
        self.expect(response, Outcome(200), "advance")
        self.model.advance(seconds)

    def jump_to_an_edge(self, what: str, index: int, offset: int) -> None:
        """To the last second of a lifetime or grace window, or the first one after it."""
        edges: list[int | None] = {
            "access": [a.expires_at for a in self.model.access],
            "refresh": [r.expires_at for r in self.model.refresh],
            "grace": [r.grace_ends_at() for r in self.model.refresh],
            "code": [c.expires_at for c in self.model.codes],
        }[what]
        future = [e + offset for e in edges if e is not None and e + offset > self.model.now]
        if future:
            self.move_clock(pick(future, index) - self.model.now)

    # --- the store API ----------------------------------------------------------------------

    def call_with(self, access: Access) -> None:
        response = self.send("GET", "/api/v1/orders",
                             headers={"Authorization": f"Bearer {access.value}"})
        outcome = self.model.call_orders(access)
        figures.count(AREA, "api_calls")
        figures.count(AREA, f"call_{outcome.error or 'ok'}")
        body = self.expect(response, outcome, f"call with a {access.family.kind} token")
        if response.status_code < 300:
            # Independently of the model's bookkeeping: never a 2xx with a dead token.
            assert not access.revoked and not access.family.revoked
            assert access.family.authorization.revoked_by is None
            assert access.expires_at is None or self.model.now <= access.expires_at
        if outcome.error == "authorization_revoked":
            assert body["revoked_by"] == access.family.authorization.revoked_by

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def authorizations_match_the_model(self) -> None:
        if not self.merchant:
            return
        for store in STORES:
            response = self.send("GET", "/merchant/v1/authorizations",
                                 headers=self.merchant[store])
            listed = [(a["partner_id"], a["status"], a["revoked_by"], frozenset(a["scopes"]))
                      for a in response.get_json()["authorizations"]]
            expected = [(a.app, "active" if a.revoked_by is None else "revoked", a.revoked_by,
                         a.scope) for a in self.model.authorizations if a.store == store]
            assert listed == expected, store


OAuthLifecycle.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
    database=None, suppress_health_check=[HealthCheck.too_slow],
)


#: What a run must have met at least once, or it explored less than it claims.
MUST_MEET = ("refresh_ok", "refresh_ok_in_grace", "refresh_refresh_token_retired",
             "refresh_reuse_detected", "refresh_refresh_token_expired",
             "refresh_refresh_token_revoked", "refresh_authorization_revoked",
             "refresh_invalid_scope", "call_ok", "call_token_expired", "call_token_revoked",
             "call_authorization_revoked", "call_insufficient_scope", "code_400",
             "introspect_active", "introspect_inactive", "revoke_authorization_404",
             "migrate_ok", "migrate_invalid_subject_token")


def test_oauth_lifecycle_matches_the_model() -> None:
    before = dict(figures.FIGURES[AREA])
    OAuthLifecycle.TestCase().runTest()
    met = {k for k, v in figures.FIGURES[AREA].items() if v > before.get(k, 0)}
    assert not set(MUST_MEET) - met, sorted(set(MUST_MEET) - met)
