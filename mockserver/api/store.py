"""The store API partner clients call: `/api/v1/…`, guarded by a token (RFC 6750)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, g, jsonify, request

from mockserver import catalog, events
from mockserver.api.common import body, query_choice, query_int, services
from mockserver.errors import (
    InsufficientScope,
    InvalidRequest,
    MissingToken,
    NotFound,
    TokenUnknown,
)
from mockserver.services import Caller, Services
from mockserver.wire import Field

bp = Blueprint("store_api", __name__, url_prefix="/api/v1")

F = TypeVar("F", bound=Callable[..., Any])

#: Scope each endpoint needs when the token carries scopes (OAuth tokens).
READ_ORDERS = "read_orders"
READ_PRODUCTS = "read_products"
WRITE_INVENTORY = "write_inventory"
READ_STORE = None  # any valid token may read the store and describe itself


def presented_token() -> str:
    """RFC 6750 §2.1 header, or the vendor header `X-Access-Token`; never both with different
    values (§2: one method per request)."""
    environ = request.environ  # read once: every call of the store API comes through here
    bearer = None
    header: str | None = environ.get("HTTP_AUTHORIZATION")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            bearer = value.strip()
    vendor: str | None = environ.get("HTTP_X_ACCESS_TOKEN", "").strip() or None
    if bearer and vendor and bearer != vendor:
        raise InvalidRequest("Send the token in one header only.")
    token = bearer or vendor
    if not token:
        raise MissingToken()
    return token


def find_caller(svc: Services, token: str, method: str, path: str) -> Caller | None:
    """The caller the first authenticator recognises `token` as, or None if none does; an
    authenticator that knows the token but refuses it raises its `BearerChallenge`."""
    for authenticator in svc.authenticators:
        caller = authenticator(svc, token, method, path)
        if caller is not None:
            return caller
    return None


def authenticate() -> Caller:
    token = presented_token()
    svc = services()
    method, path = request.method, request.path
    caller = find_caller(svc, token, method, path)
    if caller is not None:
        return caller
    svc.db.record_event(events.row("token.rejected", sandbox="default", at=svc.clock().now(),
                                   reason="token_unknown", method=method, path=path))
    raise TokenUnknown()


def requires(scope: str | None) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = authenticate()
            g.caller = caller
            denied = scope is not None and caller.scopes is not None and (
                scope not in caller.scopes)
            if caller.audit is not None:
                caller.audit(scope if denied else None)
            if denied:
                raise InsufficientScope(scope=scope)
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorate


@bp.after_request
def caller_headers(response: Response) -> Response:
    caller: Caller | None = g.get("caller")
    if caller is not None:
        for name, value in caller.headers.items():  # names the views never set
            response.headers.add(name, value)
    return response


def caller() -> Caller:
    current: Caller = g.caller
    return current


@bp.get("/store")
@requires(READ_STORE)
def get_store() -> Any:
    store = caller().store
    return jsonify({"store": {"id": store.id, "name": store.name, "plan": store.plan.value,
                              "currency": "USD", "email": store.email}})


@bp.get("/token")
@requires(READ_STORE)
def describe_token() -> Any:
    """The "Test connection" call: describes the token in use."""
    return jsonify(caller().describe())


@bp.get("/orders")
@requires(READ_ORDERS)
def list_orders() -> Any:
    page = query_int("page", 1, 1, 10_000)
    limit = query_int("limit", 20, 1, 100)
    status = query_choice("status", ("pending", "paid", "shipped", "delivered", "cancelled",
                                     "refunded"))
    orders = catalog.orders(caller().store.id)
    if status is not None:
        orders = [o for o in orders if o["status"] == status]
    start = (page - 1) * limit
    chunk = orders[start:start + limit]
    has_next = start + limit < len(orders)
    return jsonify({"orders": chunk, "page": page, "limit": limit, "total": len(orders),
                    "next_page": page + 1 if has_next else None})


@bp.get("/orders/<int:order_id>")
@requires(READ_ORDERS)
def get_order(order_id: int) -> Any:
    for order in catalog.orders(caller().store.id):
        if order["id"] == order_id:
            return jsonify({"order": order})
    raise NotFound(f"No order {order_id}.")


@bp.get("/products")
@requires(READ_PRODUCTS)
def list_products() -> Any:
    items = catalog.product_list(services().db.connection(), caller().store.id)
    return jsonify({"products": items, "total": len(items)})


@bp.get("/products/<int:product_id>")
@requires(READ_PRODUCTS)
def get_product(product_id: int) -> Any:
    return jsonify({"product": catalog.product(services().db.connection(), caller().store.id,
                                               product_id)})


@bp.put("/products/<int:product_id>/inventory")
@requires(WRITE_INVENTORY)
def set_inventory(product_id: int) -> Any:
    data = body({"quantity": Field(int, required=True, minimum=0, maximum=1_000_000)})
    svc = services()
    store = caller().store
    now = svc.clock(store.sandbox).now()
    with svc.db.write() as conn:
        catalog.set_inventory(conn, store.id, product_id, data["quantity"], now)
        events.record(conn, "inventory.updated", sandbox=store.sandbox, at=now,
                      store_id=store.id, partner_id=caller().partner_id,
                      token_id=caller().token_id, product_id=product_id,
                      quantity=data["quantity"])
        product = catalog.product(conn, store.id, product_id)
    return jsonify({"product": product})
