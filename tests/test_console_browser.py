"""The consoles in a real browser: Playwright drives the distribution's Chromium (headless)
against the live server. Each test saves screenshots to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.conftest import LiveServer

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MOCK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-proxy-server"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium from the distribution (scripts/test installs it; Playwright never downloads
    one). Skips only when it truly cannot start, unless MOCK_REQUIRE_BROWSER is set."""
    required = os.environ.get("MOCK_REQUIRE_BROWSER") == "1"
    manager = playwright_api.sync_playwright().start()
    try:
        launched = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        manager.stop()
        if required:
            raise
        pytest.skip(f"Chromium cannot start from {CHROMIUM}: {exc}")
    yield launched
    launched.close()
    manager.stop()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280,
                                                                      "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')]
  .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))
  .map(e => e.outerHTML)"""


def shot(page: Any, name: str) -> None:
    """Saves a screenshot of the page and checks that every control on it has a label."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name}"


def row(page: Any, token_id: str) -> Any:
    return page.locator(f'tr[data-token="{token_id}"]')


def sign_in_merchant_with_keyboard(page: Any, store_id: str, key: str) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Store ID").focus()
    page.keyboard.type(store_id)
    page.keyboard.press("Escape")  # close the suggestions list
    page.keyboard.press("Tab")
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="API Settings")).to_be_visible()


def sign_in_partner(page: Any, client_id: str, secret: str) -> None:
    page.goto("/console/sign-in?role=partner")
    page.get_by_label("Client ID").fill(client_id)
    page.get_by_label("Client secret").fill(secret)
    page.get_by_role("button", name="Sign in as partner").click()
    expect(page.get_by_role("heading", name="Manage Partner Tokens")).to_be_visible()


def renew_in_page(page: Any, token_id: str, validity: str) -> str:
    page.get_by_role("link", name=f"Renew {token_id}").click()
    page.get_by_label("Validity of the new token").select_option(label=validity)
    page.get_by_role("button", name="Renew token").click()
    new_id: str = page.locator("#issued-title code").inner_text()
    return new_id


def test_merchant_renews_time_passes_revokes_and_partner_sees_the_same(
        page: Any, world: dict[str, Any]) -> None:
    token_id = world["partner_token"]["id"]
    page.goto("/console/sign-in")
    shot(page, "sign-in")
    sign_in_merchant_with_keyboard(page, "demo-store", world["stores"][0]["merchant_key"])
    expect(row(page, token_id)).to_contain_text("Active")

    new_id = renew_in_page(page, token_id, "2 years")
    expect(page.get_by_label("Token value")).to_have_value(re.compile(r"^ptk_"))
    expect(row(page, token_id)).to_contain_text("Renewed")
    expect(row(page, new_id)).to_contain_text("New")
    shot(page, "api-settings-renewed")

    page.get_by_role("link", name="Mock control panel").click()
    page.get_by_label("Valid token").select_option(token_id)
    page.get_by_role("button", name="Advance to its expiry + 1 s").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"Moved one second past the expiry of {token_id}")
    expect(page.locator("tr[data-kind]").first).to_be_visible()
    shot(page, "control-panel")

    page.get_by_role("link", name="API Settings").click()
    expect(row(page, token_id)).to_contain_text("Expired")
    expect(row(page, new_id)).to_contain_text("New")

    page.get_by_label(f"Select {new_id}").check()
    page.get_by_role("button", name="Revoke Selected").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Revoke 1 token?")
    expect(dialog).to_contain_text(new_id)
    shot(page, "confirm-revoke")
    dialog.get_by_role("button", name="Revoke Token(s)").click()
    expect(row(page, new_id)).to_contain_text("Revoked")
    expect(page.get_by_role("status").first).to_contain_text(f"Revoked {new_id}")
    shot(page, "api-settings-revoked")

    page.get_by_role("button", name="Sign out").click()
    sign_in_partner(page, world["partner"]["client_id"], world["partner"]["client_secret"])
    expect(page.get_by_text("No tokens in this list.")).to_be_visible()
    page.get_by_role("link", name="All tokens").click()
    expect(row(page, token_id)).to_contain_text("Expired")
    expect(row(page, new_id)).to_contain_text("Revoked")
    shot(page, "partner-all-tokens")


