"""The reference client: a small store API client that passes every scenario of the kit.
Copy it into your integration and replace the storage with your database.

What it does, and why (PLATFORMS.md §3 and §5):

- Keeps the absolute expiry (``expires_at``, epoch seconds), never ``expires_in``, so a
  token restored after a restart is judged correctly.
- Refreshes proactively, ``margin`` seconds (default 5 minutes) before the expiry, which also
  absorbs clock skew between client and server.
- On a 401 it refreshes once and retries once; never more.
- One refresh at a time: a lock per storage, and after taking it, a re-read of the storage
  (another thread may have refreshed meanwhile). Across processes, use a lock in your
  storage (e.g. a row lock) the same way.
- Stores the rotated pair in one update, with the new absolute expiries.
- Tells transient token-endpoint failures (5xx, 429, connection lost) from a dead grant:
  retries those a few times with backoff, honouring ``Retry-After``, with the refresh token
  it has stored (the platform's grace rule accepts it again if the previous response was
  lost); on ``invalid_grant`` it stops and raises ``ReauthorizationRequired``.
- Waits through ``config.sleep`` so the kit (or a test) controls time.
- Partner tokens: watches ``X-Token-Status: renewed`` / ``X-Token-Successor-Id`` on every
  response; when the token has a successor it reads the partner mailbox
  (``GET /partner/v1/messages``) for the copy the merchant e-mailed, and switches to it at
  once, storing it before using it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

import requests

from conformance.adapter import ReauthorizationRequired, TemporarilyUnavailable
from conformance.config import OAUTH_EXPIRING, Config

#: HTTP timeout for every request (seconds).
TIMEOUT = 10
PARTNER_TOKEN_RE = re.compile(r"\b(ptk_[A-Za-z0-9_\-]+)")
VALID_UNTIL_RE = re.compile(r"valid until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")

_locks: dict[int, threading.RLock] = {}
_locks_guard = threading.Lock()


def storage_lock(storage: MutableMapping[str, Any]) -> threading.RLock:
    """One lock per storage object, shared by every client instance in this process."""
    with _locks_guard:
        return _locks.setdefault(id(storage), threading.RLock())


class ReferenceClient:
    def __init__(self, config: Config, *, margin: float = 300.0, max_attempts: int = 4,
                 session: requests.Session | None = None) -> None:
        self.config = config
        self.storage = config.storage
        self.margin = margin
        self.max_attempts = max_attempts
        self.http = session or requests.Session()
        self.lock = storage_lock(self.storage)
        self._mailbox_checked_for: str | None = None

    # --- the one public method ------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self.config.profile == OAUTH_EXPIRING:
            return self._oauth_request(method, path, **kwargs)
        return self._partner_request(method, path, **kwargs)

    def close(self) -> None:
        self.http.close()

    # --- OAuth with expiring access tokens --------------------------------------------------

    def _oauth_request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        token = self._fresh_access_token()
        response = self._send(method, path, token, **kwargs)
        if response.status_code == 401 and self.storage.get("refresh_token"):
            token = self._refresh(stale=token)
            response = self._send(method, path, token, **kwargs)
        return response

    def _fresh_access_token(self) -> str:
        if self._usable(self.storage):
            return str(self.storage["access_token"])
        return self._refresh(stale=self.storage.get("access_token"))

    def _usable(self, stored: MutableMapping[str, Any]) -> bool:
        if not stored.get("access_token"):
            return False
        expires_at = stored.get("expires_at")
        return expires_at is None or self.config.now() < float(expires_at) - self.margin

    def _refresh(self, stale: str | None) -> str:
        """Single flight: whoever holds the lock refreshes; the others find a new token."""
        with self.lock:
            current = self.storage.get("access_token")
            if current and current != stale and self._usable(self.storage):
                return str(current)
            refresh_token = self.storage.get("refresh_token")
            if not refresh_token:
                raise ReauthorizationRequired("no refresh token: authorize the app again")
            expires = self.storage.get("refresh_token_expires_at")
            if expires is not None and self.config.now() >= float(expires):
                raise ReauthorizationRequired("the refresh token expired: authorize again")
            data = self._token_request(str(refresh_token))
            now = self.config.now()
            refresh_in = data.get("refresh_token_expires_in")
            self.storage.update({  # the pair and its expiries, in one update
                "access_token": data["access_token"],
                "refresh_token": data.get("refresh_token", refresh_token),
                "expires_at": now + float(data["expires_in"]) if data.get("expires_in")
                else None,
                "refresh_token_expires_at": now + float(refresh_in) if refresh_in
                else self.storage.get("refresh_token_expires_at"),
            })
            return str(data["access_token"])

    def _token_request(self, refresh_token: str) -> dict[str, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": self.config.client_id, "client_secret": self.config.client_secret}
        delay = 1.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.http.post(self.config.token_url, data=form, timeout=TIMEOUT)
            except requests.ConnectionError:
                response = None  # lost response: retry with the same stored refresh token
            if response is not None and response.status_code == 200:
                data: dict[str, Any] = response.json()
                return data
            if response is not None and response.status_code < 500 \
                    and response.status_code != 429:
                error = _error_code(response)
                raise ReauthorizationRequired(
                    f"refresh refused ({response.status_code} {error}): authorize the app again")
            if attempt == self.max_attempts:
                break
            wait = _retry_after(response) if response is not None else None
            self.config.sleep(wait if wait is not None else delay)
            delay = min(delay * 2, 60.0)
        raise TemporarilyUnavailable("the token endpoint keeps failing; the stored tokens are "
                                     "kept for the next attempt")

    # --- long-lived partner tokens ------------------------------------------------------------

    def _partner_request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        token = str(self.storage["partner_token"])
        response = self._send(method, path, token, **kwargs)
        if response.status_code == 401:
            # Perhaps renewed while we were not looking: one look in the mailbox, one retry.
            successor = self._successor_from_mailbox(None)
            if successor is None:
                raise ReauthorizationRequired(
                    f"the partner token was refused ({_error_code(response)}): ask the "
                    "merchant to renew it or re-add the partner")
            response = self._send(method, path, successor, **kwargs)
            return response
        successor_id = response.headers.get("X-Token-Successor-Id")
        if response.headers.get("X-Token-Status") == "renewed" and successor_id:
            self._successor_from_mailbox(successor_id)
        return response

    def _successor_from_mailbox(self, successor_id: str | None) -> str | None:
        """Switch to the newest token copy in the mailbox (the one named, if given)."""
        if successor_id is not None and self._mailbox_checked_for == successor_id:
            return None  # looked already; the merchant has not e-mailed a copy
        self._mailbox_checked_for = successor_id
        response = self.http.get(self.config.mailbox_url, timeout=TIMEOUT,
                                 auth=(self.config.client_id, self.config.client_secret))
        if response.status_code != 200:
            return None
        for message in reversed(response.json().get("messages", [])):
            if successor_id is not None and message.get("token_id") != successor_id:
                continue
            if message.get("recipient", {}).get("id") is None:
                continue
            found = PARTNER_TOKEN_RE.search(message.get("body", ""))
            if not found or found.group(1) == self.storage.get("partner_token"):
                continue
            until = VALID_UNTIL_RE.search(message.get("body", ""))
            with self.lock:
                self.storage.update({
                    "partner_token": found.group(1),
                    "partner_token_expires_at": _epoch(until.group(1)) if until else None,
                })
            return found.group(1)
        return None

    # --- plumbing ---------------------------------------------------------------------------

    def _send(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.config.base_url + path, timeout=TIMEOUT,
                                 headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _error_code(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def factory(config: Config) -> ReferenceClient:
    """``--conformance-client conformance.reference_client:factory``"""
    return ReferenceClient(config)


factory.profiles = {"oauth-expiring", "partner-token"}  # type: ignore[attr-defined]
