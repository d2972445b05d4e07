"""The contract, served: `/openapi.yaml`, `/openapi.json` and a browsable `/docs` page rendered
on the server (no scripts from elsewhere: the mock works offline)."""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify

bp = Blueprint("docs", __name__)

#: The contract ships inside the package; the top-level openapi.yaml links to it.
SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")


@cache
def spec_text() -> str:
    return SPEC_PATH.read_text(encoding="utf-8")


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(spec_text())
    return loaded


@bp.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(spec_text(), mimetype="application/yaml")


@bp.get("/openapi.json")
def openapi_json() -> Any:
    return jsonify(spec())


@bp.get("/healthz")
def health() -> Any:
    return jsonify({"status": "ok"})


@bp.get("/docs")
def docs() -> Response:
    doc = spec()
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(doc['info']['title'])}</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;"
        "padding:0 1rem;color:#1d2330}code,pre{font:13px ui-monospace,monospace}"
        "pre{background:#f4f6f8;padding:.6rem;overflow:auto}"
        ".op{border:1px solid #d8dde3;border-radius:6px;margin:.8rem 0;padding:.4rem .8rem}"
        ".m{display:inline-block;min-width:4.2rem;font-weight:700;text-transform:uppercase}"
        "summary{cursor:pointer}</style></head><body>",
        f"<h1>{esc(doc['info']['title'])}</h1>",
        f"<p>Version {esc(str(doc['info']['version']))}. Raw contract: "
        "<a href='/openapi.yaml'>openapi.yaml</a> · <a href='/openapi.json'>openapi.json</a></p>",
        f"<div>{esc(doc['info'].get('description', ''))}</div>",
    ]
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            parts.append("<details class='op'><summary>")
            parts.append(f"<span class='m'>{method}</span> <code>{esc(path)}</code> — "
                         f"{esc(op.get('summary', ''))}</summary>")
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            if params:
                parts.append("<p><b>Parameters</b></p><ul>")
                for p in params:
                    if "$ref" in p:
                        p = _resolve(doc, p["$ref"])
                    parts.append(f"<li><code>{esc(p['name'])}</code> ({esc(p['in'])})"
                                 f"{' required' if p.get('required') else ''} — "
                                 f"{esc(p.get('description', ''))}</li>")
                parts.append("</ul>")
            if "requestBody" in op:
                body = op["requestBody"]
                parts.append("<p><b>Body</b></p><pre>"
                             f"{esc(json.dumps(body.get('content', {}), indent=1)[:3000])}</pre>")
            parts.append("<p><b>Responses</b></p><ul>")
            for status, response in op.get("responses", {}).items():
                if "$ref" in response:
                    response = _resolve(doc, response["$ref"])
                parts.append(f"<li><code>{esc(str(status))}</code> "
                             f"{esc(response.get('description', ''))}</li>")
            parts.append("</ul></details>")
    parts.append("</body></html>")
    return Response("".join(parts), mimetype="text/html")


def _resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    result: dict[str, Any] = node
    return result
