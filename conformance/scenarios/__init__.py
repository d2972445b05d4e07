"""The scenario set: one module per family, each scenario a test with a stable id and a rule.

Importing this package does not import pytest; the scenario modules are test modules that the
plugin adds to a session when a client is configured.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: The families, in report order.
MODULES = ("oauth_expiry", "oauth_refresh", "oauth_faults", "partner_tokens")


@dataclass(frozen=True)
class Scenario:
    number: int
    id: str
    profile: str
    rule: str
    #: Items of PLATFORMS.md §5 ("what client code commonly gets wrong") it catches.
    covers: tuple[int, ...]
    family: str


REGISTRY: dict[str, Scenario] = {}


def scenario(number: int, id: str, *, profile: str, rule: str,
             covers: tuple[int, ...] = ()) -> Callable[[F], F]:
    """Marks a test function as the scenario `id`."""

    def decorate(func: F) -> F:
        family = func.__module__.rsplit(".", 1)[-1]
        found = Scenario(number, id, profile, rule, covers, family)
        if REGISTRY.get(id, found) != found:
            raise ValueError(f"scenario id {id!r} is used twice")
        REGISTRY[id] = found
        func.conformance_scenario = found  # type: ignore[attr-defined]
        return func

    return decorate


def all_scenarios() -> list[Scenario]:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return sorted(REGISTRY.values(), key=lambda s: s.number)


def scenario_files() -> list[Path]:
    here = Path(__file__).parent
    return [here / f"{name}.py" for name in MODULES]


def scenario_set_hash() -> str:
    """Changes whenever any scenario's code, id or rule changes."""
    digest = hashlib.sha256()
    for path in scenario_files():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
