"""authlib's ``OAuth2Session`` (``authlib.integrations.requests_client``) under the kit.

The adapter hands authlib the stored token and the token endpoint and saves what authlib
reports through ``update_token``; refreshing is authlib's own (``leeway`` 60 s by default).
Verdicts: ``conformance/xfail/authlib.yaml``.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.requests_client import OAuth2Session

from conformance.adapters import save_token
from conformance.config import Config

TIMEOUT = 10


class AuthlibClient:
    def __init__(self, config: Config) -> None:
        self.config = config
        stored = config.storage
        token: dict[str, Any] = {"access_token": stored["access_token"], "token_type": "Bearer"}
        if stored.get("refresh_token"):
            token["refresh_token"] = stored["refresh_token"]
        if stored.get("expires_at") is not None:
            token["expires_at"] = stored["expires_at"]
        self.session = OAuth2Session(
            client_id=config.client_id, client_secret=config.client_secret, token=token,
            token_endpoint=config.token_url, update_token=self._save)

    def _save(self, token: dict[str, Any], refresh_token: str | None = None,
              access_token: str | None = None) -> None:
        save_token(self.config, token, refresh_token)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.request(method, self.config.base_url + path, timeout=TIMEOUT,
                                    **kwargs)

    def close(self) -> None:
        self.session.close()


def factory(config: Config) -> AuthlibClient:
    return AuthlibClient(config)


factory.profiles = {"oauth-expiring"}  # type: ignore[attr-defined]
