"""Refreshing: on a 401, giving up on a dead grant, keeping the rotated pair, surviving a
restart, one refresh for many threads (PLATFORMS.md §3, §4, §5 items 2-6, 8, 12)."""

from __future__ import annotations

import threading

from conformance.config import OAUTH_EXPIRING
from conformance.harness import Call, Kit
from conformance.scenarios import scenario
from conformance.scenarios._oauth import (
    describe,
    expired_rejections,
    refresh_attempts,
    refreshes,
)


@scenario(2, "refresh-on-401", profile=OAUTH_EXPIRING, covers=(2, 8), rule=(
    "The server invalidates the access token early: the client's next call gets a 401, "
    "refreshes, retries once with the new access token and succeeds."))
def test_refresh_on_401(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant()
    kit.check_calls_ok([kit.call()], "a call with a fresh token")
    kit.advance(60)

    kit.phase("the access token is invalidated early")
    kit.server.control("POST", "/_mock/oauth/invalidate",
                       json={"access_token": kit.storage["access_token"]})
    call = kit.call()
    kit.check(call.ok, f"the call after the early invalidation failed: {call.describe()}")
    rejected = kit.events("oauth.access.rejected")
    done = refreshes(kit)
    kit.check(len(rejected) == 1, f"{len(rejected)} rejected calls (expected the one 401)")
    kit.check(len(done) == 1, f"{len(done)} refreshes (expected exactly one)")
    used = kit.events("oauth.access.used")
    new_access = done[0]["detail"].get("access_token_id")
    kit.check(bool(used) and used[-1]["token_id"] == new_access,
              "the retry did not use the new access token")
    kit.check_calls_ok([kit.call()], "the next call")


@scenario(3, "bounded-retry", profile=OAUTH_EXPIRING, covers=(3, 14), rule=(
    "The grant is revoked, so refresh answers invalid_grant: the client makes at most one "
    "refresh attempt per call and gives up (raises or returns the failure); no loop."))
def test_bounded_retry(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant()
    kit.check_calls_ok([kit.call()], "a call with a fresh token")

    kit.phase("the merchant revokes the authorization")
    kit.server.control("POST", "/_mock/oauth/revoke-authorization",
                       json={"store_id": kit.store_id, "client_id": kit.config.client_id,
                             "by": "merchant"})
    first = kit.call()
    kit.check(not first.ok, f"a call succeeded after the revocation: {first.describe()}")
    attempts = refresh_attempts(kit)
    kit.check(len(attempts) <= 1, f"{len(attempts)} refresh attempts in one call (at most 1): "
                                  f"{describe(attempts)}")
    rejected = kit.events("oauth.access.rejected")
    kit.check(len(rejected) <= 2, f"{len(rejected)} calls with the dead access token in one "
                                  "call (at most 2)")
    second = kit.call()
    kit.check(not second.ok, f"a second call succeeded: {second.describe()}")
    attempts = refresh_attempts(kit)
    kit.check(len(attempts) <= 2, f"{len(attempts)} refresh attempts in two calls (at most 1 "
                                  "per call)")


@scenario(4, "rotation-persisted", profile=OAUTH_EXPIRING, covers=(6, 12), rule=(
    "After a refresh the storage holds the new refresh token and an absolute expiry; the next "
    "refresh uses the new refresh token."))
def test_rotation_persisted(conformance_kit: Kit) -> None:
    kit = conformance_kit
    grant = kit.oauth_grant()
    first_refresh_token = grant["refresh_token"]
    ttl = float(grant["expires_in"])
    kit.check_calls_ok([kit.call()], "a call with a fresh token")

    kit.phase("the first refresh")
    kit.advance_to(float(kit.storage["expires_at"]) + 60)
    kit.check_calls_ok([kit.call()], "the call that needs a refresh")
    done = refreshes(kit)
    kit.check(len(done) == 1, f"{len(done)} refreshes (expected one)")
    stored = kit.storage.get("refresh_token")
    kit.check(bool(stored) and stored != first_refresh_token,
              "the storage does not hold the rotated refresh token")
    expires_at = kit.storage.get("expires_at")
    expected = float(done[0]["at_epoch"]) + ttl
    kit.check(isinstance(expires_at, int | float) and abs(float(expires_at) - expected) <= 600,
              f"the stored expires_at {expires_at!r} is not the absolute expiry "
              f"(about {expected:.0f})")
    generation = done[0]["detail"].get("new_generation")

    kit.phase("the second refresh")
    kit.advance_to(expected + 60)
    kit.check_calls_ok([kit.call()], "the call that needs a second refresh")
    rejected = kit.events("oauth.refresh.rejected")
    kit.check(not rejected, f"a refresh was refused: {describe(rejected)}")
    second = refreshes(kit)
    kit.check(len(second) == 1, f"{len(second)} refreshes (expected one)")
    detail = second[0]["detail"]
    kit.check(detail.get("generation_used") == generation and not detail.get("retired"),
              f"the second refresh used refresh token generation {detail.get('generation_used')}"
              f", not the rotated one ({generation})")


@scenario(5, "restart", profile=OAUTH_EXPIRING, covers=(6, 12), rule=(
    "A client rebuilt from storage after a rotation works without re-authorization, and an "
    "expired stored access token is not taken for fresh."))
def test_restart(conformance_kit: Kit) -> None:
    kit = conformance_kit
    grant = kit.oauth_grant()
    ttl = float(grant["expires_in"])
    kit.check_calls_ok([kit.call()], "a call with a fresh token")
    kit.advance_to(float(kit.storage["expires_at"]) + 60)
    kit.check_calls_ok([kit.call()], "the call that needs a refresh")

    kit.phase("restart after the rotation")
    kit.restart()
    kit.check_calls_ok([kit.call()], "the first call after the restart")
    kit.check(not kit.events("oauth.refresh.rejected"),
              "a refresh after the restart was refused (stale refresh token restored?)")

    kit.phase("restart with an expired stored access token")
    kit.advance(2 * ttl)
    kit.restart()
    kit.check_calls_ok([kit.call()], "the first call after a restart with an expired token")
    stale = expired_rejections(kit)
    kit.check(not stale, "the restored client sent its expired access token (took it for "
                         "fresh)")
    kit.check(not kit.events("oauth.refresh.rejected"), "a refresh was refused")


@scenario(6, "single-flight", profile=OAUTH_EXPIRING, covers=(4,), rule=(
    "Eight threads call at the moment of expiry: exactly one refresh, and every call "
    "succeeds."))
def test_single_flight(conformance_kit: Kit) -> None:
    kit = conformance_kit
    kit.oauth_grant()
    client = kit.client
    kit.check_calls_ok([kit.call()], "a call with a fresh token")
    kit.advance_to(float(kit.storage["expires_at"]) + 1)

    kit.phase("eight threads at the moment of expiry")
    barrier = threading.Barrier(8)
    results: list[Call] = []

    def worker() -> None:
        barrier.wait(timeout=10)
        results.append(kit.call(client=client))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    kit.check(len(results) == 8, f"only {len(results)} of 8 calls returned")
    kit.check_calls_ok(results, "concurrent calls at expiry")
    attempts = refresh_attempts(kit)
    kit.check(len(attempts) == 1, f"{len(attempts)} refresh requests for 8 concurrent calls "
                                  f"(expected exactly one): {describe(attempts)}")
