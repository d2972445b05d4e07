"""The application factory and the one place errors become responses."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from mockserver import errors, web
from mockserver.db import Database
from mockserver.oauth.gate import oauth_token_authenticator
from mockserver.services import Services
from mockserver.store_auth import partner_token_authenticator

log = logging.getLogger("mockserver")

#: Request bodies above this many bytes are refused with 413.
MAX_BODY_BYTES = 64 * 1024
#: Request targets (path and query string) above this many bytes are refused with 414. The
#: front server (gunicorn) is told not to cut them short, so the refusal is JSON like every other.
MAX_URL_BYTES = 64 * 1024
#: Request headers above this many bytes in all are refused with 431.
MAX_HEADER_BYTES = 64 * 1024


def create_app(db_path: str | Path = "mockserver.sqlite3", *, seed_if_empty: bool = True,
               control_key: str | None = None, control_require_key: bool = False) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["CONTROL_KEY"] = control_key
    app.config["CONTROL_REQUIRE_KEY"] = control_require_key
    app.json.sort_keys = False  # type: ignore[attr-defined]

    svc = Services(Database(db_path))
    svc.authenticators.append(partner_token_authenticator)
    svc.authenticators.append(oauth_token_authenticator)
    app.extensions["mockserver"] = svc
    if seed_if_empty and svc.db.is_empty():
        from mockserver.seed import seed

        app.config["SEEDED"] = seed(svc)

    from mockserver.api import control, control_oauth, docs, merchant, oauth, partner, store

    for module in (store, merchant, partner, control, control_oauth, oauth, docs, web):
        app.register_blueprint(module.bp)
    web.setup(app)

    app.register_error_handler(Exception, handle_error)
    app.before_request(limit_request_head)
    return app


def limit_request_head() -> None:
    """gunicorn's own limits answer in HTML, so they are lifted and enforced here, in JSON."""
    target = request.environ.get("RAW_URI") or request.full_path
    if len(target) > MAX_URL_BYTES:
        raise errors.UriTooLong(f"The request URL is longer than {MAX_URL_BYTES} bytes.")
    if sum(len(k) + len(v) for k, v in request.headers.items()) > MAX_HEADER_BYTES:
        raise errors.HeadersTooLarge(
            f"The request headers are larger than {MAX_HEADER_BYTES} bytes.")


def handle_error(exc: Exception) -> tuple[Response | str, int, dict[str, str]]:
    """Every error becomes `{"error": code, "message": text}` with the status and headers its
    class names; an unexpected exception is logged and answered without a stack trace.
    Console pages get the same as an HTML page."""
    if web.wants_html():
        return web.error_page(exc)
    if isinstance(exc, HTTPException):
        exc = _from_werkzeug(exc)
    if not isinstance(exc, errors.ApiError):
        log.exception("unhandled error")
        exc = errors.InternalError()
    return jsonify(exc.body()), exc.status_code, exc.headers()


def _from_werkzeug(exc: HTTPException) -> errors.ApiError:
    code = exc.code or 500
    if code == 404:
        return errors.NotFound("No such URL.")
    if code == 405:
        valid = getattr(exc, "valid_methods", None) or []
        return errors.MethodNotAllowed(allowed=list(valid))
    if code == 413:
        return errors.PayloadTooLarge(
            f"The request body is larger than {MAX_BODY_BYTES} bytes."
        )
    if code == 414:
        return errors.UriTooLong()
    if code == 415:
        return errors.UnsupportedMediaType()
    if 400 <= code < 500:
        return errors.HttpError(code, exc.description or "The request is invalid.")
    return errors.InternalError()
