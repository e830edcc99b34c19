"""OpenAPI links the suite adds to the target's document, so that schemathesis' stateful runs chain
user → domain → allow → mailbox → alias, identity, secondary account, app password, domain or mailbox →
forward, and mailbox → public alias instead of guessing names.

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
# `$secondary` stands for an existing mailbox of the run (`<local>@<domain>`), made before the scenarios:
# a secondary account links two mailboxes, and a scenario's own new mailbox is only one.
SECONDARY = "$secondary"
SECONDARY_LOCAL, SECONDARY_DOMAIN = "$secondary.local", "$secondary.domain"


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
_BOX = "/domains/{domain_name}/mailboxes/{user_name}"
APP_PASSWORD = ("POST", _BOX + "/app_passwords", "201")
MASTER = ("POST", _BOX + "/master_of/{secondary_email}", "201")
IDENTITY = ("POST", "/identities", "201")
MAILBOX_IDENTITY = ("POST", _BOX + "/identities/{identity}", "201")
RESET = ("POST", _BOX + "/reset_password", "200")

_NEW_DOMAIN = {"domain_name": "$response.body#/name"}
_NEW_MAILBOX = {"domain_name": "$request.path.domain_name", "user_name": "$request.path.user_name"}
_NEW_FORWARD = {"domain_name": "$response.body#/domain", "user_name": "$response.body#/username"}
_SAME_LINK = {**_NEW_MAILBOX, "secondary_email": "$request.path.secondary_email"}
_APP_PASSWORD = {**_NEW_MAILBOX, "uuid": "$response.body#/uuid"}

# Order matters: hypothesis tries the simplest choices first, and the first rule in name order is the
# simplest. Link names number this table (`L00`, `L01`, ...), so each source lists forward steps first.
LINKS: tuple[Link, ...] = (
    # a new domain: give the member access, fill it (a public alias on it when its generated `public_alias`
    # lets it take them), then read, change and check it
    Link(DOMAIN, ("POST", "/allows/"), body={"domain": "$response.body#/name", "user": MEMBER}),
    # an OX mailbox: what app passwords and identities hang on (a generated body often has no `ox`)
    Link(DOMAIN, ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}"), _NEW_DOMAIN, body={
        "features": ["ox"], "extras": {"ox": {"given_name": "Contract", "sur_name": "Box",
                                              "display_name": "Contract Box"}}}),
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
    # a new mailbox: link an identity to it (with its password, before anything changes it), give it access
    # to the run's other mailbox, app passwords, an alias; then read it (v1 and v2), change it, reset its
    # password, read what hangs on it
    Link(MAILBOX, ("POST", "/identities"),
         body={"proconnect": MEMBER, "email": "$response.body#/email", "password": "$response.body#/password"}),
    Link(MAILBOX, ("POST", _BOX + "/identities/{identity}"), _NEW_MAILBOX),
    Link(MAILBOX, ("POST", _BOX + "/master_of/{secondary_email}"), {**_NEW_MAILBOX, "secondary_email": SECONDARY}),
    Link(MAILBOX, ("POST", _BOX + "/app_passwords"), _NEW_MAILBOX),
    Link(MAILBOX, ("POST", "/domains/{domain_name}/aliases/"), {"domain_name": "$request.path.domain_name"}),
    Link(MAILBOX, ("GET", "/v2/domains/{domain_name}/mailboxes/{user_name}"), _NEW_MAILBOX),
    Link(MAILBOX, ("PATCH", "/v2/domains/{domain_name}/mailboxes/{user_name}"), _NEW_MAILBOX),
    Link(MAILBOX, ("GET", "/domains/{domain_name}/mailboxes/{user_name}"), _NEW_MAILBOX),
    Link(MAILBOX, ("POST", "/domains/{domain_name}/mailboxes/{user_name}/reset_password"), _NEW_MAILBOX),
    Link(MAILBOX, ("GET", "/v2/domains/{domain_name}/mailboxes/"), {"domain_name": "$request.path.domain_name"}),
    Link(MAILBOX, ("POST", "/aliases"), body={
        "domain": "$request.path.domain_name", "destination": "$response.body#/email", "description": "contract run"}),
    Link(MAILBOX, ("GET", _BOX + "/identities"), _NEW_MAILBOX),
    Link(MAILBOX, ("GET", _BOX + "/mastered_by"), _NEW_MAILBOX),
    Link(MAILBOX, ("GET", _BOX + "/app_passwords"), _NEW_MAILBOX),
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
    # access to the other mailbox: an app password there (a scenario's own mailbox has no OX user, as
    # generated), read the access, take it back
    Link(MASTER, ("POST", _BOX + "/app_passwords"), {"domain_name": SECONDARY_DOMAIN, "user_name": SECONDARY_LOCAL}),
    Link(MASTER, ("GET", _BOX + "/master_of/{secondary_email}"), _SAME_LINK),
    Link(MASTER, ("DELETE", _BOX + "/master_of/{secondary_email}"), _SAME_LINK),
    # a new app password: read it, delete it
    Link(APP_PASSWORD, ("GET", _BOX + "/app_passwords/{uuid}"), _APP_PASSWORD),
    Link(APP_PASSWORD, ("DELETE", _BOX + "/app_passwords/{uuid}"), _APP_PASSWORD),
    # a new identity, from either end: list its mailboxes, unlink one
    Link(IDENTITY, ("GET", "/identities"), {"identity": "$request.body#/proconnect"}),
    Link(IDENTITY, ("DELETE", "/identities/{proconnect}/{email}"),
         {"proconnect": "$request.body#/proconnect", "email": "$request.body#/email"}),
    Link(MAILBOX_IDENTITY, ("GET", "/identities"), {"identity": "$request.path.identity"}),
    Link(MAILBOX_IDENTITY, ("DELETE", "/identities/{proconnect}/{email}"),
         {"proconnect": "$request.path.identity",
          "email": "{$request.path.user_name}@{$request.path.domain_name}"}),
    # a new password proves the link as the first one did: a scenario that reset (or changed) it before linking
    # an identity has this one still (last in the table, so the numbers before it stay)
    Link(RESET, ("POST", "/identities"),
         body={"proconnect": MEMBER, "email": "$response.body#/email", "password": "$response.body#/password"}),
)


def depths() -> dict[tuple[str, str], int]:
    """How far along the chains each source of links is: the longest run of links from a root to it."""
    found: dict[tuple[str, str], int] = {}

    def depth(operation: tuple[str, str]) -> int:
        if operation not in found:
            found[operation] = 0  # the links form no cycle; this only guards against one
            found[operation] = max((depth(link.source[:2]) + 1 for link in LINKS if link.target == operation),
                                   default=0)
        return found[operation]

    for link in LINKS:
        depth(link.source[:2])
    return found


def chain_operations() -> set[tuple[str, str]]:
    ends = {(m, p) for link in LINKS for m, p in (link.source[:2], link.target)}
    return ends | {("GET", "/domains/"), ("GET", "/users/")}


def linked(openapi: dict[str, Any], member: str, secondary: str) -> tuple[dict[str, Any], list[Link]]:
    """A copy of `openapi` restricted to the chain's operations, with the links both of whose ends it has;
    `member` and `secondary` fill in their placeholders."""
    local, _, domain = secondary.rpartition("@")
    fill = {MEMBER: member, SECONDARY: secondary, SECONDARY_LOCAL: local, SECONDARY_DOMAIN: domain}
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
            definition["parameters"] = {k: fill.get(v, v) for k, v in link.parameters.items()}
        if link.body is not None:
            definition["requestBody"] = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in link.body.items()}
        response.setdefault("links", {})[f"L{number:02d}"] = definition
        added.append(link)
    return document, added


_METHODS = ("get", "post", "put", "patch", "delete")
