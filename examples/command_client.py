#!/usr/bin/env python3
"""A client of the store API in its own process, speaking the kit's command-driver protocol
(JSON lines on stdin/stdout). Standard library only, so it stands in for a client written in
any language: it reads the time from its ordinary clock (``time.time()``), which libfaketime
moves, and asks the kit to sleep instead of sleeping.

    conformance run --command "python3 examples/command_client.py"
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

MARGIN = 300
config: dict[str, Any] = {}
storage: dict[str, Any] = {}
faketime = True
virtual_now = 0.0


def now() -> float:
    return time.time() if faketime else virtual_now


def reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def sleep(seconds: float) -> None:
    global virtual_now
    reply({"sleep": seconds})
    virtual_now = float(json.loads(sys.stdin.readline())["now"])


class GaveUp(Exception):
    def __init__(self, text: str, reauthorize: bool = False) -> None:
        super().__init__(text)
        self.reauthorize = reauthorize


def http(method: str, url: str, headers: dict[str, str], data: bytes | None = None
         ) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, head, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, dict(error.headers), error.read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return status, head, body


def call(method: str, path: str, token: str, body: Any, params: Any
         ) -> tuple[int, dict[str, str], Any]:
    url = config["base_url"] + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    return http(method, url, headers, data)


def refresh() -> str:
    if not storage.get("refresh_token"):
        raise GaveUp("no refresh token: authorize again", reauthorize=True)
    expires = storage.get("refresh_token_expires_at")
    if expires is not None and now() >= float(expires):
        raise GaveUp("the refresh token expired: authorize again", reauthorize=True)
    form = urllib.parse.urlencode({
        "grant_type": "refresh_token", "refresh_token": storage["refresh_token"],
        "client_id": config["client_id"], "client_secret": config["client_secret"]}).encode()
    for attempt in range(4):
        try:
            status, head, body = http("POST", config["token_url"],
                                      {"Content-Type": "application/x-www-form-urlencoded"},
                                      form)
        except OSError:  # the response was lost: retry with the stored refresh token
            status, head, body = 0, {}, None
        if status == 200:
            t = now()
            storage.update({
                "access_token": body["access_token"],
                "refresh_token": body.get("refresh_token", storage["refresh_token"]),
                "expires_at": t + body["expires_in"] if body.get("expires_in") else None,
                "refresh_token_expires_at": t + body["refresh_token_expires_in"]
                if body.get("refresh_token_expires_in") else expires})
            return str(body["access_token"])
        if status and status < 500 and status != 429:
            raise GaveUp(f"refresh refused: {body}", reauthorize=True)
        if attempt < 3:
            sleep(float(head.get("Retry-After", 2 ** attempt)))
    raise GaveUp("the token endpoint keeps failing")


def oauth_request(method: str, path: str, body: Any, params: Any) -> tuple[int, Any]:
    token = storage.get("access_token")
    expires = storage.get("expires_at")
    if not token or (expires is not None and now() >= float(expires) - MARGIN):
        token = refresh()
    status, _, answer = call(method, path, token, body, params)
    if status == 401 and storage.get("refresh_token"):
        status, _, answer = call(method, path, refresh(), body, params)
    return status, answer


def partner_request(method: str, path: str, body: Any, params: Any) -> tuple[int, Any]:
    status, head, answer = call(method, path, storage["partner_token"], body, params)
    successor = head.get("X-Token-Successor-Id")
    if status == 200 and head.get("X-Token-Status") == "renewed" and successor:
        basic = base64.b64encode(f"{config['client_id']}:{config['client_secret']}".encode())
        _, _, mailbox = http("GET", config["mailbox_url"],
                             {"Authorization": "Basic " + basic.decode()})
        for message in reversed((mailbox or {}).get("messages", [])):
            found = re.search(r"\b(ptk_[A-Za-z0-9_\-]+)", message.get("body", ""))
            if message.get("token_id") == successor and found:
                storage["partner_token"] = found.group(1)
                break
    if status == 401:
        raise GaveUp(f"the partner token was refused: {answer}", reauthorize=True)
    return status, answer


def main() -> None:
    global faketime, virtual_now
    for line in sys.stdin:
        message = json.loads(line)
        virtual_now = float(message.get("now", virtual_now))
        op = message.get("op")
        if op == "start":
            config.update(message["config"])
            storage.update(message["storage"])
            faketime = bool(message.get("faketime"))
            reply({"ok": True, "storage": storage})
        elif op == "request":
            handler = oauth_request if config["profile"] == "oauth-expiring" else partner_request
            try:
                status, answer = handler(message["method"], message["path"],
                                         message.get("json"), message.get("params"))
                reply({"status": status, "body": answer, "storage": storage})
            except GaveUp as gave_up:
                reply({"error": str(gave_up), "reauthorization_required": gave_up.reauthorize,
                       "storage": storage})
        elif op == "stop":
            return


if __name__ == "__main__":
    main()
