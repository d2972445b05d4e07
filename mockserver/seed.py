"""The demo world a fresh database starts with, so a newcomer can make a first call."""

from __future__ import annotations

from typing import Any

from mockserver.models import Plan
from mockserver.services import Services
from mockserver.wire import iso

DEMO_STORE = "demo-store"
STARTER_STORE = "starter-store"
DEMO_PARTNER = "demo-partner"
DEMO_CLIENT_ID = "demo-client"
DEMO_REDIRECT_URI = "http://localhost:8910/callback"


def seed(svc: Services) -> dict[str, Any]:
    """Creates the demo world and returns every credential in it (plaintexts, shown once)."""
    with svc.db.write() as conn:
        demo = svc.tenants.create_store(conn, name="Demo Outfitters", plan=Plan.STANDARD,
                                        store_id=DEMO_STORE)
        starter = svc.tenants.create_store(conn, name="Tiny Starter Shop", plan=Plan.STARTER,
                                           store_id=STARTER_STORE)
        partner = svc.tenants.create_partner(conn, name="Demo Sync App", partner_id=DEMO_PARTNER,
                                             client_id=DEMO_CLIENT_ID,
                                             redirect_uri=DEMO_REDIRECT_URI)
    issued = svc.partner_access.add_partner(demo.store, partner.id)
    return {
        "stores": [
            {"id": demo.store.id, "name": demo.store.name, "plan": demo.store.plan.value,
             "merchant_key": demo.merchant_key},
            {"id": starter.store.id, "name": starter.store.name,
             "plan": starter.store.plan.value, "merchant_key": starter.merchant_key},
        ],
        "partner": {"id": partner.id, "name": partner.name, "client_id": partner.client_id,
                    "client_secret": partner.client_secret, "redirect_uri": partner.redirect_uri},
        "partner_token": {"id": issued.token.id, "store_id": demo.store.id,
                          "token_value": issued.plaintext,
                          "expires_at": iso(issued.token.expires_at)},
    }


def reseed(svc: Services) -> dict[str, Any]:
    """Back to the seed: every table emptied (clock included), then the demo world again."""
    with svc.db.write() as conn:
        svc.db.wipe(conn)
    return seed(svc)


def banner(world: dict[str, Any], base_url: str) -> str:
    demo, starter = world["stores"]
    token = world["partner_token"]["token_value"]
    partner = world["partner"]
    return "\n".join([
        "Seeded a demo world (shown once; POST /_mock/reset re-seeds with new secrets):",
        f"  store        {demo['id']} ({demo['plan']})   merchant key: {demo['merchant_key']}",
        f"  store        {starter['id']} ({starter['plan']})   merchant key: "
        f"{starter['merchant_key']}",
        f"  partner      {partner['id']}   client_id: {partner['client_id']}   "
        f"client_secret: {partner['client_secret']}",
        f"  partner token for {demo['id']} (expires {world['partner_token']['expires_at']}):",
        f"    {token}",
        "",
        "First call:",
        f"  curl -H 'Authorization: Bearer {token}' {base_url}/api/v1/orders",
        f"Docs: {base_url}/docs",
    ])