def test_confirmation_warns_about_other_valid_tokens_and_escape_cancels(
        page: Any, world: dict[str, Any]) -> None:
    token_id = world["partner_token"]["id"]
    sign_in_merchant_with_keyboard(page, "demo-store", world["stores"][0]["merchant_key"])
    new_id = renew_in_page(page, token_id, "1 year (default)")

    page.get_by_label(f"Select {new_id}").check()
    page.get_by_role("button", name="Revoke Selected").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("The partner keeps 1 other valid token")
    expect(dialog.get_by_label(f"Also revoke {token_id}")).not_to_be_checked()
    shot(page, "confirm-revoke-warning")
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name="API Settings")).to_be_visible()
    expect(row(page, new_id)).to_contain_text("New")

    page.get_by_label(f"Select {new_id}").check()
    page.get_by_role("button", name="Revoke Selected").click()
    page.get_by_role("dialog").get_by_label(f"Also revoke {token_id}").check()
    page.get_by_role("button", name="Revoke Token(s)").click()
    expect(row(page, token_id)).to_contain_text("Revoked")
    expect(row(page, new_id)).to_contain_text("Revoked")


def test_partner_renews_sees_the_token_once_and_the_expiring_tab(
        page: Any, world: dict[str, Any]) -> None:
    token_id = world["partner_token"]["id"]
    sign_in_partner(page, world["partner"]["client_id"], world["partner"]["client_secret"])
    expect(row(page, token_id)).to_contain_text("Active")
    new_id = renew_in_page(page, token_id, "7 days")
    expect(page.get_by_label("Token value")).to_be_visible()
    shot(page, "partner-renewed")

    page.get_by_role("link", name="Expiring Tokens").click()
    expect(row(page, new_id)).to_contain_text("New")
    expect(row(page, new_id)).to_contain_text("Expiring")
    expect(row(page, token_id)).to_have_count(0)
    expect(page.get_by_label("Token value")).to_have_count(0)
    shot(page, "partner-expiring")


def test_service_errors_are_messages_on_the_page(page: Any, world: dict[str, Any]) -> None:
    sign_in_merchant_with_keyboard(page, "demo-store", world["stores"][0]["merchant_key"])
    page.get_by_label("Partner ID").fill("nobody")
    page.get_by_role("button", name="Add partner").click()
    expect(page.get_by_role("alert")).to_have_text("No partner 'nobody'.")
    page.goto("/console/merchant/tokens/tok_missing/renew")
    expect(page.get_by_role("heading", level=1)).to_contain_text("404")
    shot(page, "error-page")


# --- OAuth consent ----------------------------------------------------------------------------

def open_consent(page: Any, world: dict[str, Any], state: str) -> str:
    """Opens the consent page the way an app sends the merchant there; answers the app's
    redirect URI with a stub page so the browser lands somewhere."""
    callback = world["partner"]["redirect_uri"]
    page.route(callback + "**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<h1>App callback</h1>"))
    page.goto("/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": world["partner"]["client_id"],
        "scope": "read_orders,read_products", "state": state, "store_id": "demo-store"}))
    expect(page.get_by_role("heading", level=1)).to_contain_text(world["partner"]["name"])
    return str(callback)


def test_merchant_approves_consent_and_the_app_gets_a_code(page: Any,
                                                           world: dict[str, Any]) -> None:
    callback = open_consent(page, world, "st-approve")
    shot(page, "consent")
    page.get_by_label("Merchant key").fill(world["stores"][0]["merchant_key"])
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(callback + "**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["st-approve"] and query["code"][0].startswith("oac_")

    sign_in_merchant_with_keyboard(page, "demo-store", world["stores"][0]["merchant_key"])
    app_row = page.locator('tr[data-authorization="demo-client"]')
    expect(app_row).to_contain_text("Active")
    expect(app_row).to_contain_text("read_orders")
    shot(page, "api-settings-authorizations")
    page.get_by_role("button", name="Revoke authorization of Demo Sync App").click()
    expect(app_row).to_contain_text("Revoked")


def test_consent_with_a_wrong_key_shows_the_message_on_the_page(
        page: Any, world: dict[str, Any]) -> None:
    open_consent(page, world, "st-wrong")
    page.get_by_label("Merchant key").fill("mk_wrong")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert")).to_contain_text("not recognised")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    shot(page, "consent-error")


def test_merchant_denies_consent_and_the_app_gets_access_denied(
        page: Any, world: dict[str, Any]) -> None:
    callback = open_consent(page, world, "st-deny")
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(callback + "**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st-deny"]
    assert "code" not in query
