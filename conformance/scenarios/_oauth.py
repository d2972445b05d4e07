"""Shared reading of the OAuth events (not a scenario module)."""

from __future__ import annotations

from typing import Any

from conformance.harness import Call, Kit

#: A request in flight for up to this long is modelled by running the server's clock this
#: far ahead of the client's in `proactive-refresh`.
IN_FLIGHT_SECONDS = 5


def refreshes(kit: Kit, *, whole: bool = False) -> list[dict[str, Any]]:
    return kit.events("oauth.refresh.succeeded", whole=whole)


def refresh_attempts(kit: Kit, *, whole: bool = False) -> list[dict[str, Any]]:
    """Every refresh request the token endpoint saw: answered, refused or hit by a fault."""
    return [e for e in kit.events(whole=whole)
            if e["kind"].startswith("oauth.refresh.") or e["kind"] == "fault.fired"]


def expired_rejections(kit: Kit, *, whole: bool = False) -> list[dict[str, Any]]:
    return [e for e in kit.events("oauth.access.rejected", whole=whole)
            if "expire" in str(e["detail"].get("reason", ""))]


def names_reauthorization(call: Call) -> bool:
    """Did the failure say that re-authorization is needed?"""
    from conformance.adapter import ReauthorizationRequired

    if isinstance(call.exception, ReauthorizationRequired):
        return True
    if getattr(call.exception, "reauthorization_required", False):
        return True
    text = f"{call.error_type} {call.error} {getattr(call.exception, 'error', '')}".lower()
    if "invalid_grant" in text or "reauthoriz" in text or "invalidgrant" in text:
        return True
    body = call.body if isinstance(call.body, dict) else {}
    return body.get("error") in ("invalid_grant", "authorization_revoked")


def describe(events: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e['kind']} {e['detail'].get('reason', '')}".strip() for e in events[:5])
