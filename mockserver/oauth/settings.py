"""Token lifetimes and the refresh policy, server-wide and per partner app.

The effective value of a key is the app's override, else the server's, else the default, so a
test can ask one app for 5-second tokens without touching the others.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mockserver.errors import ValidationFailed
from mockserver.oauth.models import Policy

DAY = 86_400
#: Longest lifetime a setting accepts: ten years.
MAX_SECONDS = 10 * 365 * DAY


@dataclass(frozen=True)
class OAuthSettings:
    #: Seed 004: offline access tokens expire after 60 minutes.
    access_token_ttl: int = 3600
    #: Seed 004: refresh tokens live 90 days.
    refresh_token_ttl: int = 90 * DAY
    #: RFC 6749 §4.1.2 recommends at most 10 minutes.
    authorization_code_ttl: int = 600
    #: Seed 004 (2026 rule): the previous refresh token stays usable at most 30 days.
    grace_cap: int = 30 * DAY
    #: Client-credentials tokens: 24 hours (reported by users, unconfirmed).
    client_credentials_ttl: int = DAY
    refresh_policy: str = Policy.GRACE.value

    @property
    def policy(self) -> Policy:
        return Policy(self.refresh_policy)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


DEFAULTS = OAuthSettings()
KEYS = tuple(DEFAULTS.to_wire())


def validate_overrides(raw: Any) -> dict[str, Any]:
    """A JSON object of known keys: lifetimes are whole seconds from 1 to ten years, the
    policy one of grace, strict, reuse-detection; `null` removes an override."""
    if not isinstance(raw, dict):
        raise ValidationFailed("The JSON body must be an object.")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            raise ValidationFailed(f"Unknown setting '{key}'; known: {', '.join(KEYS)}.",
                                   field=key)
        if value is None:
            continue
        if key == "refresh_policy":
            if value not in tuple(p.value for p in Policy):
                raise ValidationFailed(
                    "'refresh_policy' must be one of: "
                    + ", ".join(p.value for p in Policy) + ".", field=key)
        elif isinstance(value, bool) or not isinstance(value, int) or not (
                1 <= value <= MAX_SECONDS):
            raise ValidationFailed(f"'{key}' must be a whole number of seconds from 1 to "
                                   f"{MAX_SECONDS}.", field=key)
        out[key] = value
    return out


def merge(*layers: Mapping[str, Any]) -> OAuthSettings:
    values = DEFAULTS.to_wire()
    for layer in layers:
        values.update({k: v for k, v in layer.items() if k in KEYS})
    return OAuthSettings(**values)


def server_overrides(conn: sqlite3.Connection) -> dict[str, Any]:
    row = conn.execute("SELECT settings FROM oauth_server_settings WHERE id = 1").fetchone()
    loaded: dict[str, Any] = json.loads(row[0]) if row else {}
    return loaded


def save_server_overrides(conn: sqlite3.Connection, overrides: dict[str, Any]) -> None:
    conn.execute("INSERT INTO oauth_server_settings(id, settings) VALUES (1, ?) "
                 "ON CONFLICT(id) DO UPDATE SET settings = excluded.settings",
                 (json.dumps(overrides, sort_keys=True),))


def partner_overrides(conn: sqlite3.Connection, partner_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT settings FROM partners WHERE id = ?", (partner_id,)).fetchone()
    stored: dict[str, Any] = json.loads(row[0] or "{}") if row else {}
    return {k: v for k, v in stored.items() if k in KEYS}


def save_partner_overrides(conn: sqlite3.Connection, partner_id: str,
                           overrides: dict[str, Any]) -> None:
    """Replaces the app's OAuth keys in its settings document, keeping any other keys."""
    row = conn.execute("SELECT settings FROM partners WHERE id = ?", (partner_id,)).fetchone()
    stored: dict[str, Any] = json.loads(row[0] or "{}") if row else {}
    kept = {k: v for k, v in stored.items() if k not in KEYS}
    kept.update(overrides)
    conn.execute("UPDATE partners SET settings = ? WHERE id = ?",
                 (json.dumps(kept, sort_keys=True), partner_id))


def effective(conn: sqlite3.Connection, partner_id: str) -> OAuthSettings:
    return merge(server_overrides(conn), partner_overrides(conn, partner_id))
