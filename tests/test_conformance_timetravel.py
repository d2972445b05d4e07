"""Time travel as the kit does it (PLATFORMS.md §6): freezegun ticking, so monotonic time and
HTTP timeouts keep working, threads and the in-process mock see the same virtual clock."""

from __future__ import annotations

import threading
import time

import requests

from conformance.server import InProcessMock
from conformance.timetravel import DEFAULT_START, TimeTravel

DAY = 86_400


def test_virtual_time_starts_where_asked_and_ticks() -> None:
    with TimeTravel():
        first = time.time()
        assert abs(first - DEFAULT_START) < 5
        time.sleep(0.02)
        assert time.time() > first


def test_monotonic_time_is_not_frozen() -> None:
    with TimeTravel():
        before = time.monotonic()
        time.sleep(0.02)
        assert time.monotonic() > before


def test_advance_moves_the_clock_and_keeps_it_ticking() -> None:
    with TimeTravel() as clock:
        start = clock.now()
        clock.advance(91 * DAY)
        assert abs(clock.now() - (start + 91 * DAY)) < 2
        assert clock.jumped == 91 * DAY
        later = time.time()
        time.sleep(0.02)
        assert time.time() > later


def test_sleep_passes_virtual_time_without_real_waiting() -> None:
    with TimeTravel() as clock:
        real_before = time.clock_gettime(time.CLOCK_REALTIME)
        start = clock.now()
        clock.sleep(3600)
        assert clock.now() - start >= 3600
        assert time.clock_gettime(time.CLOCK_REALTIME) - real_before < 1


def test_http_requests_with_timeouts_work_across_jumps_and_in_threads() -> None:
    with TimeTravel() as clock:
        server = InProcessMock()
        try:
            url = server.base_url + "/_mock/clock"
            assert requests.get(url, timeout=5).ok
            clock.advance(91 * DAY)
            answer = requests.get(url, timeout=(3, 5)).json()
            assert abs(answer["epoch"] - clock.now()) < 2  # the server followed the jump

            results: list[float] = []

            def worker() -> None:
                results.append(requests.get(url, timeout=5).json()["epoch"])

            threads = [threading.Thread(target=worker) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=10)
            assert len(results) == 4
            assert all(abs(epoch - clock.now()) < 5 for epoch in results)
        finally:
            server.close()


def test_a_thread_reading_the_clock_directly_sees_virtual_time() -> None:
    seen: list[float] = []
    with TimeTravel() as clock:
        clock.advance(DAY)
        thread = threading.Thread(target=lambda: seen.append(time.time()))
        thread.start()
        thread.join(timeout=5)
        assert abs(seen[0] - clock.now()) < 2


def test_the_process_clock_is_restored_afterwards() -> None:
    with TimeTravel():
        pass
    assert abs(time.time() - time.clock_gettime(time.CLOCK_REALTIME)) < 1
