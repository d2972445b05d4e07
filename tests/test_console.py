"""The web consoles through Flask's test client: sign-in, the merchant's API Settings, the
partner's Manage Partner Tokens, the control panel, CSRF and error pages."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mockserver.app import create_app
from tests.oauth_support import approve, bearer, exchange_code
from tests.spec import spec
from tests.test_serve import Served


class Console:
    """A browser-like session on the test client: remembers the CSRF token of the last page."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(path, **kwargs)
        self._remember(response)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None,
             follow: bool = True, **kwargs: Any) -> TestResponse:
        form = {"csrf_token": self.csrf if csrf is None else csrf, **(data or {})}
        response = self.client.post(path, data=form, follow_redirects=follow, **kwargs)
        self._remember(response)
        return response

    def _remember(self, response: TestResponse) -> None:
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)

    def sign_in_merchant(self, store_id: str, key: str) -> TestResponse:
        self.get("/console/sign-in")
        return self.post("/console/sign-in", {"role": "merchant", "store_id": store_id,
                                              "merchant_key": key})

    def sign_in_partner(self, client_id: str, secret: str) -> TestResponse:
        self.get("/console/sign-in")
        return self.post("/console/sign-in", {"role": "partner", "client_id": client_id,
                                              "client_secret": secret})


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def messages(response: TestResponse) -> list[str]:
    return re.findall(r'class="message [a-z]+"[^>]*>([^<]*)<', text(response))


def statuses(response: TestResponse) -> dict[str, str]:
    """token id -> status marker, from the token table rows."""
    return dict(re.findall(r'data-token="([^"]+)" data-status="([^"]+)"', text(response)))


@pytest.fixture
def console(client: FlaskClient) -> Console:
    return Console(client)


@pytest.fixture
def merchant(console: Console, world: dict[str, Any]) -> Console:
    response = console.sign_in_merchant("demo-store", world["stores"][0]["merchant_key"])
    assert response.status_code == 200
    return console


@pytest.fixture
def token_id(world: dict[str, Any]) -> str:
    value: str = world["partner_token"]["id"]
    return value


def renew(console: Console, kind: str, token_id: str, days: int = 365,
          **extra: Any) -> TestResponse:
    return console.post(f"/console/{kind}/tokens/{token_id}/renew",
                        {"validity_days": str(days), **extra})


def new_token_id(response: TestResponse) -> str:
    found = re.search(r'id="issued-title">New partner token <code>([^<]+)</code>', text(response))
    assert found, "the new token is shown"
    return found.group(1)


# --- sign-in --------------------------------------------------------------------------------

def test_sign_in_page_lists_ids_and_never_secrets(console: Console,
                                                  world: dict[str, Any]) -> None:
    page = text(console.get("/console/sign-in"))
    assert "demo-store" in page and "demo-partner" in page
    assert world["stores"][0]["merchant_key"] not in page
    assert world["partner"]["client_secret"] not in page
    assert world["partner_token"]["token_value"] not in page


def test_wrong_merchant_key_is_a_message_and_signs_nobody_in(console: Console) -> None:
    response = console.sign_in_merchant("demo-store", "mk_wrong")
    assert response.status_code == 200
    assert "The store ID or merchant key is not right." in messages(response)
    assert console.client.get("/console/merchant").status_code == 302


def test_merchant_key_of_another_store_is_refused(console: Console,
                                                  world: dict[str, Any]) -> None:
    response = console.sign_in_merchant("demo-store", world["stores"][1]["merchant_key"])
    assert "The store ID or merchant key is not right." in messages(response)


def test_console_root_sends_visitors_to_sign_in(console: Console) -> None:
    response = console.client.get("/console/")
    assert response.status_code == 302 and response.location.endswith("/console/sign-in")


def test_sign_out_ends_the_session(merchant: Console) -> None:
    merchant.get("/console/merchant")
    merchant.post("/console/sign-out")
    assert merchant.client.get("/console/merchant").status_code == 302


# --- CSRF and errors ------------------------------------------------------------------------

def test_post_without_the_csrf_token_is_refused_with_an_html_page(
        merchant: Console, token_id: str) -> None:
    merchant.get("/console/merchant")
    response = merchant.post(f"/console/merchant/tokens/{token_id}/renew",
                             {"validity_days": "30"}, csrf="forged", follow=False)
    assert response.status_code == 403
    assert response.content_type.startswith("text/html")
    assert "Reload the page and try again" in text(response)
    page = merchant.get("/console/merchant")
    assert statuses(page) == {token_id: "active"}


