"""Virtual time for the client under test, kept in step with the mock's clock.

The kit moves time with freezegun in *ticking* mode (``freeze_time(start, tick=True)``): the
virtual clock runs at real speed from wherever the kit puts it, and a jump moves it at once.
PLATFORMS.md §6 lists why not plain frozen time:

- freezegun also patches ``time.monotonic``; frozen, it stops every timeout and backoff that
  measures elapsed time. Ticking, monotonic time advances, so ``requests`` timeouts, lock
  timeouts and ``Thread.join(timeout)`` behave (a jump makes monotonic time leap forward too,
  which only ever shortens a wait).
- freezegun is process-wide: threads (the in-process mock's server thread, the client's
  worker threads) all see the virtual time. Frames of the modules on freezegun's ignore list
  (``threading``, ``queue``, pytest's runner) read real time, which is what they need.
- pytest's own timing (durations, JUnit times) must stay real: ``_pytest.timing`` and
  ``_pytest.runner`` are on the list (not all of ``_pytest``: a scenario runs within five
  frames of ``_pytest.python``).
- freezegun's own ``tick(delta)`` on a ticking factory jumps from the *start* instant and
  drops the time that has run since; `advance` uses ``move_to(now + delta)`` instead.

The in-process mock's clock follows the process clock while it has no override, so one jump
moves client and server together. A remote mock is moved through its control API by a
listener (see `conformance.server`); the command driver writes the time for libfaketime.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun import freeze_time

#: Where a scenario's virtual time starts when the kit owns the mock (a fixed instant keeps
#: the evidence reproducible).
DEFAULT_START = datetime(2031, 3, 3, 9, 0, 0, tzinfo=UTC).timestamp()


#: Modules whose calls keep reading real time (freezegun's default list has
#: ``_pytest.runner.``, which misses ``_pytest.runner`` itself).
IGNORE = ("_pytest.timing", "_pytest.runner")
#: Taken off freezegun's default ignore list (see above).
UNIGNORE = ("threading", "queue")


class TimeTravel:
    """The process's virtual clock for one scenario."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self.start_epoch = start
        self._freezer: Any = None
        self._factory: Any = None
        self._lock = threading.Lock()
        #: Called with the number of seconds after every jump (remote mock, command driver).
        self.listeners: list[Callable[[float], None]] = []
        #: Total virtual seconds jumped (what the kit "simulated").
        self.jumped = 0.0

    def __enter__(self) -> TimeTravel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._freezer = freeze_time(datetime.fromtimestamp(self.start_epoch, UTC), tick=True,
                                    ignore=list(IGNORE))
        self._freezer.ignore = tuple(m for m in self._freezer.ignore if m not in UNIGNORE)
        self._factory = self._freezer.start()

    def stop(self) -> None:
        if self._freezer is not None:
            self._freezer.stop()
            self._freezer = None
            self._factory = None

    @property
    def active(self) -> bool:
        return self._factory is not None

    def now(self) -> float:
        """Virtual epoch seconds (what ``time.time()`` answers in this process)."""
        return time.time()

    def advance(self, seconds: float) -> float:
        """Jump forward; returns the new virtual time."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            if self._factory is None:
                raise RuntimeError("time travel is not active")
            self._factory.move_to(self._factory() + timedelta(seconds=seconds))
            self.jumped += seconds
        for listener in self.listeners:
            listener(seconds)
        return self.now()

    def advance_to(self, epoch: float) -> float:
        return self.advance(max(0.0, epoch - self.now()))

    def sleep(self, seconds: float) -> None:
        """What a client's backoff should call: virtual time passes, real time barely does."""
        if seconds > 0:
            self.advance(seconds)
        time.sleep(0)  # let other threads run
