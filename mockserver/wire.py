"""Wire formats: timestamps and strictly parsed JSON request bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from mockserver.errors import InvalidJson, UnsupportedMediaType, ValidationFailed

#: The last year a timestamp (or the clock) may reach.
LATEST_YEAR = 9000


def iso(instant: datetime | float | None) -> str | None:
    """ISO 8601 UTC with `Z`, second precision."""
    if instant is None:
        return None
    if not isinstance(instant, datetime):
        return _iso_epoch(instant)
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def _iso_epoch(seconds: float) -> str:
    """Stored instants (a token's expiry, …) come back on every call that shows them."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: Any, field: str) -> datetime:
    """Accepts ISO 8601 with an explicit offset or `Z`; naive times are refused as ambiguous."""
    if not isinstance(value, str):
        raise ValidationFailed(f"'{field}' must be an ISO 8601 string.", field=field)
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValidationFailed(
            f"'{field}' is not an ISO 8601 timestamp (e.g. 2027-01-01T00:00:00Z).", field=field
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"'{field}' needs a time zone, e.g. a trailing Z.", field=field)
    if not 1971 <= parsed.year <= LATEST_YEAR:
        raise ValidationFailed(f"'{field}' is out of range.", field=field)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Field:
    """One expected member of a JSON body."""

    kind: type | tuple[type, ...]
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    item_kind: type | None = None
    choices: tuple[str, ...] | None = None


def parse_json(raw: bytes, content_type: str | None, allow_empty: bool = False) -> Any:
    if not raw.strip():
        if allow_empty:
            return {}
        raise InvalidJson("The request needs a JSON body.")
    if content_type is None or content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType()
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise InvalidJson() from None


def _refuse_constant(name: str) -> Any:
    """JSON has no NaN or Infinity; Python's parser would accept them."""
    raise ValueError(name)


def validate(body: Any, fields: Mapping[str, Field]) -> dict[str, Any]:
    """Checks an object against `fields`: unknown members, missing ones and wrong types are
    refused with the offending field named."""
    if not isinstance(body, dict):
        raise ValidationFailed("The JSON body must be an object.")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ValidationFailed(f"Unknown field '{unknown[0]}'.", field=unknown[0])
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in body:
            if spec.required:
                raise ValidationFailed(f"'{name}' is required.", field=name)
            continue
        out[name] = _check(name, body[name], spec)
    return out


def _type_ok(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and kind is not bool and (
        not isinstance(kind, tuple) or bool not in kind
    ):
        return False
    return isinstance(value, kind)


def _check(name: str, value: Any, spec: Field) -> Any:
    if not _type_ok(value, spec.kind):
        raise ValidationFailed(f"'{name}' has the wrong type.", field=name)
    if isinstance(value, int) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            raise ValidationFailed(f"'{name}' must be at least {spec.minimum}.", field=name)
        if spec.maximum is not None and value > spec.maximum:
            raise ValidationFailed(f"'{name}' must be at most {spec.maximum}.", field=name)
    if isinstance(value, str):
        if not value.strip():
            raise ValidationFailed(f"'{name}' must not be empty.", field=name)
        if spec.max_length is not None and len(value) > spec.max_length:
            raise ValidationFailed(f"'{name}' is too long.", field=name)
        if spec.choices is not None and value not in spec.choices:
            raise ValidationFailed(
                f"'{name}' must be one of: {', '.join(spec.choices)}.", field=name
            )
    if isinstance(value, list):
        if spec.min_items is not None and len(value) < spec.min_items:
            raise ValidationFailed(f"'{name}' needs at least {spec.min_items} item(s).", field=name)
        if spec.max_items is not None and len(value) > spec.max_items:
            raise ValidationFailed(f"'{name}' has too many items.", field=name)
        if spec.item_kind is not None and not all(
            _type_ok(item, spec.item_kind) and (not isinstance(item, str) or item.strip())
            for item in value
        ):
            raise ValidationFailed(f"'{name}' has an item of the wrong type.", field=name)
    return value
