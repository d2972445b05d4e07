"""Long-lived partner tokens: renewal cutover and revocation (PLATFORMS.md §1, §5 item 16).

How a client learns of a successor: responses made with a renewed token carry
``X-Token-Status: renewed``, ``X-Token-Successor-Id`` and ``Sunset``; the renewal notice lands
in the partner's mailbox (``GET /partner/v1/messages``, HTTP Basic with the client
credentials). In these scenarios the merchant renews with ``email_copy: true``, so the
mailbox also holds the successor's plaintext: a client that watches the headers (or the
mailbox) can switch without a human.
"""

from __future__ import annotations

from conformance.config import PARTNER_TOKEN
from conformance.harness import Kit
from conformance.scenarios import scenario

DAY = 86_400


@scenario(13, "renewal-cutover", profile=PARTNER_TOKEN, covers=(16, 8, 9), rule=(
    "The merchant renews the token 30 days before it expires: the client switches to the "
    "successor before the original expires, so one second after expiry every call succeeds "
    "and no call after expiry uses the original."))
def test_renewal_cutover(conformance_kit: Kit) -> None:
    kit = conformance_kit
    original = kit.partner_token()
    expires = float(kit.storage["partner_token_expires_at"])
    kit.check_calls_ok([kit.call()], "a call with a fresh partner token")

    kit.advance_to(expires - 30 * DAY)
    kit.phase("the merchant renews 30 days before expiry")
    renewed = kit.merchant("POST", f"/tokens/{original['id']}/renew", json={"email_copy": True})
    successor = renewed["token"]["id"]
    calls = []
    for _ in range(10):
        calls.append(kit.call())
        kit.advance(3 * DAY - 3600)
    kit.advance_to(expires - 60)
    calls.append(kit.call())
    kit.check_calls_ok(calls, "calls during the last 30 days of the original")
    used_successor = kit.events("token.used", token_id=successor)
    kit.check(bool(used_successor),
              f"the client never used the successor {successor} before the original "
              f"{original['id']} expired")

    kit.phase("the client restarts, then the original expires")
    kit.restart()
    kit.advance_to(expires + 1)
    after = [kit.call(), kit.call("GET", "/api/v1/orders"), kit.call()]
    kit.check_calls_ok(after, "calls one second after the original expired")
    stale = [e for e in kit.events("token.*", token_id=original["id"])
             if e["kind"] in ("token.used", "token.rejected")]
    kit.check(not stale, f"{len(stale)} call(s) after expiry used the original token "
                         f"{original['id']}")


@scenario(14, "partner-token-revoked", profile=PARTNER_TOKEN, covers=(3, 14), rule=(
    "After the merchant revokes the token the client gives up: each call makes at most two "
    "attempts with the revoked token and fails (raises or returns the failure)."))
def test_partner_token_revoked(conformance_kit: Kit) -> None:
    kit = conformance_kit
    original = kit.partner_token()
    kit.check_calls_ok([kit.call()], "a call with a fresh partner token")

    kit.phase("the merchant revokes the token")
    kit.merchant("POST", "/tokens/revoke", json={"token_ids": [original["id"]]})
    first = kit.call()
    kit.check(not first.ok, f"a call with a revoked token succeeded: {first.describe()}")
    attempts = kit.events("token.rejected")
    kit.check(len(attempts) <= 2, f"the client tried the revoked token {len(attempts)} times "
                                  "in one call (at most 2)")
    kit.advance(60)
    second = kit.call()
    kit.check(not second.ok, f"a call with a revoked token succeeded: {second.describe()}")
    attempts = kit.events("token.rejected")
    kit.check(len(attempts) <= 4, f"the client tried the revoked token {len(attempts)} times "
                                  "in two calls (at most 2 per call)")
