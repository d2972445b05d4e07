"""The mock keeps its word about its own contract: schemathesis fuzzes every operation of the
served `openapi.yaml` against a real `mockserver serve` process (gunicorn, 2 workers, a fresh
SQLite file), with positive and negative data, then follows the spec's OpenAPI links in a
stateful run. Any operation added to the spec is picked up without touching this file.

Budget (CI, 2 cores): `MAX_EXAMPLES` per operation and generation mode, fixed `SEED`,
`STATEFUL_RUNS` stateful scenarios of at most `STATEFUL_STEPS` steps.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import figures
from tests.server import ROOT, ServerProcess

SEED = 20260501
MAX_EXAMPLES = 50
STATEFUL_RUNS = 40
STATEFUL_STEPS = 12
CHAIN_RUNS = 40
CHAIN_STEPS = 16

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {
        "mode": "all",
        "max-examples": MAX_EXAMPLES,
        # credentials are supplied below; generated ones would only test the 401 path
        "with-security-parameters": False,
        "database": "none",
    },
})

schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=CONFIG)


class Credentials:
    """The seeded world's secrets, refreshed whenever a fuzzed call re-seeds it."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.update(world)

    def update(self, world: dict[str, Any]) -> None:
        self.store_id: str = world["stores"][0]["id"]
        self.merchant_key: str = world["stores"][0]["merchant_key"]
        self.client_id: str = world["partner"]["client_id"]
        self.client_secret: str = world["partner"]["client_secret"]
        self.partner_token: str = world["partner_token"]["token_value"]

    def for_scheme(self, name: str, scheme: dict[str, Any]) -> dict[str, str] | None:
        """Headers satisfying one security scheme, or None when we hold no such credential."""
        if name == "merchantKey":
            return {"X-Merchant-Key": self.merchant_key}
        if name == "merchantBearer":
            return {"Authorization": f"Bearer {self.merchant_key}"}
        if name == "bearerToken":
            return {"Authorization": f"Bearer {self.partner_token}"}
        if name == "accessTokenHeader":
            return {"X-Access-Token": self.partner_token}
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "basic":
            pair = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return None

    def headers(self, operation: Any) -> dict[str, str]:
        """Satisfies the first security requirement of the operation we can fulfil; the empty
        one (anonymous, e.g. client credentials in the body) only when there is no other."""
        spec = operation.schema.raw_schema
        schemes = spec.get("components", {}).get("securitySchemes", {})
        requirements = operation.definition.raw.get("security", spec.get("security", []))
        for requirement in sorted(requirements, key=lambda r: not r):
            headers: dict[str, str] = {}
            for name in requirement:
                satisfied = self.for_scheme(name, schemes.get(name, {}))
                if satisfied is None:
                    break
                headers.update(satisfied)
            else:
                return headers
        return {}


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class ConsoleSession:
    """A signed-in web console session: its cookie and the CSRF token its forms carry."""

    def __init__(self, url: str, role: str, credentials: Credentials) -> None:
        browser = requests.Session()
        page = browser.get(f"{url}/console/sign-in?role={role}", timeout=30)
        form = {"role": role, "csrf_token": _csrf(page.text)}
        if role == "merchant":
            form |= {"store_id": credentials.store_id, "merchant_key": credentials.merchant_key}
        else:
            form |= {"client_id": credentials.client_id,
                     "client_secret": credentials.client_secret}
        signed_in = browser.post(f"{url}/console/sign-in", data=form, timeout=30)
        assert signed_in.ok, signed_in.text
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
        self.csrf = _csrf(browser.get(f"{url}/console/{role}", timeout=30).text)


