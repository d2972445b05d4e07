"""The mock as partner developers run it: `python3 -m mockserver serve` in a child process
(gunicorn, several workers) on a SQLite file, with its output captured for inspection."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """One `mockserver serve` process; `start()` waits for /healthz, `kill()` is SIGKILL to the
    whole process group (master and workers), `stop()` a graceful SIGTERM."""

    def __init__(self, db: Path, *, workers: int = 2, threads: int = 4, port: int | None = None,
                 log: Path | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.db = db
        self.workers = workers
        self.threads = threads
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or db.with_suffix(".log")
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def command(self) -> list[str]:
        return [sys.executable, "-m", "mockserver", "serve", "--db", str(self.db),
                "--port", str(self.port), "--workers", str(self.workers),
                "--threads", str(self.threads), *self.extra_args]

    def start(self, timeout: float = 30) -> ServerProcess:
        assert self.proc is None, "already running"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not come up:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown, for master and workers alike."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # --- conveniences ---------------------------------------------------------------------

    def reset(self) -> dict[str, Any]:
        """Back to the seed; returns the fresh demo world's credentials."""
        response = requests.post(self.url + "/_mock/reset", timeout=30)
        response.raise_for_status()
        world: dict[str, Any] = response.json()
        return world

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
