"""Shared fixtures: an app on a fresh SQLite file per test, its seeded demo world, and a real
HTTP server (werkzeug in a daemon thread on port 0) where the wire matters."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import TestResponse

from mockserver.app import create_app
from mockserver.db import Database
from tests.spec import check_response

WRITE_SQL = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


def trace_stray_writes(db: Database, conn: sqlite3.Connection, stray: list[str]) -> None:
    """Records in `stray` every statement on `conn` that changes the database without the
    database's write lock (which moves the write generation that the gate's cache trusts)."""
    local = db._local

    def trace(sql: str) -> None:
        if WRITE_SQL.match(sql) and not getattr(local, "writing", False):
            stray.append(sql)

    conn.set_trace_callback(trace)


@pytest.fixture(autouse=True)
def writes_hold_the_write_lock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every in-process test doubles as a check that no code path writes around the lock: a
    write that did not move the write generation could leave a revoked token cached."""
    stray: list[str] = []
    traced: set[int] = set()
    original = Database.connection

    def connection(self: Database) -> sqlite3.Connection:
        conn = original(self)
        if id(conn) not in traced:
            traced.add(id(conn))
            trace_stray_writes(self, conn, stray)
        return conn

    monkeypatch.setattr(Database, "connection", connection)
    yield
    assert not stray, f"statements that changed the database without the write lock: {stray}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mock.sqlite3"


class SpecCheckingClient(FlaskClient):
    """A test client that checks every response against openapi.yaml."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:  # type: ignore[override]
        response = super().open(*args, **kwargs)
        request = response.request
        body = response.get_json(silent=True) if response.is_json else None
        check_response(request.method, request.path, response.status_code,
                       response.content_type, body)
        return response


@pytest.fixture
def app(db_path: Path) -> Flask:
    app = create_app(db_path)
    app.test_client_class = SpecCheckingClient
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """The seeded demo world's credentials (plaintexts)."""
    seeded: dict[str, Any] = app.config["SEEDED"]
    return seeded


@pytest.fixture
def partner_token(world: dict[str, Any]) -> str:
    value: str = world["partner_token"]["token_value"]
    return value


@pytest.fixture
def merchant_key(world: dict[str, Any]) -> str:
    value: str = world["stores"][0]["merchant_key"]
    return value


@pytest.fixture
def partner_auth(world: dict[str, Any]) -> tuple[str, str]:
    return world["partner"]["client_id"], world["partner"]["client_secret"]


class LiveServer:
    """A real HTTP server around an app, on an ephemeral loopback port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        for _ in range(100):
            try:
                if requests.get(self.url + "/healthz", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
        raise RuntimeError("live server did not come up")

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Prints what the reliability tests ran (the figures the README states)."""
    from tests.figures import lines

    measured = lines()
    if measured:
        terminalreporter.section("reliability figures")
        for line in measured:
            terminalreporter.write_line(line)
