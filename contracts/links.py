"""OpenAPI links the suite adds to the target's document, so that schemathesis' stateful runs chain
user → domain → allow → mailbox → alias, domain or mailbox → forward, and mailbox → public alias
instead of guessing names.

dimail declares no links. Each `Link` below is written into a copy of the target's own document
(`linked()`), restricted to the operations of the chain, and only where both ends exist on the
target: a dimail lacking an operation loses the links that lead to it, not the run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# `$member` stands for the run's member user: an allow needs a domain *and* a user, and a link
# carries values from one answer only, so the user side is a name the suite created beforehand.
MEMBER = "$member"


@dataclass(frozen=True)
class Link:
    source: tuple[str, str, str]  # method, path, status
    target: tuple[str, str]  # method, path
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] | None = None


DOMAIN = ("POST", "/domains/", "201")
USER = ("POST", "/users/", "201")
ALLOW = ("POST", "/allows/", "201")
MAILBOX = ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}", "201")
ALIAS = ("POST", "/domains/{domain_name}/aliases/", "201")
FORWARD = ("POST", "/domains/{domain_name}/forwards/{user_name}", "201")
PUBLIC_ALIAS = ("POST", "/aliases", "201")

_NEW_DOMAIN = {"domain_name": "$response.body#/name"}
_NEW_MAILBOX = {"domain_name": "$request.path.domain_name", "user_name": "$request.path.user_name"}
_NEW_FORWARD = {"domain_name": "$response.body#/domain", "user_name": "$response.body#/username"}

# Order matters: hypothesis tries the simplest choices first, and the first rule in name order is the
# simplest. Link names number this table (`L00`, `L01`, ...), so each source lists forward steps first.
LINKS: tuple[Link, ...] = (
    # a new domain: give the member access, fill it (a public alias on it when its generated `public_alias`
    # lets it take them), then read, change and check it
    Link(DOMAIN, ("POST", "/allows/"), body={"domain": "$response.body#/name", "user": MEMBER}),
    Link(DOMAIN, ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}"), _NEW_DOMAIN),
    Link(DOMAIN, ("POST", "/domains/{domain_name}/aliases/"), _NEW_DOMAIN),
    Link(DOMAIN, ("POST", "/domains/{domain_name}/forwards/{user_name}"), _NEW_DOMAIN),
    Link(DOMAIN, ("POST", "/aliases"), body={
        "domain": "$response.body#/name", "destination": "contract@{$response.body#/name}", "description": "contract run"}),
    Link(DOMAIN, ("GET", "/domains/{domain_name}"), _NEW_DOMAIN),
    Link(DOMAIN, ("PATCH", "/domains/{domain_name}"), _NEW_DOMAIN),
    Link(DOMAIN, ("GET", "/domains/{domain_name}/check"), _NEW_DOMAIN),
    Link(DOMAIN, ("GET", "/domains/{domain_name}/spec"), _NEW_DOMAIN),
    Link(DOMAIN, ("GET", "/domains/{domain_name}/mailboxes/"), _NEW_DOMAIN),
    # a new allow: fill its domain, list it, take it back
    Link(ALLOW, ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}"),
         {"domain_name": "$response.body#/domain"}),
    Link(ALLOW, ("GET", "/allows/"), {"domain": "$response.body#/domain"}),
    Link(ALLOW, ("DELETE", "/allows/{domain_name}/{user_name}"),
         {"domain_name": "$response.body#/domain", "user_name": "$response.body#/user"}),
    # a new mailbox: alias to it, read it (v1 and v2), change it, reset its password, a public alias for it
    Link(MAILBOX, ("POST", "/domains/{domain_name}/aliases/"), {"domain_name": "$request.path.domain_name"}),
    Link(MAILBOX, ("GET", "/v2/domains/{domain_name}/mailboxes/{user_name}"), _NEW_MAILBOX),
    Link(MAILBOX, ("PATCH", "/v2/domains/{domain_name}/mailboxes/{user_name}"), _NEW_MAILBOX),
    Link(MAILBOX, ("GET", "/domains/{domain_name}/mailboxes/{user_name}"), _NEW_MAILBOX),
    Link(MAILBOX, ("POST", "/domains/{domain_name}/mailboxes/{user_name}/reset_password"), _NEW_MAILBOX),
    Link(MAILBOX, ("GET", "/v2/domains/{domain_name}/mailboxes/"), {"domain_name": "$request.path.domain_name"}),
    Link(MAILBOX, ("POST", "/aliases"), body={
        "domain": "$request.path.domain_name", "destination": "$response.body#/email", "description": "contract run"}),
    # a new alias: read it by destination, then delete it
    Link(ALIAS, ("GET", "/domains/{domain_name}/aliases/"),
         {"domain_name": "$request.path.domain_name", "destination": "$response.body#/destination"}),
    Link(ALIAS, ("DELETE", "/domains/{domain_name}/aliases/{user_name}/{destination}"),
         {"domain_name": "$request.path.domain_name", "user_name": "$response.body#/username",
          "destination": "$response.body#/destination"}),
    # a new forward: read, change, list, delete it
    Link(FORWARD, ("GET", "/domains/{domain_name}/forwards/{user_name}"), _NEW_FORWARD),
    Link(FORWARD, ("PATCH", "/domains/{domain_name}/forwards/{user_name}"), _NEW_FORWARD),
    Link(FORWARD, ("GET", "/domains/{domain_name}/forwards/"), {"domain_name": "$response.body#/domain"}),
    Link(FORWARD, ("DELETE", "/domains/{domain_name}/forwards/{user_name}"), _NEW_FORWARD),
    # a new public alias: what its mailbox receives (its path wants the name split, which no link can do)
    Link(PUBLIC_ALIAS, ("GET", "/aliases"), {"destination": "$request.body#/destination"}),
    # a new user: read and change it, see its allows
    Link(USER, ("GET", "/users/{user_name}"), {"user_name": "$response.body#/name"}),
    Link(USER, ("PATCH", "/users/{user}"), {"user": "$response.body#/name"}),
    Link(USER, ("GET", "/allows/"), {"username": "$response.body#/name"}),
)


def chain_operations() -> set[tuple[str, str]]:
    ends = {(m, p) for link in LINKS for m, p in (link.source[:2], link.target)}
    return ends | {("GET", "/domains/"), ("GET", "/users/")}


def linked(openapi: dict[str, Any], member: str) -> tuple[dict[str, Any], list[Link]]:
    """A copy of `openapi` restricted to the chain's operations, with the links both of whose ends it has."""
    document = copy.deepcopy(openapi)
    keep = chain_operations()
    paths: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        kept = {m: op for m, op in item.items() if m not in _METHODS or (m.upper(), path) in keep}
        if any(m in _METHODS for m in kept):
            paths[path] = kept
    document["paths"] = paths
    present = {(m.upper(), p) for p, item in paths.items() for m in item if m in _METHODS}
    added = []
    for number, link in enumerate(LINKS):
        method, path, code = link.source
        if (method, path) not in present or link.target not in present:
            continue
        response = paths[path][method.lower()]["responses"].get(code)
        if response is None:
            continue
        definition: dict[str, Any] = {"operationId": paths[link.target[1]][link.target[0].lower()]["operationId"]}
        if link.parameters:
            definition["parameters"] = dict(link.parameters)
        if link.body is not None:
            definition["requestBody"] = {k: (member if v == MEMBER else v) for k, v in link.body.items()}
        response.setdefault("links", {})[f"L{number:02d}"] = definition
        added.append(link)
    return document, added


_METHODS = ("get", "post", "put", "patch", "delete")