def _csrf(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class Mock:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.url = server.url
        self.session = requests.Session()
        self.credentials = Credentials(server.reset())
        self.consoles: dict[str, ConsoleSession] = {}

    def prepare(self, case: schemathesis.Case) -> None:
        """Valid credentials for the operation. No cookies carry over between calls."""
        self.session.cookies.clear()
        if case.headers is None:
            case.headers = {}
        if {"Authorization", "X-Access-Token", "X-Merchant-Key"} & set(case.headers):
            return  # a link handed this call the credential to use (e.g. a token just issued)
        case.headers.update(self.credentials.headers(case.operation))
        if _uses_scheme(case.operation, "consoleSession"):
            self.sign_in_console(case)

    def sign_in_console(self, case: schemathesis.Case) -> None:
        role = "partner" if case.operation.path.startswith("/console/partner") else "merchant"
        if role not in self.consoles:
            self.consoles[role] = ConsoleSession(self.url, role, self.credentials)
        console = self.consoles[role]
        assert case.headers is not None
        case.headers["Cookie"] = console.cookie
        if isinstance(case.body, dict) and "csrf_token" in case.body:
            case.body["csrf_token"] = console.csrf

    def observe(self, case: schemathesis.Case, response: Any) -> None:
        """Undoes what a fuzzed control call changed for every later call: new secrets, a
        moved clock, scripted faults, short token lifetimes."""
        if case.method.upper() not in ("POST", "PUT", "DELETE") or response.status_code >= 400:
            return
        path = case.operation.path
        if path == "/_mock/reset":
            self.reseeded(response.json())
        elif path == "/console/mock/reset":
            self.reseeded(self.server.reset())
        elif path.startswith(("/_mock/clock", "/console/mock/clock")):
            self.control("POST", "/_mock/clock/reset")
        elif path == "/_mock/faults":
            self.control("DELETE", "/_mock/faults")
        elif path.endswith("/settings"):
            self.control("PUT", "/_mock/settings", json={})
            for partner in self.control("GET", "/_mock/partners").json()["partners"]:
                self.control("PUT", f"/_mock/partners/{partner['id']}/settings", json={})

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.url + path, timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def reseeded(self, world: dict[str, Any]) -> None:
        self.credentials.update(world)
        self.consoles.clear()  # a console session ends when its credential changes


def _uses_scheme(operation: Any, name: str) -> bool:
    requirements = operation.definition.raw.get("security", [])
    return any(name in requirement for requirement in requirements)


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mock]:
    db: Path = tmp_path_factory.mktemp("schemathesis") / "mock.sqlite3"
    server = ServerProcess(db, workers=2).start()
    try:
        yield Mock(server)
        output = server.output()
        assert "Traceback" not in output, output
    finally:
        server.stop()


#: Operations that received at least one generated request.
FUZZED: set[str] = set()


@schema.parametrize()
def test_every_operation_keeps_the_contract(case: schemathesis.Case, mock: Mock) -> None:
    mock.prepare(case)
    response = case.call(base_url=mock.url, session=mock.session, timeout=30)
    figures.count("schemathesis", "examples")
    figures.count("schemathesis", f"mode_{case.meta.generation.mode.value}"
                  if case.meta is not None else "mode_explicit")
    FUZZED.add(case.operation.label)
    figures.note("schemathesis", "operations", len(FUZZED))
    mock.observe(case, response)
    case.validate_response(response, checks=checks_for(case))


def checks_for(case: schemathesis.Case) -> list[Any]:
    """Pages made for people (tag `Console`) are lenient on purpose: an unknown tab or role
    shows the default one. Everything else must refuse what its schema does not allow."""
    if "Console" in (case.operation.definition.raw.get("tags") or []):
        return [check for check in CHECKS if check is not negative_data_rejection]
    return CHECKS


def test_the_served_contract_is_the_fuzzed_one(mock: Mock) -> None:
    served = requests.get(mock.url + "/openapi.yaml", timeout=10)
    assert served.status_code == 200
    assert served.text == (ROOT / "openapi.yaml").read_text(encoding="utf-8")


class Recorder:
    def __init__(self) -> None:
        self.steps: list[str] = []

    def seen(self, label: str) -> bool:
        return label in self.steps


#: Root calls of a chain that need the seeded world's ids to get anywhere (a random store or
#: client id is a 404); the links carry everything after them.
ROOT_BODIES = {
    "controlOAuthApprove": lambda c: {"store_id": c.store_id, "client_id": c.client_id,
                                      "scope": "read_orders read_products write_inventory"},
    "controlOAuthTokens": lambda c: {"store_id": c.store_id, "client_id": c.client_id},
    "controlSessionToken": lambda c: {"store_id": c.store_id, "client_id": c.client_id},
}


#: In the chain runs the client is well behaved: it sends a grant's own parameters, the ones
#: the links fill in, and nothing else (garbage around them is the stateless run's job).
GRANT_PARAMETERS = {
    "refresh_token": ("grant_type", "refresh_token"),
    "authorization_code": ("grant_type", "code", "expiring"),
    None: ("code", "expiring"),
    "urn:ietf:params:oauth:grant-type:token-exchange": (
        "grant_type", "subject_token", "subject_token_type", "requested_token_type", "expiring"),
}
LOOKUP_PARAMETERS = ("token", "token_type_hint")


def well_behaved(case: schemathesis.Case) -> None:
    if not isinstance(case.body, dict):
        return
    path = case.operation.path
    if path in ("/oauth/token", "/admin/oauth/access_token"):
        keep = GRANT_PARAMETERS.get(case.body.get("grant_type"), ())
    elif path in ("/oauth/revoke", "/oauth/introspect"):
        keep = LOOKUP_PARAMETERS
    else:
        return
    case.body = {k: v for k, v in case.body.items() if k in keep}


