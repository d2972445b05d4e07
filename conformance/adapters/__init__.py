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
