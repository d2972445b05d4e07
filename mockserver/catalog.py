"""Deterministic demo data per store: the same store id always yields the same products and
orders. Only inventory levels change, and those are persisted."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime
from functools import cache
from typing import Any

from mockserver.errors import NotFound
from mockserver.wire import iso

PRODUCT_COUNT = 24
ORDER_COUNT = 57
_ADJECTIVES = ("Classic", "Organic", "Handmade", "Vintage", "Compact", "Deluxe", "Everyday",
               "Travel")
_NOUNS = ("Mug", "Tote Bag", "Notebook", "Candle", "Scarf", "Water Bottle", "Apron", "Lamp",
          "Tea Set", "Backpack", "Cutting Board", "Planter")
_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")


def _rng(store_id: str, salt: str) -> random.Random:
    return random.Random(f"{store_id}:{salt}")


@cache
def products(store_id: str) -> list[dict[str, Any]]:
    """Cached: callers must copy before changing an item."""
    rng = _rng(store_id, "products")
    out = []
    for pid in range(1, PRODUCT_COUNT + 1):
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        out.append({
            "id": pid,
            "sku": f"SKU-{pid:04d}",
            "name": name,
            "price": f"{rng.randint(300, 15000) / 100:.2f}",
            "currency": "USD",
            "inventory": rng.randint(0, 250),
        })
    return out


#: Demo orders are placed from this instant on (2026-01-01T00:00:00Z), whatever the clock says.
ORDERS_START = 1_767_225_600


@cache
def orders(store_id: str) -> list[dict[str, Any]]:
    rng = _rng(store_id, "orders")
    catalog = products(store_id)
    out = []
    at = float(ORDERS_START)
    for oid in range(1, ORDER_COUNT + 1):
        at += rng.randint(600, 7200)
        lines = []
        for product in rng.sample(catalog, rng.randint(1, 3)):
            lines.append({"product_id": product["id"], "sku": product["sku"],
                          "quantity": rng.randint(1, 4), "price": product["price"]})
        total = sum(float(line["price"]) * int(line["quantity"]) for line in lines)
        out.append({
            "id": 1000 + oid,
            "number": f"#{1000 + oid}",
            "status": rng.choice(_STATUSES),
            "created_at": iso(at),
            "currency": "USD",
            "total": f"{total:.2f}",
            "customer": {"name": f"Customer {rng.randint(1, 400)}"},
            "lines": lines,
        })
    return out


def product(conn: sqlite3.Connection, store_id: str, product_id: int) -> dict[str, Any]:
    for item in products(store_id):
        if item["id"] == product_id:
            return _with_inventory(conn, store_id, [item])[0]
    raise NotFound(f"No product {product_id}.")


def product_list(conn: sqlite3.Connection, store_id: str) -> list[dict[str, Any]]:
    return _with_inventory(conn, store_id, products(store_id))


def _with_inventory(conn: sqlite3.Connection, store_id: str,
                    items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    levels = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT product_id, quantity, updated_at FROM inventory WHERE store_id = ?", (store_id,))}
    out = []
    for item in items:
        item = dict(item)
        if item["id"] in levels:
            item["inventory"], updated = levels[item["id"]]
            item["inventory_updated_at"] = iso(updated)
        else:
            item["inventory_updated_at"] = None
        out.append(item)
    return out


def set_inventory(conn: sqlite3.Connection, store_id: str, product_id: int, quantity: int,
                  now: datetime) -> None:
    if not 1 <= product_id <= PRODUCT_COUNT:
        raise NotFound(f"No product {product_id}.")
    conn.execute(
        "INSERT INTO inventory(store_id, product_id, quantity, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(store_id, product_id) DO UPDATE SET quantity = excluded.quantity, "
        "updated_at = excluded.updated_at",
        (store_id, product_id, quantity, now.timestamp()),
    )
