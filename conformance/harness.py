"""One scenario's world: the mock, the virtual clock, the client under test (rebuilt on
"restart"), every call it made, and the checks that turn the server's event log into a
verdict."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from conformance.adapter import Client, Factory
from conformance.config import Config
from conformance.server import MockServer
from conformance.timetravel import TimeTravel

DEFAULT_PATH = "/api/v1/store"


class ConformanceFailure(AssertionError):
    """A scenario's rule was broken; the message says how, the kit's evidence shows it."""


@dataclass
class Call:
    """One call the kit asked the client to make, and what came back."""

    index: int
    method: str
    path: str
    started: float
    finished: float = 0.0
    status: int | None = None
    error: str | None = None
    error_type: str | None = None
    exception: BaseException | None = field(default=None, repr=False)
    body: Any = None
    phase: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        outcome = (f"HTTP {self.status}" if self.status is not None
                   else f"raised {self.error_type}: {self.error}")
        return f"#{self.index} {self.method} {self.path} -> {outcome}"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "method": self.method, "path": self.path,
                "started": self.started, "finished": self.finished, "status": self.status,
                "error": self.error, "error_type": self.error_type, "phase": self.phase}


@dataclass
class Phase:
    name: str
    started: float
    first_event_id: int
    first_call: int


class Kit:
    """What a scenario test receives (the ``conformance_kit`` fixture)."""

    def __init__(self, factory: Factory, server: MockServer, clock: TimeTravel,
                 profile: str, storage: MutableMapping[str, Any] | None = None) -> None:
        self.factory = factory
        self.server = server
        self.clock = clock
        self.storage: MutableMapping[str, Any] = storage if storage is not None else {}
        world = server.world
        self.store_id: str = world["stores"][0]["id"]
        self.merchant_key: str = world["stores"][0]["merchant_key"]
        self.partner: dict[str, Any] = world["partner"]
        self.config = Config(
            base_url=server.base_url, token_url=server.base_url + "/oauth/token",
            store_id=self.store_id, client_id=self.partner["client_id"],
            client_secret=self.partner["client_secret"], profile=profile,
            storage=self.storage, sleep=clock.sleep, now=clock.now,
        )
        self.calls: list[Call] = []
        self.phases: list[Phase] = []
        self.notes: list[str] = []
        self._client: Client | None = None
        self._calls_lock = threading.Lock()
        self._seen_event_id = 0
        self.phase("setup")

    # --- the client ------------------------------------------------------------------

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self.factory(self.config)
        return self._client

    def restart(self) -> Client:
        """Rebuild the client from the same storage, as after a process restart."""
        self.close()
        self._client = None
        return self.client

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if callable(close):
            close()

    def call(self, method: str = "GET", path: str = DEFAULT_PATH, *, client: Client | None = None,
             **kwargs: Any) -> Call:
        """Ask the client for one call and record what came back; never raises."""
        client = client or self.client
        with self._calls_lock:
            record = Call(len(self.calls) + 1, method, path, self.clock.now(),
                          phase=self.phases[-1].name)
            self.calls.append(record)
        try:
            response = client.request(method, path, **kwargs)
            record.status = int(response.status_code)
            try:
                record.body = response.json()
            except Exception:  # noqa: BLE001 - any body is fine
                record.body = None
        except Exception as exc:  # noqa: BLE001 - giving up is a legal outcome
            record.exception = exc
            record.error_type = type(exc).__name__
            record.error = str(exc)[:500] or repr(exc)
        record.finished = self.clock.now()
        return record

    # --- setup helpers -----------------------------------------------------------------

    def oauth_grant(self, *, expiring: bool = True,
                    stored_by_server_clock: bool = False) -> dict[str, Any]:
        """A fresh grant from the control API, stored as the client would have stored it
        after authorization: absolute expiries computed with the client's clock, or, with
        `stored_by_server_clock`, by a machine whose clock agrees with the server's."""
        payload: dict[str, Any] = {"store_id": self.store_id,
                                   "client_id": self.partner["client_id"],
                                   "expiring": expiring}
        grant: dict[str, Any] = self.server.control("POST", "/_mock/oauth/tokens", json=payload)
        now = self.server.server_now() if stored_by_server_clock else self.clock.now()
        expires_in = grant.get("expires_in")
        refresh_in = grant.get("refresh_token_expires_in")
        self.storage.update({
            "access_token": grant["access_token"],
            "refresh_token": grant.get("refresh_token"),
            "expires_at": now + float(expires_in) if expires_in is not None else None,
            "refresh_token_expires_at": now + float(refresh_in) if refresh_in else None,
        })
        return grant

    def partner_token(self) -> dict[str, Any]:
        """The seeded partner token, stored as the partner would have stored it."""
        seeded: dict[str, Any] = self.server.world["partner_token"]
        from datetime import datetime

        expires = datetime.fromisoformat(seeded["expires_at"].replace("Z", "+00:00"))
        self.storage.update({"partner_token": seeded["token_value"],
                             "partner_token_expires_at": expires.timestamp()})
        return seeded

    def merchant(self, method: str, path: str, json: Any = None) -> Any:
        """A call to the merchant API as the store's merchant."""
        response = self.server.http.request(
            method, self.server.base_url + "/merchant/v1" + path, json=json,
            headers={"X-Merchant-Key": self.merchant_key}, timeout=15)
        if response.status_code >= 400:
            raise RuntimeError(f"merchant {method} {path}: {response.status_code} "
                               f"{response.text[:300]}")
        return response.json()

    def fault(self, **fault: Any) -> Any:
        return self.server.control("POST", "/_mock/faults", json=fault)

    def clear_faults(self) -> None:
        self.server.control("DELETE", "/_mock/faults")

    def skew_server(self, seconds: float) -> None:
        """Run the server's clock ahead of the client's by `seconds`."""
        self.server.control("POST", "/_mock/clock/advance", json={"seconds": seconds})

    # --- time --------------------------------------------------------------------------

    def advance(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    def advance_to(self, epoch: float) -> float:
        return self.clock.advance_to(epoch)

    def now(self) -> float:
        return self.clock.now()

    # --- evidence and checks -------------------------------------------------------------

    def phase(self, name: str) -> None:
        """Start the named part of the scenario; a failure shows the events since then."""
        first_event = self._last_event_id() + 1 if self.phases else 0
        self.phases.append(Phase(name, self.clock.now() if self.clock.active else 0.0,
                                 first_event, len(self.calls)))

    def events(self, kind: str | None = None, *, whole: bool = False,
               token_id: str | None = None) -> list[dict[str, Any]]:
        """Events of the current phase (or the whole scenario), optionally of one kind
        (``oauth.refresh.*`` matches a family)."""
        after = 0 if whole else self.phases[-1].first_event_id - 1
        filters: dict[str, Any] = {}
        if kind is not None:
            filters["kind"] = kind
        if token_id is not None:
            filters["token_id"] = token_id
        return self.server.events(max(0, after), **filters)

    def _last_event_id(self) -> int:
        newer = self.server.events(self._seen_event_id)
        if newer:
            self._seen_event_id = int(newer[-1]["id"])
        return self._seen_event_id

    def note(self, text: str) -> None:
        self.notes.append(text)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise ConformanceFailure(message)

    def check_calls_ok(self, calls: Iterable[Call], what: str) -> None:
        failed = [c for c in calls if not c.ok]
        self.check(not failed, f"{what}: {len(failed)} call(s) failed, first "
                               f"{failed[0].describe() if failed else ''}")

    def evidence(self) -> dict[str, Any]:
        """The failing part: the current phase's events and calls."""
        current = self.phases[-1]
        try:
            timeline = self.server.events(max(0, current.first_event_id - 1))
        except Exception:  # noqa: BLE001 - evidence is best effort
            timeline = [{"kind": "kit.error", "detail": {"trace": traceback.format_exc()}}]
        return {"phase": current.name, "phase_started": current.started,
                "events": timeline,
                "calls": [c.to_dict() for c in self.calls[current.first_call:]],
                "storage_keys": sorted(self.storage), "notes": list(self.notes)}
