"""The OAuth part of the control API (`/_mock/…`, same guard as the rest): headless consent,
tokens without the code flow, session tokens, early invalidation, authorization revocation,
scripted faults and the OAuth settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from mockserver.api.common import body, services
from mockserver.api.control import guard
from mockserver.api.oauth import token_response
from mockserver.errors import ValidationFailed
from mockserver.oauth import faults
from mockserver.oauth.consent import Redirectable
from mockserver.wire import Field, parse_json

bp = Blueprint("control_oauth", __name__, url_prefix="/_mock")
bp.before_request(guard)

ID = Field(str, required=True, max_length=200)


@bp.post("/oauth/approve")
def approve() -> Any:
    """Headless consent: what the merchant's Approve button does, without a browser."""
    data = body({
        "store_id": ID, "client_id": ID, "scope": Field(str, required=True, max_length=500),
        "redirect_uri": Field(str, max_length=500), "state": Field(str, max_length=500),
        "code_challenge": Field(str, max_length=200),
        "code_challenge_method": Field(str, max_length=20),
    })
    svc = services()
    store = svc.tenants.store(data.pop("store_id"))
    try:
        req = svc.oauth.parse_authorize({"response_type": "code", **data})
    except Redirectable as exc:
        raise exc.error from None
    code, location = svc.oauth.approve(req, store, actor="control")
    return jsonify({"code": code, "redirect_to": location, "state": req.state})


@bp.post("/oauth/tokens")
def mint_tokens() -> Response:
    data = body({"store_id": ID, "client_id": ID, "scope": Field(str, max_length=500),
                 "expiring": Field(bool)})
    svc = services()
    store = svc.tenants.store(data["store_id"])
    issued = svc.oauth.mint(store, data["client_id"], data.get("scope"),
                            data.get("expiring", True))
    return token_response(issued.body)


@bp.post("/oauth/session-token")
def session_token() -> Any:
    data = body({"store_id": ID, "client_id": ID, "user_id": Field(str, max_length=200)})
    svc = services()
    store = svc.tenants.store(data["store_id"])
    return jsonify(svc.oauth.session_token(store, data["client_id"], data.get("user_id")))


@bp.post("/oauth/invalidate")
def invalidate() -> Any:
    data = body({"access_token": Field(str, max_length=500),
                 "family_id": Field(str, max_length=200)})
    if len(data) != 1:
        raise ValidationFailed("Give exactly one of 'access_token' or 'family_id'.")
    ids = services().oauth.invalidate(data.get("access_token"), data.get("family_id"))
    return jsonify({"invalidated": ids})


@bp.post("/oauth/revoke-authorization")
def revoke_authorization() -> Any:
    data = body({"store_id": ID, "client_id": ID,
                 "by": Field(str, required=True, choices=("merchant", "platform"))})
    svc = services()
    store = svc.tenants.store(data["store_id"])
    return jsonify({"authorization": svc.oauth.revoke_authorization(store, data["client_id"],
                                                                    data["by"])})


# --- faults -----------------------------------------------------------------------------

@bp.post("/faults")
def inject_fault() -> Any:
    data = body({
        "kind": Field(str, required=True, choices=tuple(k.value for k in faults.FaultKind)),
        "status": Field(int, minimum=400, maximum=599),
        "count": Field(int, minimum=1, maximum=faults.MAX_COUNT),
        "retry_after": Field(int, minimum=0, maximum=faults.MAX_RETRY_AFTER),
    })
    if data.get("status") is not None and data["status"] not in faults.ERROR_STATUSES:
        raise ValidationFailed("'status' must be 500, 503 or 429.", field="status")
    kind, status, retry_after, count = faults.check_spec(data)
    svc = services()
    with svc.db.write() as conn:
        fault = faults.inject(conn, kind, status, retry_after, count, svc.clock().now())
    return jsonify({"fault": fault.to_wire()}), 201


@bp.get("/faults")
def list_faults() -> Any:
    return jsonify({"faults": [f.to_wire() for f in
                               faults.pending(services().db.connection())]})


@bp.delete("/faults")
def clear_faults() -> Any:
    with services().db.write() as conn:
        cleared = faults.clear(conn)
    return jsonify({"cleared": cleared})


# --- settings ---------------------------------------------------------------------------

def _settings_body() -> Any:
    return parse_json(request.get_data(cache=True), request.content_type)


@bp.get("/settings")
def get_settings() -> Any:
    return jsonify(services().oauth.settings_view())


@bp.put("/settings")
def put_settings() -> Any:
    return jsonify(services().oauth.put_settings(_settings_body()))


@bp.get("/partners/<partner_id>/settings")
def get_partner_settings(partner_id: str) -> Any:
    return jsonify(services().oauth.settings_view(partner_id))


@bp.put("/partners/<partner_id>/settings")
def put_partner_settings(partner_id: str) -> Any:
    return jsonify(services().oauth.put_settings(_settings_body(), partner_id))
