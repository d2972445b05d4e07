"""authlib's ``OAuth2Session`` (``authlib.integrations.requests_client``) under the kit.

The adapter hands authlib the stored token and the token endpoint and saves what authlib
reports through ``update_token``; refreshing is authlib's own (``leeway`` 60 s by default).
Verdicts: ``conformance/xfail/authlib.yaml``.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.requests_client import OAuth2Session

from conformance.adapters import SessionClient, save_token, stored_token
from conformance.config import Config


class AuthlibClient(SessionClient):
    def __init__(self, config: Config) -> None:
        super().__init__(config)
        token = stored_token(config)
        self.session = OAuth2Session(
            client_id=config.client_id, client_secret=config.client_secret, token=token,
            token_endpoint=config.token_url, update_token=self._save)

    def _save(self, token: dict[str, Any], refresh_token: str | None = None,
              access_token: str | None = None) -> None:
        save_token(self.config, token, refresh_token)


def factory(config: Config) -> AuthlibClient:
    return AuthlibClient(config)


factory.profiles = {"oauth-expiring"}  # type: ignore[attr-defined]
