"""The one place that reads "now".

Every sandbox (a set of stores) has its own virtual clock. Its state lives in the database so
that all server workers agree on the time: a clock is either *following* the process clock
with an offset, or *frozen* at an instant. With no override it follows the process clock, so
time travel with freezegun in the same process moves the server too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


def process_now() -> datetime:
    """The process clock; `time.time()` is looked up at call time so freezegun patches it."""
    return datetime.fromtimestamp(time.time(), UTC)


@dataclass(frozen=True)
class ClockState:
    """Persisted clock settings of one sandbox."""

    offset_seconds: float = 0.0
    frozen_at: float | None = None  # epoch seconds

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None


class ClockStore(Protocol):
    def load_clock(self, sandbox: str) -> ClockState: ...

    def save_clock(self, sandbox: str, state: ClockState) -> None: ...


class Clock:
    """Virtual time of one sandbox, persisted through a `ClockStore`."""

    def __init__(self, store: ClockStore, sandbox: str = "default") -> None:
        self.store = store
        self.sandbox = sandbox

    def now(self) -> datetime:
        return self.at(self.store.load_clock(self.sandbox))

    @staticmethod
    def at(state: ClockState) -> datetime:
        """"Now" for a clock state (also one read elsewhere, e.g. joined into a query)."""
        if state.frozen_at is not None:
            return datetime.fromtimestamp(state.frozen_at, UTC)
        return process_now() + timedelta(seconds=state.offset_seconds)

    def state(self) -> ClockState:
        return self.store.load_clock(self.sandbox)

    def set(self, instant: datetime) -> datetime:
        """Jump to an absolute instant, keeping the frozen/following mode."""
        state = self.state()
        if state.frozen:
            new = ClockState(frozen_at=instant.timestamp())
        else:
            new = ClockState(offset_seconds=(instant - process_now()).total_seconds())
        self.store.save_clock(self.sandbox, new)
        return self.at(new)

    def advance(self, seconds: float) -> datetime:
        return self.set(self.now() + timedelta(seconds=seconds))

    def freeze(self) -> datetime:
        frozen = ClockState(frozen_at=self.now().timestamp())
        self.store.save_clock(self.sandbox, frozen)
        return self.at(frozen)

    def unfreeze(self) -> datetime:
        now = self.now()
        new = ClockState(offset_seconds=(now - process_now()).total_seconds())
        self.store.save_clock(self.sandbox, new)
        return self.at(new)

    def reset(self) -> datetime:
        """Back to following the process clock with no offset."""
        self.store.save_clock(self.sandbox, ClockState())
        return self.now()
