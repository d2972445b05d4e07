"""Stores and partners: the tenants of the mock."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Plan(StrEnum):
    """Seed 000: APIs are available with Standard, Professional and Store v.1, not Starter."""

    STARTER = "starter"
    STANDARD = "standard"
    PROFESSIONAL = "professional"
    STORE_V1 = "store_v1"

    @property
    def has_api(self) -> bool:
        return self is not Plan.STARTER


@dataclass(frozen=True)
class Store:
    id: str
    sandbox: str
    name: str
    plan: Plan
    email: str
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row, prefix: str = "") -> Store:
        """`prefix` reads a store joined into another query (`s_id`, `s_name`, …)."""
        return cls(
            id=row[prefix + "id"], sandbox=row[prefix + "sandbox"], name=row[prefix + "name"],
            plan=Plan(row[prefix + "plan"]), email=row[prefix + "email"],
            created_at=row[prefix + "created_at"],
        )


@dataclass(frozen=True)
class Partner:
    id: str
    sandbox: str
    name: str
    email: str
    client_id: str
    client_secret: str
    redirect_uri: str | None
    created_at: float
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Partner:
        return cls(
            id=row["id"], sandbox=row["sandbox"], name=row["name"], email=row["email"],
            client_id=row["client_id"], client_secret=row["client_secret"],
            redirect_uri=row["redirect_uri"], created_at=row["created_at"],
            settings=json.loads(row["settings"] or "{}"),
        )
