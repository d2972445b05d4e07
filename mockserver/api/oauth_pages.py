"""The merchant-facing consent page: plain, self-contained HTML (no scripts, no external
assets). All rendering happens in `render_consent_page`."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

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
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(page.title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;"
        "padding:0 1rem;color:#222}.error{background:#fde8e8;border:1px solid #e0a0a0;"
        "padding:.6rem;border-radius:4px}label{display:block;margin:.8rem 0 .2rem}"
        "input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}"
        "button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem}</style>",
        "</head><body>",
        f"<h1>{e(page.title)}</h1>",
    ]
    if page.error:
        parts.append(f'<p class="error" role="alert">{e(page.error)}</p>')
    if page.app_name is not None:
        parts.append(f"<p><strong>{e(page.app_name)}</strong> asks for access to your store:</p>")
        parts.append("<ul>" + "".join(
            f"<li>{e(SCOPE_TEXT.get(s, s))} (<code>{e(s)}</code>)</li>" for s in page.scopes
        ) + "</ul>")
        parts.append('<form method="post" action="/oauth/authorize">')
        for name, value in page.hidden.items():
            parts.append(f'<input type="hidden" name="{e(name)}" value="{e(value)}">')
        parts.append(f'<input type="hidden" name="csrf_token" value="{e(page.csrf_token)}">')
        parts.append('<label for="store_id">Store ID</label>')
        parts.append(f'<input type="text" id="store_id" name="store_id" '
                     f'value="{e(page.store_id or "")}" required>')
        parts.append('<label for="merchant_key">Merchant key</label>')
        parts.append('<input type="password" id="merchant_key" name="merchant_key" '
                     'autocomplete="off">')
        parts.append('<button type="submit" name="decision" value="approve">Approve</button>')
        parts.append('<button type="submit" name="decision" value="deny">Deny</button>')
        parts.append("</form>")
    parts.append("</body></html>")
    return "\n".join(parts)
