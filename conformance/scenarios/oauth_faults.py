"""A token endpoint that fails transiently or loses its response (PLATFORMS.md §5 items 13,
14): keep the refresh token, honour Retry-After, retry with the stored refresh token."""

from __future__ import annotations

from conformance.config import OAUTH_EXPIRING
from conformance.harness import Kit
from conformance.scenarios import scenario
from conformance.scenarios._oauth import describe, refresh_attempts, refreshes

RETRY_AFTER = 30


@scenario(8, "transient-token-endpoint", profile=OAUTH_EXPIRING, covers=(14,), rule=(
    "The token endpoint answers 503, then 429 with Retry-After: the client keeps its refresh "
    "token, waits as told before retrying, and succeeds once the fault clears."))
def test_transient_token_endpoint(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant()
    kit.check_calls_ok([kit.call()], "a call with a fresh token")

    kit.phase("the token endpoint answers 503")
    kit.advance_to(float(kit.storage["expires_at"]) + 60)
    kept = kit.storage.get("refresh_token")
    kit.fault(kind="token_endpoint_error", status=503, count=1)
    first = kit.call()
    if not first.ok:
        kit.check(kit.storage.get("refresh_token") == kept,
                  "after a 503 from the token endpoint the stored refresh token was dropped "
                  "or changed")
    else:
        kit.advance_to(float(kit.storage["expires_at"]) + 60)

    kit.phase("the token endpoint answers 429 with Retry-After")
    kept = kit.storage.get("refresh_token")
    kit.fault(kind="token_endpoint_error", status=429, count=1, retry_after=RETRY_AFTER)
    second = kit.call()
    attempts = refresh_attempts(kit)
    fired = [e for e in attempts if e["kind"] == "fault.fired"]
    later = [e for e in attempts if fired and e["id"] > fired[0]["id"]]
    if fired and later:
        waited = float(later[0]["at_epoch"]) - float(fired[0]["at_epoch"])
        kit.check(waited >= RETRY_AFTER - 1,
                  f"the client retried {waited:.1f} s after a 429 with Retry-After: "
                  f"{RETRY_AFTER}")
    if not second.ok:
        kit.check(kit.storage.get("refresh_token") == kept,
                  "after a 429 from the token endpoint the stored refresh token was dropped "
                  "or changed")

    kit.phase("the fault has cleared")
    kit.clear_faults()
    kit.advance(RETRY_AFTER)
    kit.check_calls_ok([kit.call()], "the call after the fault cleared")
    attempts = refresh_attempts(kit, whole=True)
    kit.check(len(attempts) <= 12, f"{len(attempts)} token endpoint requests in all "
                                   "(hammering the endpoint)")
    kit.check(not kit.events("oauth.refresh.rejected", whole=True),
              f"a refresh was refused: {describe(kit.events('oauth.refresh.rejected'))}")


@scenario(9, "lost-refresh-response", profile=OAUTH_EXPIRING, covers=(13,), rule=(
    "The server processes a refresh but the response is lost: the client retries with its "
    "stored refresh token (the grace rule allows it) and succeeds, in that call or the next."))
def test_lost_refresh_response(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant()
    kit.check_calls_ok([kit.call()], "a call with a fresh token")
    kit.advance_to(float(kit.storage["expires_at"]) + 60)

    kit.phase("the refresh response is lost")
    kit.fault(kind="drop_refresh_response", count=1)
    first = kit.call()
    if not first.ok:
        kit.advance(1)
        second = kit.call()
        kit.check(second.ok, f"the client did not recover from a lost refresh response: "
                             f"{first.describe()}, then {second.describe()}")
    kit.check(not kit.events("oauth.refresh.rejected"),
              f"a refresh was refused: {describe(kit.events('oauth.refresh.rejected'))}")
    kit.check(len(refreshes(kit)) >= 2, "the client never retried the refresh")

    kit.phase("the next refresh")
    kit.advance_to(float(kit.storage["expires_at"]) + 60)
    kit.check_calls_ok([kit.call()], "the call that needs the next refresh")
    kit.check(not kit.events("oauth.refresh.rejected"),
              "the refresh token kept after the lost response was refused")
