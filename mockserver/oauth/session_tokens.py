"""Session tokens: the short-lived HS256 JWT (RFC 7519) an embedded app receives for the
merchant, signed with the app's client secret, and the subject of a token exchange (seed 004).

Checked against the server's virtual clock, so HS256 is implemented here rather than through a
library that reads the process clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

from mockserver.credentials import same
from mockserver.errors import InvalidSubjectToken

#: Session tokens live one minute.
SESSION_TOKEN_TTL = 60


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(signing_input: str, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256)
    return _b64(mac.digest())


def encode(claims: dict[str, Any], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_sign(signing_input, secret)}"


def mint(store_id: str, client_id: str, secret: str, now: datetime,
         user_id: str | None = None) -> str:
    iat = int(now.timestamp())
    claims = {
        "iss": f"https://{store_id}/admin",
        "dest": f"https://{store_id}",
        "aud": client_id,
        "sub": user_id or "1",
        "exp": iat + SESSION_TOKEN_TTL,
        "nbf": iat,
        "iat": iat,
        "jti": secrets.token_hex(16),
        "sid": secrets.token_hex(16),
    }
    return encode(claims, secret)


def decode(token: str, secret: str, client_id: str, now: datetime) -> dict[str, Any]:
    """The verified claims, or `invalid_subject_token` naming what is wrong."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidSubjectToken("The session token is not a JWT.")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise InvalidSubjectToken("The session token is not a JWT.") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidSubjectToken("The session token must be signed with HS256.")
    if not same(_sign(f"{parts[0]}.{parts[1]}", secret), parts[2]):
        raise InvalidSubjectToken("The session token's signature does not match the app's "
                                  "client secret.")
    if not isinstance(claims, dict):
        raise InvalidSubjectToken("The session token's payload is not an object.")
    if claims.get("aud") != client_id:
        raise InvalidSubjectToken("The session token was issued to another app (aud).")
    stamp = now.timestamp()
    for name in ("exp", "nbf"):
        if not isinstance(claims.get(name), int | float) or isinstance(claims[name], bool):
            raise InvalidSubjectToken(f"The session token lacks '{name}'.")
    if stamp > claims["exp"]:
        raise InvalidSubjectToken("The session token expired.")
    if stamp < claims["nbf"]:
        raise InvalidSubjectToken("The session token is not valid yet.")
    if not isinstance(claims.get("dest"), str) or not claims["dest"]:
        raise InvalidSubjectToken("The session token lacks 'dest' (the store).")
    return claims


def store_of(claims: dict[str, Any]) -> str:
    dest: str = claims["dest"]
    return dest.removeprefix("https://").removeprefix("http://").split("/")[0]
