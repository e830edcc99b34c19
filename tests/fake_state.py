"""A standalone fake's whole state before and after a run, and what changed that the run's report does not name.

Kept apart from the tests that use it: tests/test_contracts.py is also a child process that must not import
`contracts` before its `pytest.main` does.
"""

from __future__ import annotations

from typing import Any

import httpx


def unlisted(before: dict[str, Any], after: dict[str, Any], leftovers: list[dict[str, Any]]) -> dict[str, Any]:
    """What a run changed in a fake's state that its report does not name (empty: it cleaned up)."""
    named = {(leftover["kind"], name) for leftover in leftovers for name in leftover["names"]}
    found: dict[str, Any] = {}
    for store in sorted(set(before) | set(after)):
        was, now = before.get(store), after.get(store)
        if store == "contexts":
            new = [c for c in now if c not in was]
            extra = [c["name"] for c in new if ("OX context", c["name"]) not in named]
            missing = sorted({n for k, n in named if k == "OX context"} - {c["name"] for c in new})
            if extra or missing:
                found[store] = {"not named": extra, "named but not there": missing}
        elif store == "users":
            old = {u["name"]: u for u in was}
            changed = [u["name"] for u in now if old.get(u["name"]) != u and ("user", u["name"]) not in named]
            gone = [name for name in old if name not in {u["name"] for u in now}]
            if changed or gone:
                found[store] = {"new or changed": changed, "gone": gone}
        elif was != now:
            found[store] = now
    return found


def state(url: str) -> dict[str, Any]:
    from provisioner.client import tls

    return httpx.get(f"{url}/_fake/state", timeout=30, verify=tls()).json()
