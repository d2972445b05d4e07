"""What every grant handler gets, and the two ways it can fail: a plain `OAuthError` rolls the
transaction back (bad input changes nothing); `Refused` commits what the handler recorded
(the rejection event, a family revoked for code or token reuse) and then answers the error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mockserver.errors import OAuthError, OAuthInvalidRequest
from mockserver.models import Partner
from mockserver.oauth.families import Where
from mockserver.oauth.settings import OAuthSettings
from mockserver.tenants import Tenants


class Refused(Exception):  # noqa: N818 - a control-flow signal, not an error type
    def __init__(self, error: OAuthError) -> None:
        super().__init__(error.description)
        self.error = error


@dataclass(frozen=True)
class GrantContext:
    where: Where
    client: Partner
    params: Mapping[str, str]
    settings: OAuthSettings
    tenants: Tenants

    def require(self, name: str) -> str:
        value = self.params.get(name)
        if value is None or not value.strip():
            raise OAuthInvalidRequest(f"The '{name}' parameter is required.", parameter=name)
        return value

    def flag(self, name: str) -> bool:
        """The platform's `expiring` flag: 1/0 (true/false accepted); absent is 0."""
        value = self.params.get(name)
        if value is None:
            return False
        normal = value.strip().lower()
        if normal in ("1", "true"):
            return True
        if normal in ("0", "false"):
            return False
        raise OAuthInvalidRequest(f"'{name}' must be 1 or 0.", parameter=name)
