"""Checks real responses against openapi.yaml: the operation must exist, the status must be
documented, and a JSON body must validate against the documented schema."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text())
    return loaded


@cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    return Registry().with_resource("spec", resource)


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in spec()["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        out.append((re.compile(pattern), template))
    # literal segments win over parameters (e.g. /tokens/revoke over /tokens/{token_id})
    out.sort(key=lambda item: item[1].count("{"))
    return out


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    path = path.split("?")[0]
    for pattern, template in _templates():
        if pattern.match(path):
            op = spec()["paths"][template].get(method.lower())
            if op is not None:
                return template, op
    raise AssertionError(f"{method} {path} is not in openapi.yaml")


def check_response(method: str, path: str, status: int, content_type: str | None,
                   body: Any) -> None:
    template, op = operation(method, path)
    responses = op["responses"]
    documented = responses.get(str(status)) or responses.get("default")
    assert documented is not None, f"{method} {template}: status {status} is not documented"
    documented = resolve(documented)
    content = documented.get("content")
    if not content:
        return
    media = (content_type or "").split(";")[0].strip()
    assert media in content, f"{method} {template} {status}: undocumented content type {media}"
    schema = content[media].get("schema")
    if schema is None or media != "application/json":
        return
    validator = Draft202012Validator(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", **_rebase(schema)},
        registry=_registry(),
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, (
        f"{method} {template} {status}: {errors[0].message} at {list(errors[0].path)}"
    )


def _rebase(node: Any) -> Any:
    """Points local `#/…` references at the registered spec resource."""
    if isinstance(node, dict):
        return {k: ("spec" + v if k == "$ref" and v.startswith("#") else _rebase(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node
