"""How the schema contracts send a generated case and judge the answer: the checks, dimail's excused quirks,
and run-prefixed names for what a generated body creates."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .target import Target

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# (method, path template, status) -> why dimail answers it although its document does not say so.
DUPLICATE = "duplicate mailbox (CONTRACT §6 #3)"
QUIRKS: dict[tuple[str, str, int], str] = {
    ("POST", "/domains/{domain_name}/mailboxes/{user_name}", 500): DUPLICATE,
    ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}", 500): DUPLICATE,
    ("GET", "/domains/{domain_name}/aliases/", 412): "alias read by destination only (CONTRACT §6 #13)",
    ("POST", "/domains/{domain_name}/aliases/", 409): "duplicate alias, a 409 v0.8.2 does not declare (CONTRACT §4.11, §7)",
    ("DELETE", "/allows/{domain_name}/{user_name}", 403): "refusal v0.8.2 does not declare here (CONTRACT §4.3, inferred: kept like every other Basic route)",
}
# Operations that stop a platform, move its data away, or cut its users off: sent only with
# --dimail-system-writes, whatever the target (a generated call could stop a real dimail).
SHUTDOWN = ("GET", "/system/shutdown")
PLATFORM = frozenset({
    SHUTDOWN,
    ("PATCH", "/system/database/{db_name}"),
    ("POST", "/system/database/{db_name}/{schema_name}"),
    ("PATCH", "/system/import_domain/{domain_name}"),
    ("GET", "/system/move_mailbox/{domain_name}/{user_name}"),
    ("POST", "/system/check_contexts"),
    ("GET", "/system/disconnect/{domain_name}/{user_name}"),
})
PLATFORM_SKIP = "acts on the platform itself (stops, moves, disconnects): never sent without --dimail-system-writes"
# What these create carries the run's prefix, so that clean-up finds it and nothing else is touched.
NAMED = {("POST", "/domains/"): "domain", ("POST", "/users/"): "user"}
TEXT_422 = "422 with a text detail (e.g. a feature the domain lacks) where the document declares the list (CONTRACT §1.4)"
UNPARSABLE = "FastAPI's 400 for a body it cannot decode (framework behaviour dimail shares, undeclared)"


def excused(method: str, path: str, answer: Any) -> str | None:
    """Why this answer, though undeclared, is what dimail gives; None when it is not excused."""
    quirk = QUIRKS.get((method, path, answer.status_code))
    if quirk is None and answer.status_code == 400 and answer.content == b'{"detail":"There was an error parsing the body"}':
        quirk = UNPARSABLE
    if quirk is None and answer.status_code == 422 and isinstance(_detail(answer), str):
        quirk = TEXT_422
    return quirk


def in_no_domain(dimail: Target, domain: Any, authorization: dict[str, str]) -> bool:
    """Whether a mailbox's 500 came where no domain exists, so that it cannot be the duplicate quirk (dimail's
    2024 server crashed there: an admin creating a mailbox on an unknown domain)."""
    answer = dimail.call("GET", f"/domains/{quote(str(domain), safe='')}",
                         headers={"Authorization": authorization["TokenUser"]})
    return answer.status_code == 404


def _detail(answer: Any) -> Any:
    try:
        return answer.json().get("detail")
    except (ValueError, AttributeError):
        return None


def authorization(dimail: Target, credentials: tuple[str, str]) -> dict[str, str]:
    """The Authorization header for each security scheme of dimail's document, for these credentials."""
    answer = dimail.call("GET", "/token/", auth=credentials)
    answer.raise_for_status()
    return {"BasicUser": "Basic " + base64.b64encode(":".join(credentials).encode()).decode(),
            "TokenUser": f"Bearer {answer.json()['access_token']}"}


def send(dimail: Target, case: schemathesis.Case, authorization: dict[str, str]) -> httpx.Response:
    """Send `case` as generated, with the credentials its operation declares (`authorization`: scheme -> header).

    A `name` generated for a domain or user is replaced by a run-prefixed one, and what is created is
    recorded for clean-up.
    """
    method, path = case.operation.method.upper(), case.operation.path
    kind = NAMED.get((method, path))
    if kind and isinstance(case.body, dict) and isinstance(case.body.get("name"), str):
        case.body = {**case.body, "name": dimail.name(kind)}
    sent = case.as_transport_kwargs(base_url=dimail.url)
    schemes = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
    headers = {k: v for k, v in (sent.get("headers") or {}).items() if k.lower() != "authorization"}
    scheme = next((s for s in ("TokenUser", "BasicUser") if s in schemes), None)
    if scheme is not None:
        headers["Authorization"] = authorization[scheme]
    url = sent["url"][len(dimail.url):] or "/"
    answer = dimail.call(sent["method"], url, params=sent.get("params") or None, headers=headers,
                         **{k: sent[k] for k in ("json", "content", "data") if k in sent})
    answer.read()
    if kind and answer.status_code == 201:
        (dimail.created_domains if kind == "domain" else dimail.created_users).append(case.body["name"])
    return answer
