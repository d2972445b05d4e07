"""The command driver: a client in another language, in its own process, driven over JSON
lines on stdin/stdout, its clock moved with libfaketime.

Start it with ``conformance run --command "node client.js"`` (or
``pytest --conformance-command "..."``). The kit writes one JSON object per line:

    {"op": "start", "config": {...}, "storage": {...}, "now": 1930294800.0, "faketime": true}
    {"op": "request", "method": "GET", "path": "/api/v1/store", "json": null,
     "params": null, "now": 1930294860.0}
    {"op": "stop"}

and the client answers each with one line:

    {"ok": true, "storage": {...}}                                    # to start
    {"status": 200, "body": {...}, "storage": {...}}                  # a response
    {"error": "text", "reauthorization_required": true, "storage": {...}}  # gave up

``storage`` is the client's whole storage after the operation (the kit checks it and hands it
back on restart). Before its answer a client may send ``{"sleep": seconds}``: the kit moves
virtual time on by that much and answers ``{"now": epoch}`` (never sleep for real).

Time: when libfaketime is installed (Debian/Ubuntu ``apt-get install faketime``), the process
runs with ``LD_PRELOAD`` = libfaketime, ``FAKETIME_TIMESTAMP_FILE`` pointing at a file the kit
rewrites with the current offset before every message, ``FAKETIME_NO_CACHE=1`` and
``FAKETIME_DONT_FAKE_MONOTONIC=1`` (so timeouts keep working; JVMs need it too). The
process's ordinary clock then shows the kit's virtual time. libfaketime does not work for Go
or static binaries: such clients must use the ``now`` field of each message instead
(``"faketime": false`` in ``start`` says so).

Calls are serialised (one request at a time on the pipe), so ``single-flight`` only checks
that the client does not refresh twice in a row.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from conformance.adapter import ClientGaveUp, ReauthorizationRequired
from conformance.config import Config

LIBFAKETIME_PATHS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
#: Seconds the kit waits for one answer line (real time).
ANSWER_TIMEOUT = 30


def find_libfaketime() -> str | None:
    configured = os.environ.get("CONFORMANCE_LIBFAKETIME")
    if configured:
        return configured if Path(configured).exists() else None
    return next((p for p in LIBFAKETIME_PATHS if Path(p).exists()), None)


def real_time() -> float:
    """The system clock, unpatched by freezegun (which the kit uses in this process)."""
    return time.clock_gettime(time.CLOCK_REALTIME)


class CommandResponse:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self._body = body

    def json(self) -> Any:
        return self._body


class CommandClient:
    def __init__(self, config: Config, command: str | None = None) -> None:
        self.config = config
        command = command or config.extra.get("command") or os.environ.get("CONFORMANCE_COMMAND")
        if not command:
            raise ValueError("no command: --conformance-command or CONFORMANCE_COMMAND")
        self._dir = tempfile.TemporaryDirectory(prefix="conformance-cmd-")
        self.time_file = Path(self._dir.name) / "faketime"
        self._write_time()
        env = dict(os.environ)
        library = find_libfaketime()
        self.faketime = library is not None
        if library is not None:
            env.update({"LD_PRELOAD": library, "FAKETIME_TIMESTAMP_FILE": str(self.time_file),
                        "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
        cfg = {"base_url": config.base_url, "token_url": config.token_url,
               "mailbox_url": config.mailbox_url, "store_id": config.store_id,
               "client_id": config.client_id, "client_secret": config.client_secret,
               "profile": config.profile}
        self._exchange({"op": "start", "config": cfg, "storage": dict(config.storage),
                        "faketime": self.faketime})

    def _write_time(self) -> None:
        offset = self.config.now() - real_time()
        self.time_file.write_text(f"{offset:+.6f}\n", encoding="ascii")

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self._write_time()
            message["now"] = self.config.now()
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
            while True:
                line = self._readline()
                answer: dict[str, Any] = json.loads(line)
                if "sleep" in answer:
                    self.config.sleep(float(answer["sleep"]))
                    self._write_time()
                    self.proc.stdin.write(json.dumps({"now": self.config.now()}) + "\n")
                    self.proc.stdin.flush()
                    continue
                if isinstance(answer.get("storage"), dict):
                    self.config.storage.clear()
                    self.config.storage.update(answer["storage"])
                return answer

    def _readline(self) -> str:
        stdout = self.proc.stdout
        assert stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(ANSWER_TIMEOUT)
        if not result or not result[0]:
            raise ClientGaveUp(f"the command did not answer (exit code {self.proc.poll()})")
        return result[0]

    def request(self, method: str, path: str, **kwargs: Any) -> CommandResponse:
        answer = self._exchange({"op": "request", "method": method, "path": path,
                                 "json": kwargs.get("json"), "params": kwargs.get("params")})
        if "error" in answer:
            if answer.get("reauthorization_required"):
                raise ReauthorizationRequired(str(answer["error"]))
            raise ClientGaveUp(str(answer["error"]))
        return CommandResponse(int(answer["status"]), answer.get("body"))

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._dir.cleanup()


def factory(config: Config) -> CommandClient:
    """``--conformance-command "..."`` selects this factory."""
    return CommandClient(config)
