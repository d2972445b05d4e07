"""`mockserver serve` as partner developers run it: a real gunicorn process on a SQLite file."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Served:
    def __init__(self, db: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(self.port),
             "--db", str(db), "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.output}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self._reader.join(timeout=5)
        return self.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "served.sqlite3")
    yield server
    if server.proc.poll() is None:
        server.stop()


def test_serve_seeds_prints_a_first_call_and_answers_it(served: Served) -> None:
    banner = served.output
    first_call = re.search(r"curl -H 'Authorization: Bearer (ptk_[\w-]+)' (\S+)", banner)
    assert first_call, banner
    token, url = first_call.groups()
    response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["total"] > 0
    assert "demo-store" in banner and "starter-store" in banner and "merchant key" in banner
    assert "Booting worker" in served.stop()  # gunicorn, not the development server


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "restart.sqlite3"
    first = Served(db)
    world = requests.post(first.url + "/_mock/reset", timeout=10).json()
    token = world["partner_token"]["token_value"]
    key = world["stores"][0]["merchant_key"]
    renewed = requests.post(f"{first.url}/merchant/v1/tokens/{world['partner_token']['id']}/renew",
                            json={"validity_days": 10}, headers={"X-Merchant-Key": key},
                            timeout=10).json()
    requests.post(first.url + "/_mock/clock/advance", json={"days": 3}, timeout=10)
    first.stop()

    second = Served(db)
    try:
        old = requests.get(second.url + "/api/v1/token",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert old["status"] == "renewed"
        assert old["successor"]["id"] == renewed["token"]["id"]
        new = requests.get(second.url + "/api/v1/orders",
                           headers={"X-Access-Token": renewed["token_value"]}, timeout=10)
        assert new.status_code == 200
        clock = requests.get(second.url + "/_mock/clock", timeout=10).json()
        assert clock["offset_seconds"] >= 3 * 86_400 - 5
    finally:
        output = second.stop()
    assert "Using the existing database" in output
    assert "Seeded a demo world" not in output
