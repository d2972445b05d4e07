"""A stateful mock of a store platform's API, built around the lifecycle of partner credentials."""

from __future__ import annotations

__version__ = "0.1.0"
