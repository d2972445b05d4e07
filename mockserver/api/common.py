"""Helpers shared by the blueprints: reaching the services, parsing bodies and queries,
rendering partner tokens."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app, jsonify, request

from mockserver.errors import ValidationFailed
from mockserver.partner_access import Scope
from mockserver.partner_tokens import PartnerToken, Status
from mockserver.services import Services
from mockserver.wire import Field, iso, parse_json, validate


def services() -> Services:
    svc: Services = current_app.extensions["mockserver"]
    return svc


def body(fields: Mapping[str, Field], allow_empty: bool = False) -> dict[str, Any]:
    """The request's JSON object, checked against `fields`."""
    raw = request.get_data(cache=True)
    return validate(parse_json(raw, request.content_type, allow_empty), fields)


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(
            f"Query parameter '{name}' must be an integer.", field=name
        ) from None
    if not minimum <= value <= maximum:
        raise ValidationFailed(
            f"Query parameter '{name}' must be from {minimum} to {maximum}.", field=name
        )
    return value


def query_choice(name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise ValidationFailed(
            f"Query parameter '{name}' must be one of: {', '.join(choices)}.", field=name
        )
    return raw


def query_text(name: str, max_length: int = 200) -> str | None:
    raw = request.args.get(name)
    if raw is not None and (not raw or len(raw) > max_length):
        raise ValidationFailed(f"Query parameter '{name}' is empty or too long.", field=name)
    return raw


def status_filter() -> list[Status] | None:
    raw = query_choice("status", tuple(s.value for s in Status))
    return None if raw is None else [Status(raw)]


def token_to_wire(token: PartnerToken, now: datetime) -> dict[str, Any]:
    return {
        "id": token.id,
        "store_id": token.store_id,
        "partner_id": token.partner_id,
        "status": token.status(now).value,
        "issued_at": iso(token.issued_at),
        "expires_at": iso(token.expires_at),
        "expires_in": max(0, int(token.expires_at - now.timestamp())),
        "expiring": token.is_expiring(now),
        "issued_by": token.issued_by,
        "predecessor_id": token.predecessor_id,
        "successor_id": token.successor_id,
        "renewed_at": iso(token.renewed_at),
        "renewed_by": token.renewed_by,
        "first_used_at": iso(token.first_used_at),
        "revoked_at": iso(token.revoked_at),
        "revoked_by": token.revoked_by,
    }


def tokens_to_wire(tokens: list[PartnerToken], now: datetime) -> list[dict[str, Any]]:
    return [token_to_wire(t, now) for t in tokens]


def renewal_response(scope: Scope, token_id: str, data: dict[str, Any]) -> tuple[Any, int]:
    """Renews for the merchant or the partner; answers with the successor (its plaintext, once)
    and the original."""
    access = services().partner_access
    issued = access.renew(scope, token_id, validity_days=data.get("validity_days"),
                          email_copy=data.get("email_copy", False))
    now = access.now(scope)
    return jsonify({"token": token_to_wire(issued.token, now), "token_value": issued.plaintext,
                    "original": token_to_wire(access.token(token_id), now)}), 201


def revocation_response(scope: Scope, token_ids: list[str]) -> Any:
    access = services().partner_access
    revoked, still_valid = access.revoke(scope, token_ids)
    now = access.now(scope)
    return jsonify({"revoked": tokens_to_wire(revoked, now),
                    "still_valid": tokens_to_wire(still_valid, now)})


def token_response(scope: Scope, token_id: str) -> Any:
    access = services().partner_access
    return jsonify({"token": token_to_wire(access.token(token_id, scope), access.now(scope))})
