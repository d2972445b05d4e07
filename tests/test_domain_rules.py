"""The lifecycle rules and the clock, alone: no Flask, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockserver.clock import Clock, ClockState
from mockserver.errors import TokenExpired, TokenNotRenewable, TokenRevoked, ValidationFailed
from mockserver.partner_tokens import (
    DAY,
    PartnerToken,
    Status,
    check_renewable,
    check_usable,
    validity_seconds,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def token(**changes: object) -> PartnerToken:
    base = PartnerToken(id="tok_1", store_id="s", partner_id="p", issued_at=T0.timestamp(),
                        expires_at=T0.timestamp() + 365 * DAY, issued_by="merchant")
    return PartnerToken(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_status_is_derived_from_facts_and_time() -> None:
    at = T0 + timedelta(days=10)
    assert token().status(at) is Status.ACTIVE
    assert token(predecessor_id="tok_0").status(at) is Status.NEW
    assert token(predecessor_id="tok_0", first_used_at=1.0).status(at) is Status.ACTIVE
    assert token(successor_id="tok_2").status(at) is Status.RENEWED
    assert token(successor_id="tok_2").status(T0 + timedelta(days=366)) is Status.EXPIRED
    assert token(revoked_at=1.0, successor_id="tok_2").status(T0 + timedelta(days=400)) is (
        Status.REVOKED)


def test_expiry_is_judged_in_whole_seconds() -> None:
    expiry = T0 + timedelta(days=365)
    check_usable(token(), expiry + timedelta(microseconds=999_999))
    with pytest.raises(TokenExpired):
        check_usable(token(), expiry + timedelta(seconds=1))


def test_revoked_is_reported_before_expired() -> None:
    with pytest.raises(TokenRevoked):
        check_usable(token(revoked_at=1.0), T0 + timedelta(days=500))


def test_only_a_valid_unrenewed_token_is_renewable() -> None:
    check_renewable(token(), T0)
    check_renewable(token(predecessor_id="tok_0"), T0)
    for bad in (token(successor_id="x"), token(revoked_at=1.0)):
        with pytest.raises(TokenNotRenewable):
            check_renewable(bad, T0)
    with pytest.raises(TokenNotRenewable):
        check_renewable(token(), T0 + timedelta(days=366))


@pytest.mark.parametrize("days", [0, -1, 1827, 10_000])
def test_validity_outside_one_day_to_five_years_is_refused(days: int) -> None:
    with pytest.raises(ValidationFailed):
        validity_seconds(days)


def test_validity_defaults_to_a_year() -> None:
    assert validity_seconds(None) == 365 * DAY
    assert validity_seconds(1) == DAY
    assert validity_seconds(1826) == 1826 * DAY


class MemoryClockStore:
    def __init__(self) -> None:
        self.states: dict[str, ClockState] = {}

    def load_clock(self, sandbox: str) -> ClockState:
        return self.states.get(sandbox, ClockState())

    def save_clock(self, sandbox: str, state: ClockState) -> None:
        self.states[sandbox] = state


def test_sandboxes_have_their_own_clocks() -> None:
    store = MemoryClockStore()
    a, b = Clock(store, "a"), Clock(store, "b")
    a.set(datetime(2040, 1, 1, tzinfo=UTC))
    assert a.now().year == 2040
    assert b.now().year < 2040


def test_frozen_clock_stands_still_and_advances_on_request() -> None:
    clock = Clock(MemoryClockStore())
    frozen = clock.freeze()
    assert clock.now() == frozen
    assert clock.advance(90 * DAY) == frozen + timedelta(days=90)
    running = clock.unfreeze()
    assert clock.now() >= running
    assert not clock.state().frozen
