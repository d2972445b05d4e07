"""What a client factory is given: where the mock is, whose credentials to use, and the
mutable storage the client keeps its current credentials in."""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

OAUTH_EXPIRING = "oauth-expiring"
PARTNER_TOKEN = "partner-token"
PROFILES = (OAUTH_EXPIRING, PARTNER_TOKEN)


def _real_sleep(seconds: float) -> None:
    time.sleep(seconds)


@dataclass
class Config:
    """The argument of `factory(config)`.

    `storage` is the client's persistent storage. Before the first call the kit fills it:

    - `oauth-expiring`: `access_token`, `refresh_token`, `expires_at` (absolute, epoch seconds)
      and `refresh_token_expires_at`; a non-expiring token has `refresh_token`, `expires_at`
      and `refresh_token_expires_at` set to None;
    - `partner-token`: `partner_token` and `partner_token_expires_at`.

    The client must keep its current credentials there; the kit passes the same mapping when
    it rebuilds ("restarts") the client.
    """

    #: The mock server's root URL, e.g. ``http://127.0.0.1:8080``.
    base_url: str
    #: The OAuth token endpoint (``base_url + "/oauth/token"``).
    token_url: str
    store_id: str
    client_id: str
    client_secret: str
    #: ``"oauth-expiring"`` or ``"partner-token"``.
    profile: str
    #: The client's persistent storage (see above).
    storage: MutableMapping[str, Any] = field(default_factory=dict)
    #: Sleep for this many seconds of *virtual* time. Clients that wait (backoff,
    #: ``Retry-After``) should sleep through this so a test never sleeps for real.
    sleep: Callable[[float], None] = _real_sleep
    #: The client's clock (epoch seconds). Under the kit ``time.time()`` is the same virtual
    #: clock; this is handy for clients in a process the kit cannot patch.
    now: Callable[[], float] = time.time
    #: The partner's mailbox (``GET`` with HTTP Basic ``client_id:client_secret``), where a
    #: renewal notice and, when the merchant e-mails a copy, a renewed token's plaintext land.
    mailbox_url: str = ""
    #: Free-form extras for adapters (the kit puts nothing there).
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {self.profile!r}")
        if not self.mailbox_url:
            self.mailbox_url = self.base_url.rstrip("/") + "/partner/v1/messages"
