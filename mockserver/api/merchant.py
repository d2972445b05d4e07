"""The merchant's "API Settings" tool: `/merchant/v1/…`, authenticated with the merchant key.
A merchant acts only on its own store; anything else is 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from mockserver.api.common import (
    body,
    query_choice,
    query_text,
    renewal_response,
    revocation_response,
    services,
    status_filter,
    token_response,
    token_to_wire,
    tokens_to_wire,
)
from mockserver.models import Store
from mockserver.partner_access import Scope
from mockserver.partner_tokens import MAX_VALIDITY_DAYS, MIN_VALIDITY_DAYS
from mockserver.wire import Field

bp = Blueprint("merchant_api", __name__, url_prefix="/merchant/v1")

RENEW_FIELDS = {
    "validity_days": Field(int, minimum=MIN_VALIDITY_DAYS, maximum=MAX_VALIDITY_DAYS),
    "email_copy": Field(bool),
}
REVOKE_FIELDS = {
    "token_ids": Field(list, required=True, min_items=1, max_items=100, item_kind=str),
}


@bp.before_request
def authenticate_merchant() -> None:
    key = request.headers.get("X-Merchant-Key")
    if not key:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        key = value.strip() if scheme.lower() == "bearer" else None
    g.store = services().tenants.authenticate_merchant(key)


def store() -> Store:
    current: Store = g.store
    return current


def scope() -> Scope:
    return Scope.merchant(store())


@bp.get("/store")
def get_store() -> Any:
    s = store()
    return jsonify({"store": {"id": s.id, "name": s.name, "plan": s.plan.value,
                              "email": s.email}})


@bp.get("/partners")
def list_partners() -> Any:
    return jsonify({"partners": services().partner_access.access_list(store())})


@bp.post("/partners")
def add_partner() -> Any:
    data = body({"partner_id": Field(str, required=True, max_length=100),
                 "email_copy": Field(bool)})
    access = services().partner_access
    issued = access.add_partner(store(), data["partner_id"],
                                email_copy=data.get("email_copy", False))
    now = access.now(scope())
    return jsonify({"token": token_to_wire(issued.token, now),
                    "token_value": issued.plaintext}), 201


@bp.delete("/partners/<partner_id>")
def remove_partner(partner_id: str) -> Any:
    access = services().partner_access
    revoked = access.revoke_all(store(), partner_id)
    return jsonify({"partner_id": partner_id, "removed": True,
                    "revoked": tokens_to_wire(revoked, access.now(scope()))})


@bp.get("/tokens")
def list_tokens() -> Any:
    access = services().partner_access
    tokens = access.tokens(scope(), partner_id=query_text("partner_id"),
                           statuses=status_filter(),
                           expiring=query_choice("expiring", ("true", "false")) == "true")
    return jsonify({"tokens": tokens_to_wire(tokens, access.now(scope()))})


@bp.get("/tokens/<token_id>")
def get_token(token_id: str) -> Any:
    return token_response(scope(), token_id)


@bp.post("/tokens/<token_id>/renew")
def renew_token(token_id: str) -> Any:
    data = body(RENEW_FIELDS, allow_empty=True)
    return renewal_response(scope(), token_id, data)


@bp.post("/tokens/revoke")
def revoke_tokens() -> Any:
    return revocation_response(scope(), body(REVOKE_FIELDS)["token_ids"])


@bp.post("/tokens/<token_id>/email-copy")
def email_copy(token_id: str) -> Any:
    data = body({"token_value": Field(str, required=True, max_length=200)})
    services().partner_access.email_copy(store(), token_id, data["token_value"])
    return jsonify({"token_id": token_id, "sent": True}), 202


@bp.get("/authorizations")
def list_authorizations() -> Any:
    """Seed 003's "Third-party authorizations" page: the apps authorized on the store."""
    return jsonify({"authorizations": services().oauth.authorizations(store())})


@bp.delete("/authorizations/<client_id>")
def revoke_authorization(client_id: str) -> Any:
    """Seed 003: revoking an app's authorization; it must be authorized again."""
    return jsonify({"authorization": services().oauth.revoke_authorization(
        store(), client_id, "merchant")})