def step_label(case: schemathesis.Case, status: int) -> str:
    """`METHOD /path -> status`, with the grant for the token endpoint."""
    label = f"{case.method.upper()} {case.operation.path}"
    if case.operation.path in ("/oauth/token", "/admin/oauth/access_token"):
        body = case.body if isinstance(case.body, dict) else {}
        grant = body.get("grant_type") or ("code" if "code" in body else "?")
        label += f" [{str(grant).rsplit(':', 1)[-1]}]"
    return f"{label} -> {status}"


def run_state_machine(mock: Mock, machine_schema: Any, runs: int, steps: int,
                      fill_roots: bool = False) -> Recorder:
    recorder = Recorder()
    base = machine_schema.as_state_machine()

    class Scenario(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            # each scenario starts from the seed, so a failure replays the same way
            mock.reseeded(mock.server.reset())
            figures.count("schemathesis", "stateful_scenarios")

        def before_call(self, case: schemathesis.Case) -> None:
            mock.prepare(case)
            root = ROOT_BODIES.get(case.operation.definition.raw.get("operationId", ""))
            if fill_roots and root is not None:
                case.body = root(mock.credentials)
            if fill_roots:
                well_behaved(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": mock.url, "session": mock.session, "timeout": 30}

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            recorder.steps.append(step_label(case, response.status_code))
            figures.count("schemathesis", "stateful_steps")
            mock.observe(case, response)

        def validate_response(self, response: Any, case: schemathesis.Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=checks_for(case))

    Scenario.run(settings=hypothesis.settings(
        max_examples=runs, stateful_step_count=steps, deadline=None,
        derandomize=True, database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    ))
    return recorder


def test_stateful_run_over_the_whole_contract(mock: Mock) -> None:
    """Every operation, chained through the spec's links and the links schemathesis infers.
    Re-seeding mid-scenario would only cut chains short; it is fuzzed on its own above."""
    recorder = run_state_machine(mock, schema.exclude(operation_id="resetWorld"),
                                 STATEFUL_RUNS, STATEFUL_STEPS)
    assert recorder.steps


#: Lifecycle chains the spec's links must carry a client through, and the steps that prove a
#: run went all the way (an unknown id is a 404, so a 2xx here was reached through a link).
CHAINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "partner-token": (
        ("controlCreatePartner", "merchantAddPartner", "merchantRenewToken",
         "merchantRevokeTokens", "merchantGetToken", "describeToken", "merchantEmailTokenCopy",
         "merchantRemovePartner"),
        ("POST /merchant/v1/partners -> 201",
         "POST /merchant/v1/tokens/{token_id}/renew -> 201",
         "POST /merchant/v1/tokens/revoke -> 200",
         "GET /merchant/v1/tokens/{token_id} -> 200",
         "POST /merchant/v1/tokens/{token_id}/renew -> 409",
         "POST /merchant/v1/tokens/{token_id}/email-copy -> 202",
         "GET /api/v1/token -> 200"),
    ),
    "oauth": (
        ("controlOAuthApprove", "controlOAuthTokens", "controlSessionToken", "oauthToken",
         "oauthRevoke", "oauthIntrospect", "describeToken", "controlRevokeAuthorization",
         "merchantRevokeAuthorization"),
        ("POST /_mock/oauth/approve -> 200",
         "POST /oauth/token [authorization_code] -> 200",
         "POST /oauth/token [code] -> 200",
         "POST /oauth/token [refresh_token] -> 200",
         "POST /oauth/token [refresh_token] -> 400",
         "POST /oauth/token [token-exchange] -> 200",
         "POST /oauth/revoke -> 200",
         "POST /oauth/introspect -> 200",
         "GET /api/v1/token -> 200",
         "GET /api/v1/token -> 401",
         "POST /_mock/oauth/revoke-authorization -> 200"),
    ),
}

LINKS_ONLY = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "positive", "with-security-parameters": False, "database": "none"},
    "phases": {"stateful": {"inference": {"algorithms": []}}},
})
links_schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=LINKS_ONLY)


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_stateful_links_chain_a_lifecycle(mock: Mock, chain: str) -> None:
    operations, proof = CHAINS[chain]
    recorder = run_state_machine(mock, links_schema.include(operation_id=list(operations)),
                                 CHAIN_RUNS, CHAIN_STEPS, fill_roots=True)
    missing = [step for step in proof if not recorder.seen(step)]
    assert not missing, f"the {chain} chain never reached {missing}"
