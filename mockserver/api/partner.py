"""The partner's "Manage Partner Tokens" tool: `/partner/v1/…`, authenticated with the
partner's client credentials over HTTP Basic. A partner sees only its own tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from mockserver import outbox
from mockserver.api.common import (
    body,
    query_choice,
    query_int,
    query_text,
    renewal_response,
    revocation_response,
    services,
    status_filter,
    token_response,
    tokens_to_wire,
)
from mockserver.api.merchant import RENEW_FIELDS, REVOKE_FIELDS
from mockserver.models import Partner
from mockserver.partner_access import Scope
from mockserver.partner_tokens import Status
from mockserver.wire import iso

bp = Blueprint("partner_api", __name__, url_prefix="/partner/v1")

VALID = (Status.ACTIVE, Status.NEW, Status.RENEWED)


@bp.before_request
def authenticate_partner() -> None:
    auth = request.authorization
    if auth is None or auth.type != "basic":
        g.partner = services().tenants.authenticate_partner(None, None)
    else:
        g.partner = services().tenants.authenticate_partner(auth.username, auth.password)


def partner() -> Partner:
    current: Partner = g.partner
    return current


def scope() -> Scope:
    return Scope.partner(partner())


@bp.get("/stores")
def list_stores() -> Any:
    rows = services().db.connection().execute(
        "SELECT s.id, s.name, s.plan, a.added_at FROM access_list a JOIN stores s "
        "ON s.id = a.store_id WHERE a.partner_id = ? ORDER BY a.added_at", (partner().id,))
    return jsonify({"stores": [{"id": r["id"], "name": r["name"], "plan": r["plan"],
                                "added_at": iso(r["added_at"])} for r in rows]})


@bp.get("/tokens")
def list_tokens() -> Any:
    """`tab=active` is the Active Tokens tab, `tab=expiring` the Expiring Tokens tab (valid
    tokens that expire within 30 days)."""
    tab = query_choice("tab", ("active", "expiring", "all")) or "all"
    statuses = status_filter()
    if tab != "all":
        statuses = [s for s in (statuses or VALID) if s in VALID]
    access = services().partner_access
    tokens = access.tokens(scope(), store_id=query_text("store_id"), statuses=statuses,
                           expiring=tab == "expiring")
    return jsonify({"tab": tab, "tokens": tokens_to_wire(tokens, access.now(scope()))})


@bp.get("/tokens/<token_id>")
def get_token(token_id: str) -> Any:
    return token_response(scope(), token_id)


@bp.post("/tokens/<token_id>/renew")
def renew_token(token_id: str) -> Any:
    data = body({"validity_days": RENEW_FIELDS["validity_days"]}, allow_empty=True)
    return renewal_response(scope(), token_id, data)


@bp.post("/tokens/revoke")
def revoke_tokens() -> Any:
    return revocation_response(scope(), body(REVOKE_FIELDS)["token_ids"])


@bp.get("/messages")
def list_messages() -> Any:
    """The partner's mailbox: renewal notices and token copies sent to it."""
    after = query_int("after_id", 0, 0, 2**62)
    messages = outbox.query(services().db.connection(), recipient_kind="partner",
                            recipient_id=partner().id, after_id=after)
    return jsonify({"messages": messages})
