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


class UriTooLong(ApiError):
    status_code = 414
    error = "uri_too_long"
    message = "The request URL is longer than the server accepts."


class HeadersTooLarge(ApiError):
    status_code = 431
    error = "headers_too_large"
    message = "The request headers are larger than the server accepts."


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


class AuthorizationRevoked(BearerChallenge):
    """Seed 003: the merchant (or the platform) revoked the app's authorization for the store;
    every token of it fails until the app is authorized again through `/oauth/authorize`."""

    error = "authorization_revoked"
    message = ("The authorization for this app was revoked; the token must be re-created by "
               "sending the merchant through /oauth/authorize again.")


# --- OAuth 2.0 endpoint errors (RFC 6749 §5.2, RFC 7009, RFC 8693) -----------------------

#: RFC 6749 §5.1: token responses, and their errors, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(ApiError):
    """Errors of the OAuth endpoints, answered in RFC 6749 §5.2 form
    `{"error": code, "error_description": text}` and never cached."""

    error = "invalid_request"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "error_description": self.description,
                                "message": self.description}
        body.update(self.details)
        return body

    def headers(self) -> dict[str, str]:
        return dict(NO_STORE)  # a copy: subclasses add to it


class OAuthInvalidRequest(OAuthError):
    """§5.2: a missing, repeated or malformed parameter, or an unsupported content type."""

    error = "invalid_request"
    message = "The request is missing a parameter or is malformed."


class InvalidClient(OAuthError):
    """§5.2: client authentication failed; 401, with a Basic challenge when Basic was used."""

    status_code = 401
    error = "invalid_client"
    message = "Client authentication failed."

    def __init__(self, message: str | None = None, *, basic: bool = False,
                 **details: Any) -> None:
        super().__init__(message, **details)
        self.basic = basic

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.basic:
            headers["WWW-Authenticate"] = 'Basic realm="oauth"'
        return headers


class InvalidGrant(OAuthError):
    """§5.2: the code or refresh token is invalid, expired, revoked or issued to another
    client, or the redirect URI or PKCE verifier does not match."""

    error = "invalid_grant"
    message = "The grant is invalid, expired or revoked."


class UnauthorizedClient(OAuthError):
    """§5.2: this client may not use this grant type (here: not authorized on the store)."""

    error = "unauthorized_client"
    message = "The client is not authorized to use this grant."


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    message = "The grant type is not supported."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    message = "The requested scope is invalid or exceeds the granted scope."


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1: only the authorization code flow is offered."""

    error = "unsupported_response_type"
    message = "Only response_type=code is supported."


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1: the merchant denied the request on the consent page."""

    error = "access_denied"
    message = "The merchant denied the request."


class InvalidSubjectToken(OAuthError):
    """Platform rule: a bad session token in a token exchange → 400 `invalid_subject_token`."""

    error = "invalid_subject_token"
    message = "The subject token is invalid."


class UnsupportedTokenType(OAuthError):
    """RFC 7009 §2.2.1: the server does not revoke this type of token."""

    error = "unsupported_token_type"
    message = "The token type is not supported."


class OAuthServerError(OAuthError):
    """An injected fault: the token endpoint answers 500 `server_error`."""

    status_code = 500
    error = "server_error"
    message = "The authorization server hit an error (injected fault)."


class TemporarilyUnavailable(OAuthError):
    """An injected fault: 503 `temporarily_unavailable` with `Retry-After`."""

    status_code = 503
    error = "temporarily_unavailable"
    message = "The authorization server is temporarily unavailable (injected fault)."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None,
                 **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class TooManyRequests(TemporarilyUnavailable):
    """An injected fault: 429 `too_many_requests` with `Retry-After`."""

    status_code = 429
    error = "too_many_requests"
    message = "Too many requests to the token endpoint (injected fault)."


class ConsentError(ApiError):
    """An error on the consent page that must not redirect (RFC 6749 §4.1.2.1: unknown client
    or mismatching redirect URI); shown to the merchant as HTML."""

    error = "invalid_request"


class CsrfFailed(ConsentError):
    status_code = 403
    error = "csrf_failed"
    message = "The form expired or was not sent from the consent page; reload it and try again."