def test_sign_in_needs_the_csrf_token_too(client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.post("/console/sign-in", data={
        "role": "merchant", "store_id": "demo-store",
        "merchant_key": world["stores"][0]["merchant_key"]})
    assert response.status_code == 403


def plain_client(app: Flask) -> FlaskClient:
    """A client that does not check responses against openapi.yaml (for undocumented URLs)."""
    return FlaskClient(app, app.response_class, use_cookies=True)


def test_unknown_console_page_is_an_html_404_and_the_api_stays_json(app: Flask) -> None:
    client = plain_client(app)
    page = client.get("/console/no-such-page")
    assert page.status_code == 404 and page.content_type.startswith("text/html")
    assert "There is no console page at this address." in text(page)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"


def test_wrong_method_on_a_console_page_is_an_html_405(app: Flask) -> None:
    response = plain_client(app).delete("/console/sign-in")
    assert response.status_code == 405 and response.content_type.startswith("text/html")


def test_unknown_token_on_the_renew_page_is_an_html_404(merchant: Console) -> None:
    response = merchant.get("/console/merchant/tokens/tok_nope/renew")
    assert response.status_code == 404
    assert "No token 'tok_nope'." in text(response)


def test_stylesheet_is_served_by_the_console(client: FlaskClient) -> None:
    response = client.get("/console/static/console.css")
    assert response.status_code == 200 and "focus-visible" in text(response)


# --- the merchant's API Settings ------------------------------------------------------------

def test_renewal_shows_new_and_renewed_and_the_plaintext_once(merchant: Console,
                                                              token_id: str) -> None:
    page = renew(merchant, "merchant", token_id, days=30)
    new_id = new_token_id(page)
    assert statuses(page) == {token_id: "renewed", new_id: "new"}
    plaintext = re.search(r'data-testid="issued-token"', text(page))
    assert plaintext
    again = merchant.get("/console/merchant")
    assert "issued-token" not in text(again)
    assert statuses(again) == {token_id: "renewed", new_id: "new"}


def test_renew_form_offers_one_day_to_five_years(merchant: Console, token_id: str) -> None:
    form = text(merchant.get(f"/console/merchant/tokens/{token_id}/renew"))
    values = [int(v) for v in re.findall(r'<option value="(\d+)"', form)]
    assert min(values) == 1 and max(values) == 1826
    assert re.search(r'<option value="365" selected>', form)


def test_validity_outside_the_range_is_a_message(merchant: Console, token_id: str) -> None:
    page = renew(merchant, "merchant", token_id, days=5000)
    assert any("validity_days" in m for m in messages(page))
    assert statuses(page) == {token_id: "active"}


def test_renewing_a_renewed_token_is_a_message(merchant: Console, token_id: str) -> None:
    renew(merchant, "merchant", token_id)
    page = renew(merchant, "merchant", token_id)
    assert any("is renewed and cannot be renewed" in m for m in messages(page))


def test_revoke_selected_asks_first_naming_tokens_and_other_valid_ones(
        merchant: Console, token_id: str) -> None:
    new_id = new_token_id(renew(merchant, "merchant", token_id))
    confirm = merchant.post("/console/merchant/tokens/revoke", {"token_ids": [new_id]})
    page = text(confirm)
    assert "Revoke 1 token?" in page and new_id in page
    assert "keeps 1 other valid token" in page and f'id="also-{token_id}"' in page
    assert statuses(merchant.get("/console/merchant"))[new_id] == "new"  # nothing yet

    done = merchant.post("/console/merchant/tokens/revoke",
                         {"token_ids": [new_id], "confirmed": "1"})
    assert statuses(done) == {token_id: "renewed", new_id: "revoked"}
    assert any(token_id in m and "Still valid" in m for m in messages(done))


def test_confirmation_can_revoke_the_other_valid_tokens_too(merchant: Console,
                                                            token_id: str) -> None:
    new_id = new_token_id(renew(merchant, "merchant", token_id))
    done = merchant.post("/console/merchant/tokens/revoke",
                         {"token_ids": [new_id, token_id], "confirmed": "1"})
    assert statuses(done) == {token_id: "revoked", new_id: "revoked"}
    assert not any("Still valid" in m for m in messages(done))


def test_revoke_selected_with_nothing_selected_is_a_message(merchant: Console) -> None:
    page = merchant.post("/console/merchant/tokens/revoke", {})
    assert "Select at least one token to revoke." in messages(page)


def test_revoked_token_fails_on_the_store_api_at_once(merchant: Console, client: FlaskClient,
                                                      token_id: str, partner_token: str) -> None:
    merchant.post("/console/merchant/tokens/revoke", {"token_ids": [token_id],
                                                      "confirmed": "1"})
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {partner_token}"})
    assert response.status_code == 401 and response.get_json()["error"] == "token_revoked"


def test_revoke_all_then_add_again_issues_a_fresh_token(merchant: Console,
                                                        token_id: str) -> None:
    confirm = text(merchant.get("/console/merchant/partners/demo-partner/revoke-all"))
    assert "Revoke all tokens for demo-partner?" in confirm and token_id in confirm
    done = merchant.post("/console/merchant/partners/demo-partner/revoke-all",
                         {"confirmed": "1"})
    assert statuses(done) == {token_id: "revoked"}
    assert "Removed from the access list" in text(done)
    added = merchant.post("/console/merchant/partners", {"partner_id": "demo-partner"})
    fresh = new_token_id(added)
    assert statuses(added)[fresh] == "active"


def test_adding_a_partner_twice_is_a_message(merchant: Console) -> None:
    page = merchant.post("/console/merchant/partners", {"partner_id": "demo-partner"})
    assert "The partner is already on the store's API access list." in messages(page)


def test_starter_store_cannot_add_partners(console: Console, world: dict[str, Any]) -> None:
    console.sign_in_merchant("starter-store", world["stores"][1]["merchant_key"])
    page = console.get("/console/merchant")
    assert "not available on the Starter plan" in text(page)
    added = console.post("/console/merchant/partners", {"partner_id": "demo-partner"})
    assert added.status_code == 200
    assert any("Starter plan" in m for m in messages(added))


def test_email_a_copy_lands_in_the_outbox(merchant: Console, client: FlaskClient,
                                          token_id: str) -> None:
    page = renew(merchant, "merchant", token_id)
    new_id = new_token_id(page)
    plaintext = re.search(r'name="token_value" value="([^"]+)"', text(page))
    assert plaintext
    sent = merchant.post(f"/console/merchant/tokens/{new_id}/email-copy",
                         {"token_value": plaintext.group(1)})
    assert f"A copy of token {new_id} was e-mailed to the partner." in messages(sent)
    mails = client.get("/_mock/outbox?recipient_kind=partner").get_json()["messages"]
    assert any(m["subject"].startswith("Copy of your partner token") for m in mails)


def test_email_a_copy_with_a_wrong_value_is_a_message(merchant: Console, token_id: str) -> None:
    sent = merchant.post(f"/console/merchant/tokens/{token_id}/email-copy",
                         {"token_value": "ptk_wrong"})
    assert "The plaintext does not belong to this token." in messages(sent)


# --- the partner's Manage Partner Tokens ----------------------------------------------------

@pytest.fixture
def partner(client: FlaskClient, partner_auth: tuple[str, str]) -> Console:
    console = Console(client)
    response = console.sign_in_partner(*partner_auth)
    assert "Manage Partner Tokens" in text(response)
    return console


def test_partner_sees_active_and_expiring_tabs(partner: Console, client: FlaskClient,
                                               token_id: str) -> None:
    assert statuses(partner.get("/console/partner?tab=active")) == {token_id: "active"}
    assert statuses(partner.get("/console/partner?tab=expiring")) == {}
    client.post("/_mock/clock/advance", json={"days": 340})
    assert statuses(partner.get("/console/partner?tab=expiring")) == {token_id: "active"}
    client.post("/_mock/clock/advance", json={"days": 30})
    assert statuses(partner.get("/console/partner?tab=active")) == {}
    assert statuses(partner.get("/console/partner?tab=all")) == {token_id: "expired"}


def test_partner_renews_and_revokes_through_confirmation(partner: Console,
                                                         token_id: str) -> None:
    page = renew(partner, "partner", token_id, days=7, tab="active")
    new_id = new_token_id(page)
    assert statuses(page) == {token_id: "renewed", new_id: "new"}
    confirm = text(partner.post("/console/partner/tokens/revoke",
                                {"token_ids": [token_id], "tab": "active"}))
    assert "Revoke Token(s)" in confirm and new_id in confirm
    done = partner.post("/console/partner/tokens/revoke",
                        {"token_ids": [token_id], "confirmed": "1", "tab": "all"})
    assert statuses(done) == {token_id: "revoked", new_id: "new"}


def test_partner_cannot_touch_tokens_of_other_partners(partner: Console, client: FlaskClient,
                                                       merchant_key: str) -> None:
    client.post("/_mock/partners", json={"name": "Other", "id": "other-partner"})
    added = client.post("/merchant/v1/partners", json={"partner_id": "other-partner"},
                        headers={"X-Merchant-Key": merchant_key}).get_json()
    foreign = added["token"]["id"]
    page = partner.post("/console/partner/tokens/revoke", {"token_ids": [foreign]})
    assert f"No token '{foreign}'." in messages(page)
    assert partner.get(f"/console/partner/tokens/{foreign}/renew").status_code == 404


def test_a_partner_session_does_not_open_the_merchant_tool(partner: Console) -> None:
    response = partner.client.get("/console/merchant")
    assert response.status_code == 302 and "role=merchant" in response.location


# --- the control panel ----------------------------------------------------------------------

def test_panel_advances_the_clock_and_shows_expiry(merchant: Console, client: FlaskClient,
                                                   token_id: str) -> None:
    before = client.get("/_mock/clock").get_json()["epoch"]
    merchant.get("/console/mock")
    merchant.post("/console/mock/clock", {"move": "1d"})
    after = client.get("/_mock/clock").get_json()["epoch"]
    assert 86_400 <= after - before < 86_400 + 60
    page = merchant.post("/console/mock/clock", {"move": "to-expiry", "token_id": token_id})
    assert any("one second past the expiry" in m for m in messages(page))
    assert statuses(merchant.get("/console/merchant")) == {token_id: "expired"}


def test_panel_shows_the_timeline_latest_first_and_the_outbox(merchant: Console,
                                                              token_id: str) -> None:
    renew(merchant, "merchant", token_id)
    page = text(merchant.get("/console/mock"))
    kinds = re.findall(r'<tr data-kind="([^"]+)"', page)
    assert kinds[0] == "token.renewed" and kinds[-1] == "store.created"
    assert "Partner token renewed" in page


def test_panel_freeze_and_reset_clock(console: Console, client: FlaskClient) -> None:
    console.get("/console/mock")
    console.post("/console/mock/clock", {"move": "freeze"})
    assert client.get("/_mock/clock").get_json()["frozen"] is True
    console.post("/console/mock/clock", {"move": "30d"})
    console.post("/console/mock/clock", {"move": "reset"})
    state = client.get("/_mock/clock").get_json()
    assert state["frozen"] is False and state["offset_seconds"] == 0


def test_unknown_clock_move_is_a_message(console: Console) -> None:
    console.get("/console/mock")
    assert "Unknown clock action." in messages(console.post("/console/mock/clock",
                                                            {"move": "warp"}))


def test_world_reset_shows_new_credentials_and_ends_sessions(merchant: Console,
                                                             world: dict[str, Any]) -> None:
    merchant.get("/console/mock")
    page = merchant.post("/console/mock/reset", {"confirm": "1"})
    body = text(page)
    assert "credentials shown once" in body
    assert world["stores"][0]["merchant_key"] not in body
    assert re.search(r"merchant key <code class=\"secret\">mk_", body)
    assert merchant.client.get("/console/merchant").status_code == 302


def test_world_reset_needs_the_confirmation_box(console: Console, token_id: str) -> None:
    console.get("/console/mock")
    page = console.post("/console/mock/reset", {})
    assert "Tick the box to confirm the reset of the world." in messages(page)


@pytest.fixture
def remote_app(app: Flask, db_path: Any) -> Flask:
    remote = create_app(db_path, control_key="ck_secret")
    remote.test_client_class = app.test_client_class
    return remote


def test_panel_from_a_remote_address_needs_the_control_key(remote_app: Flask) -> None:
    remote = Console(remote_app.test_client())
    environ = {"REMOTE_ADDR": "203.0.113.9"}
    locked = remote.get("/console/mock", environ_base=environ)
    assert locked.status_code == 403 and "Control key" in text(locked)
    refused = remote.post("/console/mock/clock", {"move": "1d"}, environ_base=environ)
    assert "needs the control key" in " ".join(messages(refused))
    wrong = remote.post("/console/mock/unlock", {"control_key": "nope"}, environ_base=environ)
    assert "The control key is not right." in messages(wrong)
    remote.post("/console/mock/unlock", {"control_key": "ck_secret"}, environ_base=environ)
    opened = remote.get("/console/mock", environ_base=environ)
    assert opened.status_code == 200 and "Virtual time" in text(opened)


def test_renew_form_of_a_renewed_token_goes_back_with_a_message(merchant: Console,
                                                                 token_id: str) -> None:
    renew(merchant, "merchant", token_id)
    page = merchant.get(f"/console/merchant/tokens/{token_id}/renew", follow_redirects=True)
    assert any("is renewed and cannot be renewed" in m for m in messages(page))


def test_revoke_all_of_a_partner_not_on_the_list_is_a_message(merchant: Console) -> None:
    page = merchant.get("/console/merchant/partners/nobody/revoke-all", follow_redirects=True)
    assert "Partner nobody is not on the access list." in messages(page)


def test_a_console_session_holds_across_gunicorn_workers(tmp_path: Path) -> None:
    """Every worker signs cookies with the same per-database secret."""
    server = Served(tmp_path / "console.sqlite3")
    try:
        world = requests.post(server.url + "/_mock/reset", timeout=10).json()
        browser = requests.Session()
        form = browser.get(server.url + "/console/sign-in", timeout=10).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        signed = browser.post(server.url + "/console/sign-in", timeout=10, data={
            "csrf_token": csrf.group(1), "role": "merchant", "store_id": "demo-store",
            "merchant_key": world["stores"][0]["merchant_key"]})
        assert signed.url.endswith("/console/merchant")
        pages = [browser.get(server.url + "/console/merchant", timeout=10, allow_redirects=False)
                 for _ in range(12)]
        assert {p.status_code for p in pages} == {200}
    finally:
        server.stop()


def test_app_authorizations_are_listed_and_revocable(merchant: Console, client: FlaskClient,
                                                     world: dict[str, Any]) -> None:
    tokens = exchange_code(client, world, approve(client, world))
    page = text(merchant.get("/console/merchant"))
    assert 'data-authorization="demo-client" data-status="active"' in page
    done = merchant.post("/console/merchant/authorizations/demo-client/revoke")
    assert 'data-authorization="demo-client" data-status="revoked"' in text(done)
    assert any("Revoked the authorization of Demo Sync App" in m for m in messages(done))
    call = client.get("/api/v1/orders", headers=bearer(tokens["access_token"]))
    assert call.status_code == 401


def test_revoking_an_authorization_twice_is_a_message(merchant: Console, client: FlaskClient,
                                                      world: dict[str, Any]) -> None:
    exchange_code(client, world, approve(client, world))
    merchant.get("/console/merchant")
    merchant.post("/console/merchant/authorizations/demo-client/revoke")
    again = merchant.post("/console/merchant/authorizations/demo-client/revoke")
    assert any("has no active authorization" in m for m in messages(again))


def test_every_console_route_is_in_openapi_yaml(app: Flask) -> None:
    paths = spec()["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths.get(path, {}), f"{method} {path} is not documented"


def test_partner_test_button_reports_working_expired_and_unknown_tokens(
        partner: Console, client: FlaskClient, world: dict[str, Any]) -> None:
    token = world["partner_token"]["token_value"]
    page_text = text(partner.get("/console/partner"))
    assert "<title>Manage Partner Tokens — Demo Sync App" in page_text
    assert page_text.count('id="test-token"') == 1
    works = partner.post("/console/partner/test", {"token_value": token})
    assert any(m.startswith("Test passed: the token works for store demo-store")
               for m in messages(works)), messages(works)

    client.post("/_mock/clock/advance", json={"days": 366})
    expired = partner.post("/console/partner/test", {"token_value": token})
    assert any("has expired and needs to be re-created" in m for m in messages(expired))

    unknown = partner.post("/console/partner/test", {"token_value": "ptk_nope"})
    assert any("not recognised" in m for m in messages(unknown))
    kinds = [e["kind"] for e in client.get("/_mock/events?kind=token.*").get_json()["events"]]
    assert kinds.count("token.used") == 1 and kinds.count("token.rejected") == 1
