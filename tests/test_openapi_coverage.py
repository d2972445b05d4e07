"""The contract and the app agree: the spec is valid OpenAPI 3.1, every route the app registers
is in it with the same method, and every operation in it is served."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tests.server import ROOT
from tests.spec import resolve, spec

METHODS = {"get", "put", "post", "delete", "patch"}


def app_operations(app: Flask) -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) for every registered route; HEAD and OPTIONS come for free."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                out.add((method, path))
    return out


def spec_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec()["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_spec_is_valid_openapi() -> None:
    document, _ = read_from_filename(str(ROOT / "openapi.yaml"))
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_registered_route_is_in_the_spec(app: Flask) -> None:
    undocumented = sorted(app_operations(app) - spec_operations())
    assert not undocumented, f"routes missing from openapi.yaml: {undocumented}"


def test_every_operation_in_the_spec_is_served(app: Flask) -> None:
    unserved = sorted(spec_operations() - app_operations(app))
    assert not unserved, f"operations in openapi.yaml the app does not serve: {unserved}"


def test_operation_ids_are_unique_and_every_operation_has_responses() -> None:
    seen: dict[str, str] = {}
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            assert op.get("operationId"), f"{where} has no operationId"
            assert op["operationId"] not in seen, f"{where} reuses {op['operationId']}"
            seen[op["operationId"]] = where
            assert op.get("responses"), f"{where} documents no responses"


def test_links_point_at_existing_operations() -> None:
    ids = {op["operationId"] for item in spec()["paths"].values()
           for method, op in item.items() if method in METHODS}
    for link in _links(spec()):
        assert link.get("operationId") in ids, f"link to unknown operation {link}"


def test_every_api_error_response_is_json() -> None:
    """4xx/5xx bodies of the JSON APIs are documented as JSON; only pages made for people
    (the consoles, the consent page) answer errors as HTML."""
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if method not in METHODS or _is_page(op):
                continue
            for status, response in op["responses"].items():
                if not str(status).startswith(("4", "5")):
                    continue
                content = resolve(response).get("content", {})
                assert "application/json" in content, f"{method} {path} {status} is not JSON"


def _is_page(op: dict[str, Any]) -> bool:
    for status, response in op["responses"].items():
        if str(status).startswith(("2", "3")):
            content = resolve(response).get("content", {})
            if "text/html" in content or not content and str(status).startswith("3"):
                return True
    return False


def _links(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "links" and isinstance(value, dict):
                found.extend(value.values())
            else:
                found.extend(_links(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_links(value))
    return found
