"""The error hierarchy. Each class is keyed by its wire code; one handler in `app.py` turns any
of them into a JSON body `{"error": code, "message": text}` plus its headers."""

from __future__ import annotations

from typing import Any, ClassVar

REALM = "store-api"


class ApiError(Exception):
    """Base of every error the mock answers with on purpose."""

    status_code: int = 400
    error: str = "invalid_request"
    message: str = "The request is invalid."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message or self.message)
        self.description = message or self.message
        self.details = details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "message": self.description}
        body.update(self.details)
        return body

    def headers(self) -> dict[str, str]:
        return {}


# --- 400 family -------------------------------------------------------------------------

class InvalidRequest(ApiError):
    error = "invalid_request"


class HttpError(ApiError):
    """A 4xx raised by the HTTP layer itself (werkzeug), with its own status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class InvalidJson(ApiError):
    error = "invalid_json"
    message = "The request body is not valid JSON."


class ValidationFailed(ApiError):
    error = "validation_error"
    message = "The request does not match the expected shape."


class UnsupportedMediaType(ApiError):
    status_code = 415
    error = "unsupported_media_type"
    message = "Send the body as application/json."


class PayloadTooLarge(ApiError):
    status_code = 413
    error = "payload_too_large"
    message = "The request body is larger than the server accepts."


class NotFound(ApiError):
    """Also answers every cross-tenant attempt, so existence never leaks."""

    status_code = 404
    error = "not_found"
    message = "No such resource."


class MethodNotAllowed(ApiError):
    status_code = 405
    error = "method_not_allowed"
    message = "The method is not allowed for this URL."

    def __init__(self, message: str | None = None, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.allowed = allowed or []

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)} if self.allowed else {}


class Conflict(ApiError):
    status_code = 409
    error = "conflict"
    message = "The resource is not in a state that allows this."


class TokenNotRenewable(Conflict):
    """Seed 000: only a valid, not yet renewed token can be renewed."""

    error = "token_not_renewable"


class PartnerAlreadyAdded(Conflict):
    error = "partner_already_added"
    message = "The partner is already on the store's API access list."


# --- 401 / 403: who is calling ----------------------------------------------------------

class BearerChallenge(ApiError):
    """RFC 6750 §3: 401 with a Bearer challenge naming `invalid_token`."""

    status_code = 401
    error = "invalid_token"
    message = "The access token is invalid."
    rfc6750_error: ClassVar[str | None] = "invalid_token"

    def headers(self) -> dict[str, str]:
        if self.rfc6750_error is None:
            return {"WWW-Authenticate": f'Bearer realm="{REALM}"'}
        description = self.description.replace('"', "'")
        return {
            "WWW-Authenticate": (
                f'Bearer realm="{REALM}", error="{self.rfc6750_error}", '
                f'error_description="{description}"'
            )
        }


class MissingToken(BearerChallenge):
    """RFC 6750 §3.1: no credentials → a bare challenge with no error code."""

    error = "missing_token"
    message = "Send a token as 'Authorization: Bearer <token>' or 'X-Access-Token'."
    rfc6750_error = None


class TokenUnknown(BearerChallenge):
    error = "token_unknown"
    message = "The access token is not recognised."


class TokenExpired(BearerChallenge):
    error = "token_expired"
    message = "The access token expired"


class TokenRevoked(BearerChallenge):
    error = "token_revoked"
    message = "The access token was revoked"


class MerchantAuthRequired(ApiError):
    status_code = 401
    error = "merchant_auth_required"
    message = "Send the store's merchant key as 'X-Merchant-Key' or 'Authorization: Bearer'."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="merchant-api"'}


class PartnerAuthRequired(ApiError):
    status_code = 401
    error = "partner_auth_required"
    message = "Authenticate with the partner's client_id and client_secret over HTTP Basic."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="partner-api"'}


class PlanNotSupported(ApiError):
    """Seed 000: APIs are available on Standard, Professional and Store v.1, not Starter."""

    status_code = 403
    error = "plan_not_supported"
    message = "APIs are not available on the Starter plan."


class ControlForbidden(ApiError):
    status_code = 403
    error = "control_forbidden"
    message = "The control API needs the control key from non-loopback callers."


class InsufficientScope(BearerChallenge):
    """RFC 6750 §3.1: the token lacks the scope the resource needs → 403."""

    status_code = 403
    error = "insufficient_scope"
    message = "The access token does not carry the scope this call needs."
    rfc6750_error = "insufficient_scope"


class InternalError(ApiError):
    """Never meant to be seen: a bug. The body carries no stack trace."""

    status_code = 500
    error = "internal_error"
    message = "The mock hit an unexpected error; nothing was changed."
