"""The mock a scenario runs against: started in-process on an ephemeral port with a fresh
database per scenario, or a running mock named by URL."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

#: HTTP timeout of the kit's own control calls (seconds; real time, see timetravel.py).
CONTROL_TIMEOUT = 15


class ControlError(RuntimeError):
    """The mock refused a control call the kit needs (wrong URL, missing feature, bad key)."""


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MockServer:
    """What the kit needs of a mock, whichever way it runs."""

    base_url: str = ""
    #: The seeded demo world: credentials in plaintext (see `mockserver.seed.seed`).
    world: dict[str, Any]

    def __init__(self, control_key: str | None = None) -> None:
        self.http = requests.Session()
        if control_key:
            self.http.headers["X-Control-Key"] = control_key
        self.world = {}

    # --- control API -----------------------------------------------------------------

    def control(self, method: str, path: str, json: Any = None,
                params: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, self.base_url + path, json=json, params=params,
                                     timeout=CONTROL_TIMEOUT)
        if response.status_code >= 400:
            raise ControlError(f"{method} {path} answered {response.status_code}: "
                               f"{response.text[:300]}")
        return response.json() if response.content else None

    def events(self, after_id: int = 0, **filters: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            params = {"after_id": after_id, "limit": 10_000, **filters}
            page: list[dict[str, Any]] = self.control("GET", "/_mock/events",
                                                      params=params)["events"]
            out.extend(page)
            if len(page) < 10_000:
                return out
            after_id = page[-1]["id"]

    def server_now(self) -> float:
        return float(self.control("GET", "/_mock/clock")["epoch"])

    # --- lifecycle ---------------------------------------------------------------------

    def follow_jump(self, seconds: float) -> None:
        """Keep the server's clock in step after the kit's clock jumped."""

    def close(self) -> None:
        self.http.close()


class InProcessMock(MockServer):
    """A fresh app and SQLite file, served by werkzeug in a daemon thread on port 0. Its clock
    follows the process clock, so the kit's freezegun jumps move it too."""

    def __init__(self) -> None:
        super().__init__()
        from mockserver.app import create_app

        self._tmp = tempfile.TemporaryDirectory(prefix="conformance-")
        self.app = create_app(Path(self._tmp.name) / "mock.sqlite3")
        self.world = self.app.config["SEEDED"]
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self.app, threaded=True,
                                                   request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.005}, daemon=True,
                                        name="conformance-mock")
        self._thread.start()

    def close(self) -> None:
        super().close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.app.extensions["mockserver"].db.close()
        self._tmp.cleanup()


class RemoteMock(MockServer):
    """A running mock. Every scenario starts with ``POST /_mock/reset`` (a fresh seeded world,
    clock reset), so point the kit at a mock of its own. Jumps go through
    ``POST /_mock/clock/advance``."""

    def __init__(self, url: str, control_key: str | None = None) -> None:
        super().__init__(control_key)
        self.base_url = url.rstrip("/")
        try:
            self.world = self.control("POST", "/_mock/reset")
        except requests.RequestException as exc:
            raise ControlError(f"cannot reach the mock at {self.base_url}: {exc}") from exc

    def follow_jump(self, seconds: float) -> None:
        self.control("POST", "/_mock/clock/advance", json={"seconds": seconds})
