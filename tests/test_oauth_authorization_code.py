"""The consent page and the authorization-code grant (RFC 6749 §4.1, RFC 7636, seed 004)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from mockserver.oauth.models import s256
from tests.oauth_support import (
    STORE,
    advance,
    approve,
    basic,
    bearer,
    creds,
    events,
    exchange_code,
    freeze,
    token_request,
)

VERIFIER = "v" * 43 + "-._~0123456789"


def authorize_query(world: dict[str, Any], **extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": world["partner"]["client_id"],
            "scope": "read_orders,read_products", "state": "st-1", "store_id": STORE, **extra}


def consent_form(client: FlaskClient, world: dict[str, Any], **extra: str) -> dict[str, str]:
    page = client.get("/oauth/authorize", query_string=authorize_query(world, **extra))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_consent_page_approval_redirects_with_code_and_state(
        client: FlaskClient, world: dict[str, Any], merchant_key: str) -> None:
    form = consent_form(client, world)
    assert form["state"] == "st-1" and form["csrf_token"]
    response = client.post("/oauth/authorize", data={
        **form, "store_id": STORE, "merchant_key": merchant_key, "decision": "approve"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == \
        world["partner"]["redirect_uri"]
    query = parse_qs(location.query)
    assert query["state"] == ["st-1"] and query["code"][0].startswith("oac_")
    tokens = exchange_code(client, world, query["code"][0])
    assert tokens["scope"] == "read_orders read_products"


def test_consent_page_deny_redirects_with_access_denied(
        client: FlaskClient, world: dict[str, Any]) -> None:
    form = consent_form(client, world)
    response = client.post("/oauth/authorize", data={**form, "decision": "deny"})
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.status_code == 302
    assert query["error"] == ["access_denied"] and query["state"] == ["st-1"]


def test_consent_submit_without_the_csrf_cookie_is_refused(
        app: Any, world: dict[str, Any], merchant_key: str) -> None:
    form = consent_form(app.test_client(), world)
    fresh = app.test_client()  # another browser: no cookie
    response = fresh.post("/oauth/authorize", data={
        **form, "store_id": STORE, "merchant_key": merchant_key, "decision": "approve"})
    assert response.status_code == 403
    assert "text/html" in response.content_type
    assert not events(fresh, "oauth.code.issued")


def test_consent_with_a_wrong_merchant_key_shows_the_form_again(
        client: FlaskClient, world: dict[str, Any]) -> None:
    form = consent_form(client, world)
    response = client.post("/oauth/authorize", data={
        **form, "store_id": STORE, "merchant_key": "mk_wrong", "decision": "approve"})
    assert response.status_code == 401
    assert "not recognised" in response.get_data(as_text=True)


def test_mismatching_redirect_uri_is_shown_not_redirected(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.get("/oauth/authorize", query_string=authorize_query(
        world, redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "redirect_uri" in response.get_data(as_text=True)


def test_unknown_client_is_shown_not_redirected(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.get("/oauth/authorize", query_string=authorize_query(
        world, client_id="nobody"))
    assert response.status_code == 400 and "Location" not in response.headers


def test_unknown_scope_redirects_with_invalid_scope(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.get("/oauth/authorize", query_string=authorize_query(
        world, scope="read_orders delete_everything"))
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.status_code == 302
    assert query["error"] == ["invalid_scope"] and query["state"] == ["st-1"]


def test_plain_pkce_method_redirects_with_invalid_request(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.get("/oauth/authorize", query_string=authorize_query(
        world, code_challenge=s256(VERIFIER), code_challenge_method="plain"))
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == [
        "invalid_request"]


def test_platform_shape_with_expiring_1_gives_refresh_token(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = token_request(client, world, path="/admin/oauth/access_token",
                             code=approve(client, world), expiring="1")
    body = response.get_json()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert body["expires_in"] == 3600 and body["refresh_token"].startswith("ort_")
    assert body["refresh_token_expires_in"] == 90 * 86_400
    assert body["access_token"].startswith("oat_")


def test_without_expiring_the_offline_token_never_expires(
        client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    body = token_request(client, world, code=approve(client, world)).get_json()
    assert "expires_in" not in body and "refresh_token" not in body
    advance(client, 5 * 365 * 86_400)
    described = client.get("/api/v1/token", headers=bearer(body["access_token"]))
    assert described.status_code == 200
    assert described.get_json()["expires_at"] is None
    assert described.get_json()["expiring"] is False


def test_standard_shape_json_body_and_basic_auth(
        client: FlaskClient, world: dict[str, Any]) -> None:
    response = client.post("/oauth/token", json={
        "grant_type": "authorization_code", "code": approve(client, world), "expiring": 1,
        "redirect_uri": world["partner"]["redirect_uri"]}, headers=basic(*creds(world)))
    assert response.status_code == 200
    assert response.get_json()["expires_in"] == 3600


def test_pkce_s256_verifier_must_match(client: FlaskClient, world: dict[str, Any]) -> None:
    code = approve(client, world, code_challenge=s256(VERIFIER), code_challenge_method="S256")
    wrong = token_request(client, world, code=code, code_verifier="w" * 43)
    missing = token_request(client, world, code=code)
    assert wrong.status_code == missing.status_code == 400
    assert wrong.get_json()["error"] == missing.get_json()["error"] == "invalid_grant"
    good = token_request(client, world, code=code, code_verifier=VERIFIER, expiring="1")
    assert good.status_code == 200  # the failures did not use the code up
    reasons = [e["detail"]["reason"] for e in events(client, "oauth.code.rejected")]
    assert reasons == ["pkce_failed", "pkce_failed"]


def test_redirect_uri_sent_to_authorize_must_be_repeated(
        client: FlaskClient, world: dict[str, Any]) -> None:
    code = approve(client, world, redirect_uri=world["partner"]["redirect_uri"])
    response = token_request(client, world, code=code)
    assert response.get_json()["error"] == "invalid_grant"
    other = token_request(client, world, code=code, redirect_uri="http://localhost:1/other")
    assert other.get_json()["error"] == "invalid_grant"


def test_code_expires_after_ten_minutes(client: FlaskClient, world: dict[str, Any]) -> None:
    freeze(client)
    code = approve(client, world)
    advance(client, 601)
    response = token_request(client, world, code=code)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert events(client, "oauth.code.rejected")[-1]["detail"]["reason"] == "code_expired"


def test_code_reuse_is_refused_and_revokes_the_tokens_issued_from_it(
        client: FlaskClient, world: dict[str, Any]) -> None:
    code = approve(client, world)
    first = exchange_code(client, world, code)
    assert client.get("/api/v1/orders", headers=bearer(first["access_token"])).status_code == 200
    again = token_request(client, world, code=code, expiring="1")
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    after = client.get("/api/v1/orders", headers=bearer(first["access_token"]))
    assert after.status_code == 401 and after.get_json()["error"] == "token_revoked"
    refreshed = token_request(client, world, grant_type="refresh_token",
                              refresh_token=first["refresh_token"])
    assert refreshed.get_json()["error"] == "invalid_grant"
    assert events(client, "oauth.family.revoked")[-1]["detail"]["reason"] == "code_reuse"


def test_code_of_another_client_is_invalid_grant(
        client: FlaskClient, world: dict[str, Any]) -> None:
    other = client.post("/_mock/partners", json={
        "name": "Other", "redirect_uri": "http://localhost:1/cb"}).get_json()["partner"]
    code = approve(client, world)
    response = client.post("/oauth/token", data={
        "client_id": other["client_id"], "client_secret": other["client_secret"], "code": code})
    assert response.get_json()["error"] == "invalid_grant"
    assert exchange_code(client, world, code)["access_token"]


def test_a_new_expiring_grant_revokes_the_previous_family(
        client: FlaskClient, world: dict[str, Any]) -> None:
    first = exchange_code(client, world, approve(client, world))
    second = exchange_code(client, world, approve(client, world))
    old = client.get("/api/v1/orders", headers=bearer(first["access_token"]))
    assert old.status_code == 401 and old.get_json()["error"] == "token_revoked"
    assert client.get("/api/v1/orders", headers=bearer(second["access_token"])).status_code == 200
    refreshed = token_request(client, world, grant_type="refresh_token",
                              refresh_token=first["refresh_token"])
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_non_expiring_tokens_survive_a_new_expiring_grant(
        client: FlaskClient, world: dict[str, Any]) -> None:
    perpetual = token_request(client, world, code=approve(client, world)).get_json()
    exchange_code(client, world, approve(client, world))
    response = client.get("/api/v1/orders", headers=bearer(perpetual["access_token"]))
    assert response.status_code == 200


def test_code_issued_and_token_issued_events_carry_no_secrets(
        client: FlaskClient, world: dict[str, Any]) -> None:
    code = approve(client, world)
    tokens = exchange_code(client, world, code)
    issued = events(client, "oauth.token.issued")[-1]
    assert issued["detail"]["grant_type"] == "authorization_code"
    assert issued["detail"]["generation"] == 1 and issued["detail"]["expiring"] is True
    assert issued["detail"]["refresh_token_id"].startswith("rt_")
    log = str(client.get("/_mock/events").get_json())
    for secret in (code, tokens["access_token"], tokens["refresh_token"],
                   world["partner"]["client_secret"]):
        assert secret not in log
