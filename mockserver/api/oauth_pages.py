"""The merchant-facing consent page, in the consoles' look: `templates/consent.html` on the
consoles' base layout and stylesheet. All rendering happens in `render_consent_page`."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template

SCOPE_TEXT = {
    "read_orders": "Read your orders",
    "read_products": "Read your products",
    "write_inventory": "Change inventory levels",
}


@dataclass(frozen=True)
class ConsentPage:
    title: str
    #: None renders an error page without a form.
    app_name: str | None = None
    scopes: tuple[str, ...] = ()
    store_id: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""
    error: str | None = None


def render_consent_page(page: ConsentPage) -> str:
    return render_template("consent.html", page=page, scope_text=SCOPE_TEXT, who=None)
