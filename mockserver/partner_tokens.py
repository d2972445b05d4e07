"""Lifecycle rules of long-lived partner tokens (seeds 000-002). Plain Python: no Flask, no SQL.

Time is judged in whole seconds: a token is valid while `floor(now) <= expires_at`, so it
works throughout its expiry second and fails one second after. Its status is derived from its
stored facts and the current time, so nothing has to run when a token expires.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mockserver.errors import TokenExpired, TokenNotRenewable, TokenRevoked, ValidationFailed

DAY = 86_400
#: Seed 000: adding a partner issues a token valid for one year.
DEFAULT_VALIDITY_DAYS = 365
#: Seed 000: on renewal the new token's validity can be chosen from 1 day to 5 years.
MIN_VALIDITY_DAYS = 1
MAX_VALIDITY_DAYS = 5 * 365 + 1
#: The partner tool's Expiring Tokens tab lists tokens that expire within 30 days.
EXPIRING_WINDOW_DAYS = 30

TOKEN_PREFIX = "ptk"


class Status(StrEnum):
    ACTIVE = "active"
    NEW = "new"
    RENEWED = "renewed"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PartnerToken:
    id: str
    store_id: str
    partner_id: str
    issued_at: float
    expires_at: float
    issued_by: str
    predecessor_id: str | None = None
    successor_id: str | None = None
    renewed_at: float | None = None
    renewed_by: str | None = None
    first_used_at: float | None = None
    revoked_at: float | None = None
    revoked_by: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> PartnerToken:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def status(self, now: datetime) -> Status:
        """Revoked wins over expired, expired over renewed: the marker the merchant sees."""
        if self.revoked_at is not None:
            return Status.REVOKED
        if int(now.timestamp()) > self.expires_at:
            return Status.EXPIRED
        if self.successor_id is not None:
            return Status.RENEWED
        if self.predecessor_id is not None and self.first_used_at is None:
            return Status.NEW
        return Status.ACTIVE

    def is_valid(self, now: datetime) -> bool:
        return self.status(now) not in (Status.REVOKED, Status.EXPIRED)

    def is_expiring(self, now: datetime) -> bool:
        remaining = self.expires_at - now.timestamp()
        return self.is_valid(now) and remaining <= EXPIRING_WINDOW_DAYS * DAY


def check_usable(token: PartnerToken, now: datetime) -> Status:
    """Seed 001: a revoked token fails at once; seed 000: the original fails after its expiry.
    Returns the status of a token that may be used."""
    status = token.status(now)
    if status is Status.REVOKED:
        raise TokenRevoked("The access token was revoked", token_id=token.id)
    if status is Status.EXPIRED:
        raise TokenExpired("The access token expired", token_id=token.id)
    return status


def check_renewable(token: PartnerToken, now: datetime) -> None:
    """A token that is expired, revoked or already renewed cannot be renewed."""
    status = token.status(now)
    if status in (Status.REVOKED, Status.EXPIRED, Status.RENEWED):
        raise TokenNotRenewable(
            f"Token {token.id} is {status.value} and cannot be renewed"
            + (f"; its successor is {token.successor_id}." if token.successor_id else "."),
            token_id=token.id, status=status.value,
        )


def validity_seconds(days: int | None) -> int:
    days = DEFAULT_VALIDITY_DAYS if days is None else days
    if not MIN_VALIDITY_DAYS <= days <= MAX_VALIDITY_DAYS:
        raise ValidationFailed(
            f"'validity_days' must be from {MIN_VALIDITY_DAYS} to {MAX_VALIDITY_DAYS} (5 years).",
            field="validity_days",
        )
    return days * DAY
