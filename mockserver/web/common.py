"""What every console page shares: the blueprint, who is signed in, CSRF, form parsing, and
errors shown as pages or messages instead of JSON."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from mockserver.api.common import services
from mockserver.credentials import same
from mockserver.errors import (
    ApiError,
    CsrfFailed,
    HttpError,
    InternalError,
    NotFound,
    ValidationFailed,
)
from mockserver.models import Partner, Store
from mockserver.partner_tokens import PartnerToken, Status
from mockserver.services import Services
from mockserver.wire import iso

PREFIX = "/console"
STATIC = Path(__file__).resolve().parent.parent / "static"

bp = Blueprint("console", __name__, url_prefix=PREFIX, static_folder=str(STATIC),
               static_url_path="/static")

#: Most ids a form may name at once (as in the JSON APIs).
MAX_IDS = 100

View = TypeVar("View", bound=Callable[..., Any])


#: Why a console form without the session's CSRF token is refused.
CSRF_MESSAGE = ("The form was not accepted: it is older than your session or cookies are off. "
                "Reload the page and try again.")


# --- session and identity ---------------------------------------------------------------

def csrf_token() -> str:
    """The session's CSRF token, put in every form as the hidden field `csrf_token`."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Raises `CsrfFailed` unless the posted `csrf_token` matches the session's; every
    console POST goes through it (`protect_forms`)."""
    expected = session.get("csrf")
    presented = request.form.get("csrf_token", "")
    if not isinstance(expected, str) or not same(presented, expected):
        raise CsrfFailed(CSRF_MESSAGE)


@bp.before_request
def protect_forms() -> None:
    if request.method == "POST":
        check_csrf()


def sign_in(kind: str, tenant_id: str) -> None:
    """A fresh session (new CSRF token) for a merchant's store or a partner."""
    digest = services().tenants.credential_digest(kind, tenant_id)
    session.clear()
    forget_signed_in()
    session["who"] = {"kind": kind, "id": tenant_id, "digest": digest}
    csrf_token()


def forget_signed_in() -> None:
    """Drops this request's memo of `signed_in()`: call it after the session or the stored
    credentials change (sign-in, sign-out, a reset of the world)."""
    g.pop("signed_in", None)


def signed_in() -> tuple[str, str] | None:
    """(kind, id) of the session, if its credential is still the current one. Checked once
    per request (`requires` and `page` both ask)."""
    if "signed_in" not in g:
        g.signed_in = _check_signed_in()
    who: tuple[str, str] | None = g.signed_in
    return who


def _check_signed_in() -> tuple[str, str] | None:
    who = session.get("who")
    if not isinstance(who, dict):
        return None
    kind, tenant_id, digest = who.get("kind"), who.get("id"), who.get("digest")
    if kind not in ("merchant", "partner") or not isinstance(tenant_id, str):
        return None
    current = services().tenants.credential_digest(kind, tenant_id)
    if current is None or not isinstance(digest, str) or not same(current, digest):
        session.pop("who", None)
        return None
    return kind, tenant_id


def requires(kind: str) -> Callable[[View], View]:
    """The view needs a signed-in merchant (`g.store`) or partner (`g.partner`)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = signed_in()
            if who is None or who[0] != kind:
                label = "a merchant" if kind == "merchant" else "a partner"
                flash(f"Sign in as {label} to open that page.", "info")
                return redirect(url_for("console.sign_in_page", role=kind))
            if kind == "merchant":
                g.store = services().tenants.store(who[1])
            else:
                g.partner = services().tenants.partner(who[1])
            return view(*args, **kwargs)

        return cast(View, wrapper)

    return decorate


def current_store() -> Store:
    store: Store = g.store
    return store


def current_partner() -> Partner:
    partner: Partner = g.partner
    return partner


def action(back: Callable[[], str]) -> Callable[[View], View]:
    """A form handler: an error from the services becomes a message on the page it came from
    (redirect to `back()`), never an error page or a stack trace."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except ApiError as exc:
                if isinstance(exc, CsrfFailed):
                    raise
                flash(exc.description, "error")
                return redirect(back())

        return cast(View, wrapper)

    return decorate


