"""The write generation the gate's cache trusts: every write, in any process, moves it; a
writer killed half-way leaves it unsettled (caches bypassed) until the next write; and a
revocation made by another process is seen by the very next call."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.db import Database
from mockserver.errors import TokenRevoked
from mockserver.partner_access import Scope

fork = multiprocessing.get_context("fork")


def in_child(target: Any, *args: Any) -> int | None:
    child = fork.Process(target=target, args=args)
    child.start()
    child.join(30)
    return child.exitcode


def _write(path: str) -> None:
    with Database(path).write() as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES ('from-child', '1')")


def _die_mid_write(path: str) -> None:
    with Database(path).write() as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES ('never', '1')")
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_write_in_another_process_moves_the_generation(tmp_path: Path) -> None:
    path = str(tmp_path / "mock.sqlite3")
    db = Database(path)
    before = db.generation()
    assert before is not None and before % 2 == 0
    assert in_child(_write, path) == 0
    after = db.generation()
    assert after is not None and after > before


def test_a_nested_write_moves_it_once(tmp_path: Path) -> None:
    db = Database(tmp_path / "mock.sqlite3")
    before = db.generation()
    assert before is not None
    with db.write():
        assert db.generation() is None  # under way
        db.write_one("INSERT INTO meta(key, value) VALUES ('nested', '1')", ())
        assert db.generation() is None
    assert db.generation() == before + 2


def test_a_writer_killed_half_way_unsettles_it_until_the_next_write(tmp_path: Path) -> None:
    path = str(tmp_path / "mock.sqlite3")
    db = Database(path)
    before = db.generation()
    assert before is not None
    assert in_child(_die_mid_write, path) == -signal.SIGKILL
    assert db.generation() is None  # nobody may trust a cache now
    row = db.connection().execute("SELECT 1 FROM meta WHERE key = 'never'").fetchone()
    assert row is None  # the killed write never committed
    db.write_one("INSERT INTO meta(key, value) VALUES ('next', '1')", ())
    after = db.generation()
    assert after is not None and after > before


def _revoke(path: str, store_id: str, token_id: str) -> None:
    svc = create_app(path, seed_if_empty=False).extensions["mockserver"]
    store = svc.tenants.store(store_id)
    svc.partner_access.revoke(Scope.merchant(store), [token_id])


def test_a_revocation_by_another_process_is_seen_by_the_next_call(
        app: Any, client: FlaskClient, partner_token: str, world: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {partner_token}"}
    for _ in range(3):  # the token is now in this process's cache
        assert client.get("/api/v1/token", headers=auth).status_code == 200
    token_id = world["partner_token"]["id"]
    store_id = world["stores"][0]["id"]
    svc = app.extensions["mockserver"]
    assert in_child(_revoke, svc.db.path, store_id, token_id) == 0
    response = client.get("/api/v1/token", headers=auth)
    assert response.status_code == 401
    assert response.get_json()["error"] == "token_revoked"
    with pytest.raises(TokenRevoked):
        svc.partner_access.authenticate(partner_token, "GET", "/api/v1/token")


def test_the_suite_catches_a_write_that_bypasses_the_lock(tmp_path: Path) -> None:
    from tests.conftest import trace_stray_writes

    db = Database(tmp_path / "mock.sqlite3")
    conn = sqlite3.connect(db.path, isolation_level=None)
    stray: list[str] = []
    trace_stray_writes(db, conn, stray)
    conn.execute("SELECT * FROM meta").fetchall()
    with db._exclusive():
        conn.execute("INSERT INTO meta(key, value) VALUES ('locked', '1')")
    assert stray == []
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'locked'")
    assert stray == ["UPDATE meta SET value = '2' WHERE key = 'locked'"]
