"""`mockserver serve`: the mock behind gunicorn, as partner developers run it."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import sys
from collections.abc import Callable
from typing import Any

from mockserver import __version__

DEFAULT_DB = "mockserver.sqlite3"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve the mock through gunicorn")
    serve.add_argument("--host", default=os.environ.get("MOCKSERVER_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("MOCKSERVER_PORT", 8080)))
    serve.add_argument("--db", default=os.environ.get("MOCKSERVER_DB", DEFAULT_DB),
                       help="SQLite file (created and seeded when empty)")
    serve.add_argument("--workers", type=int, default=int(os.environ.get("MOCKSERVER_WORKERS", 2)))
    serve.add_argument("--threads", type=int, default=4, help="threads per worker")
    serve.add_argument("--control-key", default=os.environ.get("MOCKSERVER_CONTROL_KEY"),
                       help="key for /_mock/ from non-loopback callers (X-Control-Key)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in (None, "serve"):
        if args.command is None:
            args = build_parser().parse_args(["serve", *(argv or sys.argv[1:])])
        return serve(args)
    return 2


def serve(args: argparse.Namespace) -> int:
    from mockserver.app import create_app
    from mockserver.seed import banner

    control_key = args.control_key
    if not _is_loopback(args.host) and not control_key:
        control_key = secrets.token_urlsafe(24)
        print(f"Bound to {args.host}: the control API needs 'X-Control-Key: {control_key}' "
              "from non-loopback callers.", flush=True)
    # Create (and seed) the database once in the master, before the workers fork.
    app = create_app(args.db, control_key=control_key)
    base_url = f"http://{args.host}:{args.port}"
    seeded = app.config.get("SEEDED")
    if seeded:
        print(banner(seeded, base_url), flush=True)
    else:
        print(f"Using the existing database {args.db}; POST {base_url}/_mock/reset re-seeds it.",
              flush=True)
    app.extensions["mockserver"].db.close()
    run_gunicorn(args.db, args.host, args.port, args.workers, args.threads, control_key)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_gunicorn(db: str, host: str, port: int, workers: int, threads: int,
                 control_key: str | None, factory: Callable[[], Any] | None = None) -> None:
    """Serves the app through gunicorn; each worker builds its own app (and SQLite
    connections) after the fork. `factory` replaces the app, e.g. for benchmarks."""
    import gunicorn.util
    from gunicorn.app.base import BaseApplication

    from mockserver.app import MAX_HEADER_BYTES

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 5)
            # the app refuses long URLs and large headers itself; what gunicorn still refuses
            # (a malformed request, one header over this size) it answers in JSON too
            self.cfg.set("limit_request_line", 0)
            self.cfg.set("limit_request_field_size", 2 * MAX_HEADER_BYTES)
            self.cfg.set("limit_request_fields", 1000)

        def load(self) -> Any:
            if factory is not None:
                return factory()
            from mockserver.app import create_app

            return create_app(db, seed_if_empty=False, control_key=control_key)

    gunicorn.util.write_error = write_json_error
    Server().run()


#: Wire codes for the errors gunicorn answers before the app sees a request.
GUNICORN_ERRORS = {400: "invalid_request", 403: "forbidden", 414: "uri_too_long",
                   417: "expectation_failed", 431: "headers_too_large", 501: "not_implemented"}


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Replaces gunicorn's HTML error page: even a request too malformed to reach the app gets
    `{"error": code, "message": text}`."""
    import gunicorn.util

    body = json.dumps({"error": GUNICORN_ERRORS.get(status_int, "internal_error"),
                       "message": mesg or reason}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)
