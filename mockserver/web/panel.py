"""The mock's control panel at `/console/mock`: virtual time, world reset, event timeline and
outbox. Guarded like the control API: open to loopback callers, anyone else enters the
control key once per session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, flash, redirect, request, session, url_for

from mockserver import events, outbox
from mockserver.api.common import services
from mockserver.api.control import is_loopback
from mockserver.clock import Clock
from mockserver.credentials import same
from mockserver.errors import ValidationFailed
from mockserver.partner_access import Scope
from mockserver.seed import reseed
from mockserver.web.common import (
    action,
    bp,
    describe,
    forget_signed_in,
    form_flag,
    form_text,
    page,
)
from mockserver.wire import iso

#: The advance buttons: (form value, label, seconds).
STEPS = (("1h", "+1 hour", 3600), ("1d", "+1 day", 86_400), ("30d", "+30 days", 30 * 86_400))
TIMELINE_LENGTH = 200


def control_allowed() -> bool:
    if session.get("control") is True:
        return True
    return (is_loopback(request.remote_addr)
            and not current_app.config.get("CONTROL_REQUIRE_KEY"))


def sandbox() -> str:
    name = request.values.get("sandbox", "default")
    if not name or len(name) > 64:
        raise ValidationFailed("The sandbox name is not valid.")
    return name


def clock() -> Clock:
    return services().clock(sandbox())


def _panel_home() -> str:
    return url_for("console.panel", sandbox=request.values.get("sandbox", "default"))


@bp.get("/mock")
def panel() -> Any:
    if not control_allowed():
        return page("panel_unlock.html", 403)
    return panel_page()


def panel_page(world: dict[str, Any] | None = None) -> Any:
    svc = services()
    c = clock()
    state = c.state()
    now = Clock.at(state)
    tokens = []
    for store in svc.tenants.stores(c.sandbox):
        tokens += [describe(t, now) for t in svc.partner_access.tokens(Scope.merchant(store))
                   if t.is_valid(now)]
    tokens.sort(key=lambda t: t["expires_at"])
    conn = svc.db.connection()
    return page(
        "panel.html", sandbox=c.sandbox, now=iso(now), frozen=state.frozen,
        offset=state.offset_seconds, steps=STEPS, tokens=tokens, world=world,
        timeline=events.query(svc.db, c.sandbox, limit=TIMELINE_LENGTH, newest_first=True),
        messages=outbox.query(conn, c.sandbox, limit=TIMELINE_LENGTH, newest_first=True),
    )


@bp.post("/mock/unlock")
@action(back=_panel_home)
def panel_unlock() -> Any:
    key = current_app.config.get("CONTROL_KEY")
    presented = form_text("control_key", "control key", 200)
    if not key or not same(presented, key):
        raise ValidationFailed("The control key is not right.")
    session["control"] = True
    flash("Control panel unlocked for this session.", "success")
    return redirect(_panel_home())


def guarded() -> Any:
    if not control_allowed():
        flash("The control panel needs the control key from this address.", "error")
        return redirect(_panel_home())
    return None


@bp.post("/mock/clock")
@action(back=_panel_home)
def panel_clock() -> Any:
    """One form, one button per move: advance by a step, to just past a token's expiry,
    freeze, unfreeze or reset."""
    if (refused := guarded()) is not None:
        return refused
    move = request.form.get("move", "")
    c = clock()
    steps = {value: (label, seconds) for value, label, seconds in STEPS}
    with services().db.write():
        if move in steps:
            label, seconds = steps[move]
            c.advance(seconds)
            done = f"Advanced the clock {label.lstrip('+')} (+{seconds} s)."
        elif move == "to-expiry":
            done = _to_expiry(c)
        elif move == "freeze":
            c.freeze()
            done = "The clock is frozen."
        elif move == "unfreeze":
            c.unfreeze()
            done = "The clock runs again."
        elif move == "reset":
            c.reset()
            done = "The clock follows real time again."
        else:
            raise ValidationFailed("Unknown clock action.")
    flash(f"{done} Virtual time is now {iso(c.now())}.", "success")
    return redirect(_panel_home())


def _to_expiry(c: Clock) -> str:
    token_id = form_text("token_id", "token")
    token = services().partner_access.token(token_id)
    if services().tenants.store(token.store_id).sandbox != c.sandbox:
        raise ValidationFailed(f"Token {token_id} is not in this sandbox.")
    target = token.expires_at + 1
    if target <= c.now().timestamp():
        raise ValidationFailed(f"Token {token_id} has expired already.")
    c.set(datetime.fromtimestamp(target, UTC))
    return f"Moved one second past the expiry of {token_id}."


@bp.post("/mock/reset")
@action(back=_panel_home)
def panel_reset() -> Any:
    """Back to the seed world with new secrets; the new credentials are shown once here."""
    if (refused := guarded()) is not None:
        return refused
    if not form_flag("confirm"):
        raise ValidationFailed("Tick the box to confirm the reset of the world.")
    world = reseed(services())
    forget_signed_in()
    flash("The world was reset to the seed: new secrets, clock reset, events cleared.",
          "success")
    return panel_page(world)
