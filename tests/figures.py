"""Figures the reliability tests measure (examples run, kills survived, races run, …), printed
at the end of the pytest run so the README's numbers can be checked against a real run."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

#: area -> name -> value; counters add up, other values are replaced.
FIGURES: dict[str, dict[str, Any]] = defaultdict(dict)


def count(area: str, name: str, amount: int = 1) -> None:
    FIGURES[area][name] = FIGURES[area].get(name, 0) + amount


def note(area: str, name: str, value: Any) -> None:
    FIGURES[area][name] = value


def lines() -> list[str]:
    out = []
    for area in sorted(FIGURES):
        values = ", ".join(f"{name}={value}" for name, value in sorted(FIGURES[area].items()))
        out.append(f"{area}: {values}")
    return out
