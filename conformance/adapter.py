"""The contract between the kit and the client under test.

A factory is named as ``package.module:attribute``. ``factory(config)`` returns an object with
one method, ``request(method, path, **kwargs)``: ``path`` is relative to ``config.base_url``,
``kwargs`` are ``json=`` and ``params=``. It returns something with ``status_code`` and
``json()`` (a ``requests.Response`` does) or raises when it has given up. A factory may
declare ``profiles = {"oauth-expiring", "partner-token"}``; scenarios of other profiles are
skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from conformance.config import PROFILES, Config


@runtime_checkable
class ResponseLike(Protocol):
    status_code: int

    def json(self) -> Any: ...


class Client(Protocol):
    def request(self, method: str, path: str, **kwargs: Any) -> ResponseLike: ...


Factory = Callable[[Config], Client]


class ClientGaveUp(Exception):
    """Base of the exceptions a client raises when it stops trying."""


class ReauthorizationRequired(ClientGaveUp):
    """The grant is gone (revoked, refresh token expired or refused): only a new authorization
    by the merchant helps. Raising it (or an error naming ``invalid_grant``) is how a client
    reports that re-authorization is needed."""


class TemporarilyUnavailable(ClientGaveUp):
    """The token endpoint kept failing transiently; the stored credentials are still good."""


def load_factory(spec: str) -> Factory:
    """``package.module:attribute`` (attribute may be dotted) → the factory."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected 'package.module:factory', got {spec!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    factory: Factory = obj
    return factory


def supported_profiles(factory: Factory) -> frozenset[str]:
    """The profiles a factory declares (all of them when it declares none)."""
    declared = getattr(factory, "profiles", None)
    if declared is None:
        return frozenset(PROFILES)
    return frozenset(declared)
