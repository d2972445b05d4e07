"""Adapters that put popular Python OAuth clients under the kit's contract, unchanged: each
keeps the library's own refresh behaviour and only maps the kit's storage to its token dict."""

from __future__ import annotations

from typing import Any

from conformance.config import Config


def save_token(config: Config, token: dict[str, Any], refresh_token: str | None = None) -> None:
    """Stores a library's token dict in the kit's storage keys, with absolute expiries."""
    refresh_in = token.get("refresh_token_expires_in")
    config.storage.update({
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token", refresh_token),
        "expires_at": token.get("expires_at"),
        "refresh_token_expires_at": config.now() + float(refresh_in) if refresh_in
        else config.storage.get("refresh_token_expires_at"),
    })


def stored_token(config: Config) -> dict[str, Any]:
    """The kit's storage as a library's token dict (the inverse of `save_token`)."""
    stored = config.storage
    token: dict[str, Any] = {"access_token": stored["access_token"], "token_type": "Bearer"}
    if stored.get("refresh_token"):
        token["refresh_token"] = stored["refresh_token"]
    if stored.get("expires_at") is not None:
        token["expires_at"] = stored["expires_at"]
    return token


class SessionClient:
    """What both adapters share: a library session that sends the kit's calls."""

    timeout = 10
    session: Any

    def __init__(self, config: Config) -> None:
        self.config = config

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.request(method, self.config.base_url + path, timeout=self.timeout,
                                    **kwargs)

    def close(self) -> None:
        self.session.close()
