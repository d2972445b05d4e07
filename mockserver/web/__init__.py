"""The web consoles under `/console`: server-rendered pages on the same services as the JSON
APIs (the merchant's API Settings, the partner's Manage Partner Tokens, the mock's control
panel), with signed session cookies and CSRF-checked forms."""

from __future__ import annotations

from mockserver.web import panel, views  # noqa: F401  (register their routes on bp)
from mockserver.web.common import bp, error_page, setup, wants_html

__all__ = ["bp", "error_page", "setup", "wants_html"]
