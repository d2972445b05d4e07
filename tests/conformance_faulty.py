"""Purpose-built faulty clients: each is the reference client with one fault from
PLATFORMS.md §5, and `EXPECTED` names the scenarios that fault must fail (and no others)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from conformance import Config, ReauthorizationRequired
from conformance.reference_client import ReferenceClient

BOTH = {"oauth-expiring", "partner-token"}
OAUTH = {"oauth-expiring"}
PARTNER = {"partner-token"}


class ZeroMargin(ReferenceClient):
    """§5.1: refreshes only once the token has expired by its own clock."""

    def __init__(self, config: Config) -> None:
        super().__init__(config, margin=0)


class NoRetryOn401(ReferenceClient):
    """§5.2: never reacts to a 401."""

    def _oauth_request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._send(method, path, self._fresh_access_token(), **kwargs)


class LocalClockOnly(NoRetryOn401):
    """§5.11: judges expiry by its own clock only (60 s margin) and never reacts to a 401."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.margin = 60


class RetriesInvalidGrant(ReferenceClient):
    """§5.3/§5.14: takes invalid_grant for a passing problem and tries again."""

    def _token_request(self, refresh_token: str) -> dict[str, Any]:
        for _ in range(4):
            try:
                return super()._token_request(refresh_token)
            except ReauthorizationRequired:
                self.config.sleep(1)
        raise ReauthorizationRequired("refresh refused four times (invalid_grant)")

    def _refresh(self, stale: str | None) -> str:
        expires = self.storage.get("refresh_token_expires_at")
        self.storage["refresh_token_expires_at"] = None  # ignores the refresh token's expiry
        try:
            return super()._refresh(stale)
        finally:
            self.storage["refresh_token_expires_at"] = expires


class NoLock(ReferenceClient):
    """§5.4: every thread that sees an expired token refreshes it."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.lock = _NullLock()  # type: ignore[assignment]

    def _refresh(self, stale: str | None) -> str:
        return super()._refresh(stale=self.storage.get("access_token"))


class _NullLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class ForgetsRotation(ReferenceClient):
    """§5.6: saves the new access token but keeps the old refresh token."""

    def _token_request(self, refresh_token: str) -> dict[str, Any]:
        data = super()._token_request(refresh_token)
        return {**data, "refresh_token": refresh_token}


class RelativeExpiry(ReferenceClient):
    """§5.12: keeps `expires_in` in mind, not the absolute expiry: a restored token is taken
    for one just issued."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        if config.storage.get("access_token") and config.storage.get("expires_at"):
            config.storage["expires_at"] = config.now() + 3600


class RefreshesEveryCall(ReferenceClient):
    """§5.10: refreshes before every call."""

    def _fresh_access_token(self) -> str:
        if self.storage.get("refresh_token"):
            return self._refresh(stale=self.storage.get("access_token"))
        return super()._fresh_access_token()

    def _usable(self, stored: Any) -> bool:
        return False if stored.get("refresh_token") else super()._usable(stored)


class RefreshesPerpetual(ReferenceClient):
    """§5.10 for offline tokens: a token without expiry is taken as expired."""

    def _usable(self, stored: Any) -> bool:
        if stored.get("expires_at") is None:
            return False
        return super()._usable(stored)


