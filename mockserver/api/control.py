"""The control API for tests and tools: `/_mock/…`. Open to loopback callers; anyone else needs
the control key in `X-Control-Key`."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from mockserver import events, outbox
from mockserver.api.common import body, query_choice, query_int, query_text, services
from mockserver.clock import Clock, ClockState
from mockserver.credentials import same
from mockserver.errors import ControlForbidden, ValidationFailed
from mockserver.models import Plan
from mockserver.seed import reseed
from mockserver.wire import LATEST_YEAR, Field, iso, parse_iso

bp = Blueprint("control_api", __name__, url_prefix="/_mock")

DAY = 86_400
MAX_ADVANCE = 100 * 365 * DAY


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@bp.before_request
def guard() -> None:
    key: str | None = current_app.config.get("CONTROL_KEY")
    presented = request.headers.get("X-Control-Key")
    if key and presented is not None and same(presented, key):
        return
    if is_loopback(request.remote_addr) and not current_app.config.get("CONTROL_REQUIRE_KEY"):
        return
    raise ControlForbidden()


def sandbox() -> str:
    """The `sandbox` query parameter (default `default`), checked like every other input."""
    return query_text("sandbox", max_length=64) or "default"


def clock() -> Clock:
    return services().clock(sandbox())


def clock_view(c: Clock) -> dict[str, Any]:
    state = c.state()
    now = c.now()
    return {"now": iso(now), "epoch": now.timestamp(), "frozen": state.frozen,
            "offset_seconds": state.offset_seconds, "sandbox": c.sandbox}


@bp.get("/clock")
def get_clock() -> Any:
    return jsonify(clock_view(clock()))


@bp.post("/clock/set")
def set_clock() -> Any:
    data = body({"now": Field(str, required=True, max_length=64), "frozen": Field(bool)})
    c = clock()
    with services().db.write():
        if data.get("frozen") is True:
            c.freeze()
        elif data.get("frozen") is False:
            c.unfreeze()
        c.set(parse_iso(data["now"], "now"))
    return jsonify(clock_view(c))


@bp.post("/clock/advance")
def advance_clock() -> Any:
    units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": DAY}
    data = body({name: Field((int, float), minimum=0) for name in units})
    if not data:
        raise ValidationFailed("Give at least one of: seconds, minutes, hours, days.")
    total = 0.0
    for name, value in data.items():
        if value < 0:
            raise ValidationFailed(f"'{name}' must not be negative.", field=name)
        total += value * units[name]
    if total > MAX_ADVANCE:
        raise ValidationFailed("Advance by at most 100 years at a time.")
    c = clock()
    with services().db.write():
        target = c.now() + timedelta(seconds=total)
        if target.year > LATEST_YEAR:
            raise ValidationFailed(f"The clock cannot go past the year {LATEST_YEAR}.")
        c.set(target)
    return jsonify(clock_view(c))


@bp.post("/clock/freeze")
def freeze_clock() -> Any:
    c = clock()
    with services().db.write():
        c.freeze()
    return jsonify(clock_view(c))


@bp.post("/clock/unfreeze")
def unfreeze_clock() -> Any:
    c = clock()
    with services().db.write():
        c.unfreeze()
    return jsonify(clock_view(c))


@bp.post("/clock/skew")
def skew_clock() -> Any:
    """The server clock follows the process clock with this offset (and is unfrozen): a
    client judging expiry by its own clock alone sees tokens fail early or late."""
    data = body({"seconds": Field((int, float), required=True)})
    seconds = float(data["seconds"])
    if abs(seconds) > MAX_ADVANCE:
        raise ValidationFailed("Skew by at most 100 years.", field="seconds")
    c = clock()
    with services().db.write():
        c.store.save_clock(c.sandbox, ClockState(offset_seconds=seconds))
    return jsonify(clock_view(c))


@bp.post("/clock/reset")
def reset_clock() -> Any:
    c = clock()
    with services().db.write():
        c.reset()
    return jsonify(clock_view(c))


@bp.post("/reset")
def reset() -> Any:
    """Everything back to the seed: a fresh demo world with new secrets, the clock reset."""
    return jsonify(reseed(services()))


@bp.get("/stores")
def list_stores() -> Any:
    return jsonify({"stores": [
        {"id": s.id, "name": s.name, "plan": s.plan.value, "email": s.email,
         "sandbox": s.sandbox, "created_at": iso(s.created_at)}
        for s in services().tenants.stores()
    ]})


@bp.post("/stores")
def create_store() -> Any:
    data = body({
        "name": Field(str, required=True, max_length=200),
        "plan": Field(str, required=True, choices=tuple(p.value for p in Plan)),
        "id": Field(str, max_length=64),
        "email": Field(str, max_length=200),
    })
    svc = services()
    _check_id(data.get("id"))
    with svc.db.write() as conn:
        created = svc.tenants.create_store(conn, name=data["name"], plan=Plan(data["plan"]),
                                           email=data.get("email"), store_id=data.get("id"))
    s = created.store
    return jsonify({"store": {"id": s.id, "name": s.name, "plan": s.plan.value, "email": s.email,
                              "sandbox": s.sandbox, "created_at": iso(s.created_at)},
                    "merchant_key": created.merchant_key}), 201


@bp.get("/partners")
def list_partners() -> Any:
    return jsonify({"partners": [_partner_view(p) for p in services().tenants.partners()]})


@bp.post("/partners")
def create_partner() -> Any:
    data = body({
        "name": Field(str, required=True, max_length=200),
        "id": Field(str, max_length=64),
        "email": Field(str, max_length=200),
        "redirect_uri": Field(str, max_length=500),
    })
    _check_id(data.get("id"))
    svc = services()
    with svc.db.write() as conn:
        partner = svc.tenants.create_partner(conn, name=data["name"], partner_id=data.get("id"),
                                             email=data.get("email"),
                                             redirect_uri=data.get("redirect_uri"))
    return jsonify({"partner": _partner_view(partner)}), 201


@bp.get("/events")
def list_events() -> Any:
    return jsonify({"events": events.query(
        services().db, sandbox(),
        after_id=query_int("after_id", 0, 0, 2**62), kind=query_text("kind"),
        token_id=query_text("token_id"), store_id=query_text("store_id"),
        partner_id=query_text("partner_id"), limit=query_int("limit", 1000, 1, 10_000),
    )})


@bp.get("/outbox")
def list_outbox() -> Any:
    return jsonify({"messages": outbox.query(
        services().db.connection(), sandbox(),
        recipient_kind=query_choice("recipient_kind", ("merchant", "partner")),
        recipient_id=query_text("recipient_id"), after_id=query_int("after_id", 0, 0, 2**62),
    )})


def _check_id(value: str | None) -> None:
    if value is not None and not all(ch.isalnum() or ch in "-_." for ch in value):
        raise ValidationFailed("'id' may hold letters, digits, '-', '_' and '.' only.",
                               field="id")


def _partner_view(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "email": p.email, "client_id": p.client_id,
            "client_secret": p.client_secret, "redirect_uri": p.redirect_uri,
            "sandbox": p.sandbox, "created_at": iso(p.created_at)}
