"""Expiring access tokens: refreshing early enough, not too often, never for a perpetual
token, and reporting the end of the grant (PLATFORMS.md §3, §5 items 1, 10, 11, 15)."""

from __future__ import annotations

from conformance.config import OAUTH_EXPIRING
from conformance.harness import Kit
from conformance.scenarios import scenario
from conformance.scenarios._oauth import (
    IN_FLIGHT_SECONDS,
    describe,
    expired_rejections,
    names_reauthorization,
    refresh_attempts,
    refreshes,
)

DAY = 86_400


@scenario(1, "proactive-refresh", profile=OAUTH_EXPIRING, covers=(1,), rule=(
    "Calls made during the last minutes before the access token expires never send an expired "
    "access token (requests spend up to 5 s in flight), and no call fails across the expiry "
    "boundary."))
def test_proactive_refresh(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant()
    expires = float(kit.storage["expires_at"])
    kit.check_calls_ok([kit.call()], "a call with a fresh token")
    kit.skew_server(IN_FLIGHT_SECONDS)
    kit.note(f"requests in flight for {IN_FLIGHT_SECONDS} s: the server clock runs "
             f"{IN_FLIGHT_SECONDS} s ahead")

    kit.phase("calls across the access token's expiry")
    calls = []
    for offset in (-600, -300, -120, -60, -30, -10, -4, -2, -1, 1, 5, 30, 120):
        kit.advance_to(expires + offset)
        calls.append(kit.call())
    stale = expired_rejections(kit)
    kit.check(not stale, f"the client sent an expired access token {len(stale)} time(s)")
    kit.check_calls_ok(calls, "calls across the expiry boundary")
    kit.check(bool(refreshes(kit)), "the client never refreshed its access token")


@scenario(7, "no-churn", profile=OAUTH_EXPIRING, covers=(10,), rule=(
    "Two hours of calls, one a minute, cause no more refreshes than the access token's "
    "expiries require (at most one per lifetime, plus one)."))
def test_no_churn(conformance_kit: Kit) -> None:
    kit = conformance_kit
    grant = kit.oauth_grant()
    ttl = float(grant["expires_in"])
    kit.phase("two hours, one call a minute")
    calls = []
    for _ in range(120):
        calls.append(kit.call())
        kit.advance(60)
    kit.check_calls_ok(calls, "calls over two hours")
    count = len(refresh_attempts(kit))
    allowed = int(7200 // ttl) + 1
    kit.check(count <= allowed, f"{count} refreshes in two hours; the expiries require at most "
                                f"{allowed}")


@scenario(10, "refresh-token-expiry", profile=OAUTH_EXPIRING, covers=(15, 3), rule=(
    "After 90 idle days the refresh token has expired: the client reports that "
    "re-authorization is needed (ReauthorizationRequired or an error naming invalid_grant), "
    "with at most one refresh attempt per call."))
def test_refresh_token_expiry(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant()
    kit.check_calls_ok([kit.call()], "a call with a fresh token")
    refresh_expires = kit.storage.get("refresh_token_expires_at") or kit.now() + 90 * DAY

    kit.phase("the first call after 90 idle days")
    kit.advance_to(float(refresh_expires) + DAY)
    first = kit.call()
    kit.check(not first.ok, f"a call succeeded after the refresh token expired: "
                            f"{first.describe()}")
    kit.check(names_reauthorization(first),
              f"the failure does not say that re-authorization is needed: {first.describe()}")
    attempts = refresh_attempts(kit)
    kit.check(len(attempts) <= 1, f"{len(attempts)} refresh attempts in one call (at most 1): "
                                  f"{describe(attempts)}")
    second = kit.call()
    kit.check(not second.ok, f"a second call succeeded: {second.describe()}")
    attempts = refresh_attempts(kit)
    kit.check(len(attempts) <= 2, f"{len(attempts)} refresh attempts in two calls (at most 1 "
                                  "per call)")


@scenario(11, "perpetual-token", profile=OAUTH_EXPIRING, covers=(10,), rule=(
    "A non-expiring offline token (no expiry, no refresh token) is used for a year without any "
    "refresh attempt."))
def test_perpetual_token(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant(expiring=False)
    kit.phase("a year of calls with a non-expiring token")
    calls = []
    for _ in range(5):
        calls.append(kit.call())
        kit.advance(91 * DAY)
    calls.append(kit.call())
    kit.check_calls_ok(calls, "calls with a non-expiring token")
    attempts = refresh_attempts(kit)
    kit.check(not attempts, f"{len(attempts)} refresh attempt(s) for a token that does not "
                            f"expire: {describe(attempts)}")


@scenario(12, "clock-skew", profile=OAUTH_EXPIRING, covers=(11,), rule=(
    "The server's clock runs two minutes ahead of the client's, and the stored expiry was "
    "written by a machine whose clock agrees with the server: every call still succeeds."))
def test_clock_skew(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.skew_server(120)
    kit.note("the server clock runs 120 s ahead of the client's; the stored expires_at was "
             "computed with the server's clock (e.g. by the web process that did the OAuth "
             "callback)")
    kit.oauth_grant(stored_by_server_clock=True)
    expires = float(kit.storage["expires_at"])
    kit.phase("calls around the expiry with the server two minutes ahead")
    calls = []
    for offset in range(-600, 301, 30):
        kit.advance_to(expires + offset)
        calls.append(kit.call())
    kit.check_calls_ok(calls, "calls with the server clock two minutes ahead")
