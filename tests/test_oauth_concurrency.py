"""Fifty parallel refreshes with the same refresh token, from several processes, against
gunicorn with several workers: each policy keeps its rule, never a 5xx, never "database is
locked"."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.server import ServerProcess

PROCESSES = 5
THREADS = 10  # per process: 50 requests in all


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("gunicorn") / "mock.sqlite3"
    server = ServerProcess(db, workers=3).start()
    try:
        yield server.url
    finally:
        server.stop()
        assert "database is locked" not in server.output()


def _fire(url: str, data: dict[str, str], start: Any) -> list[tuple[int, dict[str, Any]]]:
    """One client process: waits at the `start` barrier for the others, then fires its
    threads at once."""
    start.wait(60)

    def one(_: int) -> tuple[int, dict[str, Any]]:
        response = requests.post(url + "/oauth/token", data=data, timeout=60)
        return response.status_code, response.json()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


def stampede(url: str, policy: str) -> tuple[dict[str, Any], dict[str, str],
                                             list[tuple[int, dict[str, Any]]]]:
    world = requests.post(url + "/_mock/reset", timeout=30).json()
    partner = world["partner"]
    assert requests.put(url + "/_mock/settings", json={"refresh_policy": policy},
                        timeout=10).status_code == 200
    tokens = requests.post(url + "/_mock/oauth/tokens", json={
        "store_id": "demo-store", "client_id": partner["client_id"]}, timeout=10).json()
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": partner["client_id"], "client_secret": partner["client_secret"]}
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager, ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        start = manager.Barrier(PROCESSES)
        futures = [pool.submit(_fire, url, data, start) for _ in range(PROCESSES)]
        results = [item for f in futures for item in f.result()]
    assert len(results) == PROCESSES * THREADS
    assert all(status < 500 for status, _ in results), results
    assert not any("locked" in str(body) for _, body in results)
    return tokens, data, results


def introspect(url: str, data: dict[str, str], token: str) -> bool:
    response = requests.post(url + "/oauth/introspect", data={
        "token": token, "client_id": data["client_id"],
        "client_secret": data["client_secret"]}, timeout=10)
    active: bool = response.json()["active"]
    return active


def test_strict_exactly_one_of_fifty_parallel_refreshes_succeeds(gunicorn_url: str) -> None:
    _, _, results = stampede(gunicorn_url, "strict")
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1 and statuses.count(400) == 49
    assert {body["error"] for status, body in results if status == 400} == {"invalid_grant"}


def test_grace_fifty_parallel_refreshes_leave_one_current_token(gunicorn_url: str) -> None:
    tokens, data, results = stampede(gunicorn_url, "grace")
    assert all(status == 200 for status, _ in results)
    issued = [body for _, body in results]
    # each retry in grace superseded the replacement handed out before it: one survives
    active_refresh = [b for b in issued if introspect(gunicorn_url, data, b["refresh_token"])]
    active_access = [b for b in issued if introspect(gunicorn_url, data, b["access_token"])]
    assert len(active_refresh) == 1 and active_access == active_refresh
    # the original stays usable until that replacement is first used
    assert introspect(gunicorn_url, data, tokens["refresh_token"])
    used = requests.post(gunicorn_url + "/oauth/token", data={
        **data, "refresh_token": active_refresh[0]["refresh_token"]}, timeout=10)
    assert used.status_code == 200
    assert not introspect(gunicorn_url, data, tokens["refresh_token"])
    events = requests.get(gunicorn_url + "/_mock/events",
                          params={"kind": "oauth.refresh.succeeded"}, timeout=10).json()
    generations = sorted(e["detail"]["new_generation"] for e in events["events"])
    assert generations == list(range(2, 53))  # every refresh committed, none twice


def test_reuse_detection_fifty_parallel_refreshes_revoke_the_family(gunicorn_url: str) -> None:
    _, data, results = stampede(gunicorn_url, "reuse-detection")
    winners = [body for status, body in results if status == 200]
    assert len(winners) == 1
    assert not introspect(gunicorn_url, data, winners[0]["refresh_token"])
    again = requests.post(gunicorn_url + "/oauth/token", data={
        **data, "refresh_token": winners[0]["refresh_token"]}, timeout=10)
    assert again.json()["error"] == "invalid_grant"
    events = requests.get(gunicorn_url + "/_mock/events",
                          params={"kind": "oauth.reuse.detected"}, timeout=10).json()
    assert len(events["events"]) == 1


def test_scripted_errors_fire_exactly_count_times_across_workers(gunicorn_url: str) -> None:
    world = requests.post(gunicorn_url + "/_mock/reset", timeout=30).json()
    partner = world["partner"]
    requests.post(gunicorn_url + "/_mock/oauth/tokens", json={
        "store_id": "demo-store", "client_id": partner["client_id"]}, timeout=10)
    requests.post(gunicorn_url + "/_mock/faults", json={
        "kind": "token_endpoint_error", "status": 429, "count": 5, "retry_after": 3},
        timeout=10)
    data = {"grant_type": "client_credentials", "store_id": "demo-store",
            "client_id": partner["client_id"], "client_secret": partner["client_secret"]}

    def one(_: int) -> requests.Response:
        return requests.post(gunicorn_url + "/oauth/token", data=data, timeout=30)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(one, range(20)))
    limited = [r for r in responses if r.status_code == 429]
    assert len(limited) == 5 and all(r.headers["Retry-After"] == "3" for r in limited)
    assert sum(r.status_code == 200 for r in responses) == 15


def test_dropped_refresh_response_over_gunicorn(gunicorn_url: str) -> None:
    world = requests.post(gunicorn_url + "/_mock/reset", timeout=30).json()
    partner = world["partner"]
    tokens = requests.post(gunicorn_url + "/_mock/oauth/tokens", json={
        "store_id": "demo-store", "client_id": partner["client_id"]}, timeout=10).json()
    requests.post(gunicorn_url + "/_mock/faults", json={"kind": "drop_refresh_response"},
                  timeout=10)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": partner["client_id"], "client_secret": partner["client_secret"]}
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.post(gunicorn_url + "/oauth/token", data=data, timeout=10)
    events = requests.get(gunicorn_url + "/_mock/events",
                          params={"kind": "oauth.refresh.succeeded"}, timeout=10).json()
    assert len(events["events"]) == 1  # processed and committed
    assert requests.post(gunicorn_url + "/oauth/token", data=data, timeout=10).status_code == 200
