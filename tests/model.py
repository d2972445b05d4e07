"""A plain-Python model of what the mock promises, independent of its code: given the same
sequence of actions it predicts every status code, error code and token status. The state
machine test (`test_state_machine.py`) runs both side by side.

Rules modelled (seeds 000-002): adding a partner issues a token valid for 365 days; renewal
of a valid, not yet renewed token issues a New successor valid 1..1826 days from now and marks
the original Renewed without touching its expiry; a token works through its expiry second and
fails one second later; revocation is immediate, all-or-nothing per request, and wins over
expiry; removing a partner revokes all its tokens for the store; the Starter plan has no API.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY = 86_400
DEFAULT_VALIDITY_DAYS = 365
MIN_VALIDITY_DAYS, MAX_VALIDITY_DAYS = 1, 5 * 365 + 1
EXPIRING_WINDOW = 30 * DAY


@dataclass(frozen=True)
class Outcome:
    """What the server must answer: a status code and, for errors, the wire error code."""

    status: int
    error: str | None = None


OK = Outcome(200)
CREATED = Outcome(201)


@dataclass
class Token:
    id: str
    store: str
    partner: str
    issued_at: int
    expires_at: int
    value: str
    predecessor: str | None = None
    successor: str | None = None
    first_used: bool = False
    revoked_by: str | None = None

    def status(self, now: int) -> str:
        if self.revoked_by is not None:
            return "revoked"
        if now > self.expires_at:
            return "expired"
        if self.successor is not None:
            return "renewed"
        if self.predecessor is not None and not self.first_used:
            return "new"
        return "active"

    def valid(self, now: int) -> bool:
        return self.status(now) not in ("revoked", "expired")

    def expiring(self, now: int) -> bool:
        return self.valid(now) and self.expires_at - now <= EXPIRING_WINDOW

    def expires_in(self, now: int) -> int:
        return max(0, self.expires_at - now)


@dataclass
class PartnerTokenModel:
    now: int
    #: store id -> has the API (not Starter)
    stores: dict[str, bool] = field(default_factory=dict)
    partners: set[str] = field(default_factory=set)
    #: (store, partner) pairs on the access list
    access: set[tuple[str, str]] = field(default_factory=set)
    tokens: dict[str, Token] = field(default_factory=dict)

    # --- time ---------------------------------------------------------------------------

    def advance(self, seconds: int) -> Outcome:
        self.now += seconds
        return OK

    # --- merchant and partner tools ------------------------------------------------------

    def add_partner(self, store: str, partner: str) -> Outcome:
        if not self.stores[store]:
            return Outcome(403, "plan_not_supported")
        if partner not in self.partners:
            return Outcome(404, "not_found")
        if (store, partner) in self.access:
            return Outcome(409, "partner_already_added")
        return CREATED

    def added(self, store: str, partner: str, token_id: str, value: str) -> Token:
        """Records the token the server issued for a successful `add_partner`."""
        self.access.add((store, partner))
        token = Token(token_id, store, partner, self.now,
                      self.now + DEFAULT_VALIDITY_DAYS * DAY, value)
        self.tokens[token_id] = token
        return token

    def visible(self, token_id: str, side: str, who: str) -> bool:
        """A merchant sees its store's tokens, a partner its own; anything else is 404."""
        token = self.tokens.get(token_id)
        if token is None:
            return False
        return (token.store if side == "merchant" else token.partner) == who

    def renew(self, token_id: str, side: str, who: str, days: int | None) -> Outcome:
        if days is not None and not MIN_VALIDITY_DAYS <= days <= MAX_VALIDITY_DAYS:
            return Outcome(400, "validation_error")
        if not self.visible(token_id, side, who):
            return Outcome(404, "not_found")
        if self.tokens[token_id].status(self.now) not in ("active", "new"):
            return Outcome(409, "token_not_renewable")
        return CREATED

    def renewed(self, original_id: str, days: int | None, token_id: str, value: str) -> Token:
        original = self.tokens[original_id]
        validity = (DEFAULT_VALIDITY_DAYS if days is None else days) * DAY
        token = Token(token_id, original.store, original.partner, self.now,
                      self.now + validity, value, predecessor=original_id)
        original.successor = token_id
        self.tokens[token_id] = token
        return token

    def revoke(self, token_ids: list[str], side: str, who: str) -> Outcome:
        if len(set(token_ids)) != len(token_ids):
            return Outcome(400, "validation_error")
        if not all(self.visible(t, side, who) for t in token_ids):
            return Outcome(404, "not_found")
        for token_id in token_ids:
            token = self.tokens[token_id]
            if token.revoked_by is None:
                token.revoked_by = side
        return OK

    def still_valid(self, token_ids: list[str]) -> set[str]:
        """The partners' other tokens that still work after a revocation (seed 001)."""
        pairs = {(self.tokens[t].store, self.tokens[t].partner) for t in token_ids}
        return {
            t.id for t in self.tokens.values()
            if (t.store, t.partner) in pairs and t.id not in token_ids and t.valid(self.now)
        }

    def remove_partner(self, store: str, partner: str) -> Outcome:
        if (store, partner) not in self.access:
            return Outcome(404, "not_found")
        self.access.discard((store, partner))
        for token in self.tokens.values():
            if token.store == store and token.partner == partner and token.revoked_by is None:
                token.revoked_by = "merchant"
        return OK

    # --- the store API ---------------------------------------------------------------------

    def call(self, token_id: str | None) -> Outcome:
        """A store API call with a token (None: a token the server never issued)."""
        token = self.tokens.get(token_id) if token_id is not None else None
        if token is None:
            return Outcome(401, "token_unknown")
        status = token.status(self.now)
        if status == "revoked":
            return Outcome(401, "token_revoked")
        if status == "expired":
            return Outcome(401, "token_expired")
        if not self.stores[token.store]:
            return Outcome(403, "plan_not_supported")
        token.first_used = True
        return OK