class WipesOnTokenEndpointError(ReferenceClient):
    """§5.13/§5.14: any failure of the token endpoint (503, 429, lost response) is taken for a
    dead grant: the tokens are wiped and the call gives up."""

    def _token_request(self, refresh_token: str) -> dict[str, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": self.config.client_id, "client_secret": self.config.client_secret}
        try:
            response = self.http.post(self.config.token_url, data=form, timeout=10)
        except requests.ConnectionError:
            response = None
        if response is None or response.status_code != 200:
            for key in ("access_token", "refresh_token"):
                self.storage[key] = None
            raise ReauthorizationRequired("refresh failed: tokens discarded")
        data: dict[str, Any] = response.json()
        return data


class IgnoresRetryAfter(ReferenceClient):
    """§5.14: retries a 429 at once, whatever Retry-After says."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.config = Config(**{**config.__dict__, "sleep": lambda seconds: None})


class NeverReportsReauthorization(ReferenceClient):
    """§5.15: when the refresh token is dead it sends the expired access token anyway and hands
    back the 401, never saying that re-authorization is needed."""

    def _oauth_request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        self.storage["refresh_token_expires_at"] = None
        try:
            return super()._oauth_request(method, path, **kwargs)
        except ReauthorizationRequired:
            return self._send(method, path, str(self.storage["access_token"]), **kwargs)


class IgnoresSuccessor(ReferenceClient):
    """§5.16: keeps using the original partner token although a renewed successor exists."""

    def _successor_from_mailbox(self, successor_id: str | None) -> str | None:
        return None


class PartnerRetriesForever(ReferenceClient):
    """§5.3 for partner tokens: retries a refused token five times per call."""

    def _partner_request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        token = str(self.storage["partner_token"])
        response = self._send(method, path, token, **kwargs)
        for _ in range(4):
            if response.status_code != 401:
                break
            self.config.sleep(1)
            response = self._send(method, path, token, **kwargs)
        successor_id = response.headers.get("X-Token-Successor-Id")
        if response.headers.get("X-Token-Status") == "renewed" and successor_id:
            self._successor_from_mailbox(successor_id)
        return response


def _factory(cls: type[ReferenceClient], profiles: set[str]) -> Callable[[Config], Any]:
    def make(config: Config) -> ReferenceClient:
        return cls(config)

    make.profiles = profiles  # type: ignore[attr-defined]
    make.__doc__ = cls.__doc__
    return make


#: faulty client → the scenarios it must fail, and only those.
EXPECTED: dict[str, set[str]] = {
    "zero_margin": {"proactive-refresh"},
    "no_retry_on_401": {"refresh-on-401"},
    "local_clock_only": {"clock-skew", "refresh-on-401"},
    "retries_invalid_grant": {"bounded-retry", "refresh-token-expiry"},
    "no_lock": {"single-flight"},
    "forgets_rotation": {"rotation-persisted"},
    "relative_expiry": {"restart"},
    "refreshes_every_call": {"no-churn", "single-flight", "refresh-on-401"},
    "refreshes_perpetual": {"perpetual-token"},
    "wipes_on_token_endpoint_error": {"transient-token-endpoint", "lost-refresh-response"},
    "ignores_retry_after": {"transient-token-endpoint"},
    "never_reports_reauthorization": {"refresh-token-expiry"},
    "ignores_successor": {"renewal-cutover"},
    "partner_retries_forever": {"partner-token-revoked"},
}

zero_margin = _factory(ZeroMargin, OAUTH)
no_retry_on_401 = _factory(NoRetryOn401, OAUTH)
local_clock_only = _factory(LocalClockOnly, OAUTH)
retries_invalid_grant = _factory(RetriesInvalidGrant, OAUTH)
no_lock = _factory(NoLock, OAUTH)
forgets_rotation = _factory(ForgetsRotation, OAUTH)
relative_expiry = _factory(RelativeExpiry, OAUTH)
refreshes_every_call = _factory(RefreshesEveryCall, OAUTH)
refreshes_perpetual = _factory(RefreshesPerpetual, OAUTH)
wipes_on_token_endpoint_error = _factory(WipesOnTokenEndpointError, OAUTH)
ignores_retry_after = _factory(IgnoresRetryAfter, OAUTH)
never_reports_reauthorization = _factory(NeverReportsReauthorization, OAUTH)
ignores_successor = _factory(IgnoresSuccessor, PARTNER)
partner_retries_forever = _factory(PartnerRetriesForever, PARTNER)