# --- forms --------------------------------------------------------------------------------

def form_ids(name: str = "token_ids") -> list[str]:
    ids = request.form.getlist(name)
    if len(ids) > MAX_IDS or any(not i or len(i) > 100 for i in ids):
        raise ValidationFailed("The selection is not valid.", field=name)
    return list(dict.fromkeys(ids))


def form_text(name: str, label: str, max_length: int = 200, required: bool = True) -> str:
    value = request.form.get(name, "").strip()
    if required and not value:
        raise ValidationFailed(f"Enter the {label}.", field=name)
    if len(value) > max_length:
        raise ValidationFailed(f"The {label} is too long.", field=name)
    return value


def form_int(name: str, label: str) -> int:
    raw = request.form.get(name, "").strip()
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(f"Choose the {label}.", field=name) from None


def form_flag(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


# --- rendering ----------------------------------------------------------------------------

STATUS_LABELS = {Status.NEW: "New", Status.ACTIVE: "Active", Status.RENEWED: "Renewed",
                 Status.REVOKED: "Revoked", Status.EXPIRED: "Expired"}


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    who = signed_in() if "who" in session else None
    return render_template(template, who=who, **context), status


def describe(token: PartnerToken, now: datetime) -> dict[str, Any]:
    """What the token tables show for one token."""
    status = token.status(now)
    return {
        "id": token.id, "store_id": token.store_id, "partner_id": token.partner_id,
        "status": status.value, "status_label": STATUS_LABELS[status],
        "valid": token.is_valid(now), "expiring": token.is_expiring(now),
        "renewable": status in (Status.NEW, Status.ACTIVE),
        "issued_at": iso(token.issued_at), "expires_at": iso(token.expires_at),
        "expires_in": relative(token.expires_at - now.timestamp()),
        "issued_by": token.issued_by, "predecessor_id": token.predecessor_id,
        "successor_id": token.successor_id, "revoked_at": iso(token.revoked_at),
        "revoked_by": token.revoked_by, "first_used_at": iso(token.first_used_at),
    }


def relative(seconds: float) -> str:
    """'in 3 days' / '2 hours ago', to the largest whole unit."""
    ahead = seconds >= 0
    left = abs(seconds)
    units = (("year", 365 * 86_400), ("day", 86_400), ("hour", 3600), ("minute", 60),
             ("second", 1))
    unit, size = next(((u, s) for u, s in units if left >= s), units[-1])
    count = round(left / size)
    text = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"in {text}" if ahead else f"{text} ago"


def error_page(exc: Exception) -> tuple[str, int, dict[str, str]]:
    """A console URL's error as an HTML page with the same status the JSON API would use."""
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        exc = (NotFound("There is no console page at this address.") if code == 404
               else HttpError(code, exc.description or "The request is invalid.")
               if 400 <= code < 500 else InternalError())
    if not isinstance(exc, ApiError):
        current_app.logger.exception("unhandled console error")
        exc = InternalError()
    headers = {k: v for k, v in exc.headers().items() if k == "Allow"}
    try:
        body, status = page("error.html", exc.status_code, error=exc)
    except Exception:  # the error page itself failed: still no stack trace
        current_app.logger.exception("console error page failed")
        body, status = f"<!doctype html><title>Error</title><p>{escape(exc.description)}</p>", \
            exc.status_code
    return body, status, headers


def wants_html() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def setup(app: Flask) -> None:
    """Console needs: a per-database secret for the signed session cookie, shared by every
    worker; the CSRF token in every template."""
    svc: Services = app.extensions["mockserver"]
    app.secret_key = svc.db.secret("console_secret_key")
    app.config["SESSION_COOKIE_NAME"] = "mock_console"
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.globals["console_css"] = lambda: url_for("console.static", filename="console.css")
