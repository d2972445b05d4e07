"""A plain-Python model of the mock's OAuth promises (README "Expiring offline tokens"),
independent of its code: given the same actions it predicts every status, error code and
`invalid_grant` reason. `test_oauth_state_machine.py` runs it beside the server.

Rules modelled (seeds 003, 004; RFC 6749, 7009, 9700):

- Consent (approve) records the app's authorization for the store (a new one after a
  revocation, else the active one takes the new scope) and hands out a one-time code valid
  10 minutes. A code used again is `invalid_grant` and revokes the tokens issued from it; an
  expired code, or one whose authorization was revoked since, is `invalid_grant`; a refused
  code stays unused.
- Code (`expiring=1`) and token exchange give an expiring offline family: an access token for
  60 minutes and a refresh token for 90 days. A new expiring family revokes the app's previous
  expiring families on that store; non-expiring tokens (`expiring=0`) and client-credentials
  tokens (24 h) are left alone. Token exchange is consent: it re-authorizes a revoked app.
- Refresh rotates: the presented token must belong to a family whose authorization is active
  (else `authorization_revoked`), that is not revoked (`refresh_token_revoked`), and be within
  its lifetime (`refresh_token_expired`; revocation wins over expiry). The family's current
  token is always accepted. A retired one: `strict` → `refresh_token_retired`;
  `reuse-detection` → `reuse_detected` and the family is revoked; `grace` → accepted while it
  is the parent of the current token (its replacement not yet used), it was used under `grace`
  (a token used under `strict` or `reuse-detection` retires for good), and at most 30 days
  after its own first use, never past its lifetime; each such retry hands out a new pair and
  supersedes the replacement handed out before. Every refresh revokes the family's earlier
  access tokens. A `scope` may narrow, never widen (`invalid_scope`, nothing changes).
- Revoking the authorization (merchant or platform) revokes every family of the app on the
  store: calls → 401 `authorization_revoked`, refreshes → `invalid_grant` with that reason;
  a second revocation is 404. RFC 7009: revoking a refresh token revokes its family, an access
  token only itself.
- On the store API a token works through its expiry second; the revoked authorization wins,
  then revocation, then expiry; a valid token without `read_orders` gets 403 on orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY = 86_400
ACCESS_TTL = 3600
REFRESH_TTL = 90 * DAY
GRACE_CAP = 30 * DAY
CODE_TTL = 600
CLIENT_CREDENTIALS_TTL = DAY
SCOPES = ("read_orders", "read_products", "write_inventory")
POLICIES = ("grace", "strict", "reuse-detection")


@dataclass(frozen=True)
class Outcome:
    """A status, the wire error code and, for `invalid_grant`, the `reason` (None: absent)."""

    status: int
    error: str | None = None
    reason: str | None = None


OK = Outcome(200)


def grant_error(reason: str | None = None) -> Outcome:
    return Outcome(400, "invalid_grant", reason)


@dataclass
class Authorization:
    store: str
    app: str
    scope: frozenset[str]
    revoked_by: str | None = None


@dataclass
class Code:
    value: str
    authorization: Authorization
    scope: frozenset[str]
    expires_at: int
    used: bool = False


@dataclass
class Family:
    store: str
    app: str
    authorization: Authorization
    #: "expiring" (offline with refresh), "offline" (non-expiring) or "client_credentials"
    kind: str
    scope: frozenset[str]
    code: Code | None = None
    revoked: bool = False
    current: Refresh | None = None


@dataclass
class Access:
    value: str
    family: Family
    scope: frozenset[str]
    expires_at: int | None
    revoked: bool = False

    def status(self, now: int) -> str:
        if self.family.authorization.revoked_by is not None:
            return "authorization_revoked"
        if self.revoked or self.family.revoked:
            return "revoked"
        if self.expires_at is not None and now > self.expires_at:
            return "expired"
        return "active"


@dataclass
class Refresh:
    value: str
    family: Family
    parent: Refresh | None
    expires_at: int
    first_used_at: int | None = None
    #: Used while `strict` or `reuse-detection` was in force: no grace window, ever.
    single_use: bool = False

    def grace_ends_at(self) -> int | None:
        if self.first_used_at is None:
            return None
        return min(self.first_used_at + GRACE_CAP, self.expires_at)


@dataclass
class OAuthModel:
    now: int
    policy: dict[str, str] = field(default_factory=dict)
    authorizations: list[Authorization] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    access: list[Access] = field(default_factory=list)
    refresh: list[Refresh] = field(default_factory=list)
    #: (store, app) pairs migrated to expiring tokens: no more non-expiring ones there
    migrated: set[tuple[str, str]] = field(default_factory=set)

    # --- time and settings -----------------------------------------------------------

    def advance(self, seconds: int) -> None:
        self.now += seconds

    def set_policy(self, app: str, policy: str) -> Outcome:
        self.policy[app] = policy
        return OK

    # --- authorizations ----------------------------------------------------------------

    def active_authorization(self, store: str, app: str) -> Authorization | None:
        for authorization in reversed(self.authorizations):
            if (authorization.store, authorization.app) == (store, app) and (
                    authorization.revoked_by is None):
                return authorization
        return None

    def consent(self, store: str, app: str, scope: frozenset[str]) -> Authorization:
        current = self.active_authorization(store, app)
        if current is not None:
            current.scope = scope
            return current
        authorization = Authorization(store, app, scope)
        self.authorizations.append(authorization)
        return authorization

    def approve(self, store: str, app: str, scope: frozenset[str], code: str) -> Code:
        """Records the code the server handed out for a consent."""
        issued = Code(code, self.consent(store, app, scope), scope, self.now + CODE_TTL)
        self.codes.append(issued)
        return issued

    def revoke_authorization(self, store: str, app: str, by: str) -> Outcome:
        authorization = self.active_authorization(store, app)
        if authorization is None:
            return Outcome(404, "not_found")
        authorization.revoked_by = by
        for family in self.families:
            if family.authorization is authorization:
                family.revoked = True
        return OK

    # --- grants ------------------------------------------------------------------------

    def exchange_code(self, code: Code, expiring: bool) -> Outcome:
        if code.used:
            for family in self.families:
                if family.code is code:
                    family.revoked = True
            return grant_error()
        if self.now > code.expires_at or code.authorization.revoked_by is not None:
            return grant_error()
        if not expiring and (code.authorization.store, code.authorization.app) in self.migrated:
            return Outcome(400, "invalid_request")
        return OK

    def mint(self, store: str, app: str, scope: frozenset[str], expiring: bool) -> Outcome:
        """The control API's shortcut: consent on the merchant's behalf, then a grant."""
        if not expiring and (store, app) in self.migrated:
            return Outcome(400, "validation_error")
        self.consent(store, app, scope)
        return OK

    def migrate(self, subject: Access) -> Outcome:
        """Token exchange of a non-expiring offline token for an expiring one: one-time and
        irreversible per store; every non-expiring token of the app there is revoked."""
        family = subject.family
        if family.kind != "offline":
            return Outcome(400, "invalid_subject_token")
        if family.authorization.revoked_by is not None:
            return Outcome(400, "invalid_subject_token", "authorization_revoked")
        if subject.status(self.now) != "active":
            return Outcome(400, "invalid_subject_token")
        self.migrated.add((family.store, family.app))
        for old in self.families:
            if (old.store, old.app, old.kind) == (family.store, family.app, "offline"):
                old.revoked = True
        return OK

    def session_exchange(self, store: str, app: str) -> Authorization:
        """Token exchange is consent: the scope is the active authorization's, else all."""
        current = self.active_authorization(store, app)
        return self.consent(store, app, current.scope if current else frozenset(SCOPES))

    def client_credentials(self, store: str, app: str) -> Outcome:
        if self.active_authorization(store, app) is None:
            return Outcome(400, "unauthorized_client")
        return OK

    def issue(self, authorization: Authorization, kind: str, scope: frozenset[str],
              access: str, refresh: str | None, code: Code | None = None) -> Family:
        """Records what a successful grant handed out."""
        store, app = authorization.store, authorization.app
        if code is not None:
            code.used = True
        if kind == "expiring":
            for old in self.families:
                if (old.store, old.app, old.kind) == (store, app, "expiring"):
                    old.revoked = True
        family = Family(store, app, authorization, kind, scope, code)
        self.families.append(family)
        ttl = {"expiring": ACCESS_TTL, "offline": None,
               "client_credentials": CLIENT_CREDENTIALS_TTL}[kind]
        self.access.append(Access(access, family, scope,
                                  None if ttl is None else self.now + ttl))
        if kind == "expiring":
            assert refresh is not None
            family.current = Refresh(refresh, family, None, self.now + REFRESH_TTL)
            self.refresh.append(family.current)
        return family

    def judge_refresh(self, token: Refresh, scope: frozenset[str] | None) -> Outcome:
        family = token.family
        if family.authorization.revoked_by is not None:
            return grant_error("authorization_revoked")
        if family.revoked:
            return grant_error("refresh_token_revoked")
        if self.now > token.expires_at:
            return grant_error("refresh_token_expired")
        if scope is not None and not scope <= family.scope:
            return Outcome(400, "invalid_scope")
        outcome = self.verdict(token)
        if outcome.reason == "reuse_detected":
            family.revoked = True
        return outcome

    def verdict(self, token: Refresh) -> Outcome:
        """The policy's word on a live refresh token of a live family (no side effects)."""
        family = token.family
        if token is family.current:
            return OK
        policy = self.policy.get(family.app, "grace")
        if policy == "reuse-detection":
            return grant_error("reuse_detected")
        ends = token.grace_ends_at()
        if (policy == "grace" and family.current is not None
                and family.current.parent is token and not token.single_use
                and ends is not None and self.now <= ends):
            return OK
        return grant_error("refresh_token_retired")

    def refreshed(self, token: Refresh, scope: frozenset[str] | None, access: str,
                  refresh: str) -> None:
        """Records a successful refresh: the family's earlier access tokens are revoked."""
        family = token.family
        if token.first_used_at is None:
            token.first_used_at = self.now
        if token is family.current and self.policy.get(family.app, "grace") != "grace":
            token.single_use = True
        for earlier in self.access:
            if earlier.family is family:
                earlier.revoked = True
        self.access.append(Access(access, family, family.scope if scope is None else scope,
                                  self.now + ACCESS_TTL))
        family.current = Refresh(refresh, family, token, self.now + REFRESH_TTL)
        self.refresh.append(family.current)

    # --- RFC 7009 -----------------------------------------------------------------------

    def revoke_token(self, value: str, app: str) -> Outcome:
        for access in self.access:
            if access.value == value:
                if access.family.app != app:
                    return grant_error()
                access.revoked = True
                return OK
        for refresh in self.refresh:
            if refresh.value == value:
                if refresh.family.app != app:
                    return grant_error()
                refresh.family.revoked = True
                return OK
        return OK

    def introspect(self, token: Access | Refresh, app: str) -> bool:
        """RFC 7662 `active`: a live token of the asking app; a refresh token only while a
        refresh with it would succeed."""
        family = token.family
        if family.app != app or family.revoked or family.authorization.revoked_by is not None:
            return False
        if isinstance(token, Access):
            return token.status(self.now) == "active"
        return self.now <= token.expires_at and self.verdict(token).status == 200

    # --- the store API -----------------------------------------------------------------

    def call_orders(self, access: Access) -> Outcome:
        status = access.status(self.now)
        if status == "authorization_revoked":
            return Outcome(401, "authorization_revoked")
        if status == "revoked":
            return Outcome(401, "token_revoked")
        if status == "expired":
            return Outcome(401, "token_expired")
        if "read_orders" not in access.scope:
            return Outcome(403, "insufficient_scope")
        return OK
