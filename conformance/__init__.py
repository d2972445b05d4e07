"""The conformance kit: certifies that a client of the store API survives access-token expiry,
refresh-token rotation, partner-token renewal cutover and 401-triggered refresh.

The core imports without pytest; `conformance.plugin` is the pytest wiring.
"""

from __future__ import annotations

from conformance.adapter import (
    Client,
    ClientGaveUp,
    ReauthorizationRequired,
    ResponseLike,
    TemporarilyUnavailable,
)
from conformance.config import PROFILES, Config

__version__ = "1.0.0"

__all__ = [
    "PROFILES",
    "Client",
    "ClientGaveUp",
    "Config",
    "ReauthorizationRequired",
    "ResponseLike",
    "TemporarilyUnavailable",
    "__version__",
]
