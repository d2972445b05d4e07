"""Expected-failures files: which scenarios a client is known to fail, and why.

    # conformance/xfail/authlib.yaml
    client: conformance.adapters.authlib_client:factory
    expected_failures:
      refresh-on-401: authlib never retries a call after a 401.

A bare mapping of scenario id to reason works too. Listing an unknown id is an error, and a
listed scenario that passes fails the run (strict), so the file stays true.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def load_xfail(path: str | Path, known: set[str]) -> dict[str, str]:
    data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of scenario id to reason")
    entries = data.get("expected_failures", data if "client" not in data else {})
    if entries is None:
        entries = {}
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: 'expected_failures' must map scenario ids to reasons")
    out: dict[str, str] = {}
    for scenario_id, reason in entries.items():
        if scenario_id not in known:
            raise ValueError(f"{path}: unknown scenario {scenario_id!r} "
                             f"(known: {', '.join(sorted(known))})")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{path}: give a reason for {scenario_id!r}")
        out[str(scenario_id)] = reason.strip()
    return out
