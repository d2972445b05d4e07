"""requests-oauthlib's ``OAuth2Session`` under the kit, with ``auto_refresh_url`` and a
``token_updater`` that saves to the kit's storage; refreshing is the library's own (it
refreshes only once oauthlib sees the token expired: a 0 s margin).

oauthlib refuses plain HTTP; the in-process mock is served over http://127.0.0.1, so the
adapter sets ``OAUTHLIB_INSECURE_TRANSPORT=1`` (only ever do that against a mock).
Verdicts: ``conformance/xfail/requests_oauthlib.yaml``.
"""

from __future__ import annotations

import os
from typing import Any

from requests_oauthlib import OAuth2Session

from conformance.adapters import SessionClient, save_token, stored_token
from conformance.config import Config


class RequestsOAuthlibClient(SessionClient):
    def __init__(self, config: Config) -> None:
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
        super().__init__(config)
        token = stored_token(config)
        self.session = OAuth2Session(
            client_id=config.client_id, token=token, auto_refresh_url=config.token_url,
            auto_refresh_kwargs={"client_id": config.client_id,
                                 "client_secret": config.client_secret},
            token_updater=self._save)

    def _save(self, token: dict[str, Any]) -> None:
        save_token(self.config, {"refresh_token": None, **token})


def factory(config: Config) -> RequestsOAuthlibClient:
    return RequestsOAuthlibClient(config)


factory.profiles = {"oauth-expiring"}  # type: ignore[attr-defined]
