"""What a generated write must read back as: the stateful schema run's read-back (`readback.py` reads).

Each successful write of the linked scenarios is turned into the fields every view of the object must
show, from the request as sent (CONTRACT §4: defaults, `""` that clears, the list update rule) and from
what the run verified of the object before (a PATCH changes what it names and nothing else). Its own
answer is compared too. Deletions are read back as gone. Only what the server generates is left out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from .readback import (APP_PASSWORD, GET_FORWARD, IDENTITIES, SECONDARY, AsSet, Box, ReadBack, lax_bool, list_edit)

_BOX = "/domains/{domain_name}/mailboxes/{user_name}"
HOSTS = ("webmail_domain", "imap_domain", "smtp_domain")


def _sets(values: dict[str, Any]) -> dict[str, Any]:
    return {k: AsSet(v) if isinstance(v, set) else v for k, v in values.items()}


class Written:
    """The run's objects as written so far, and the read-back of each new write."""

    def __init__(self, rb: ReadBack) -> None:
        self.rb = rb
        self.domains: dict[str, dict[str, Any]] = {}  # name -> fields (sets for unordered lists)
        self.users: dict[str, dict[str, Any]] = {}
        self.boxes: dict[tuple[str, str], Box] = {}
        self.checked = 0  # writes read back

    def after(self, method: str, path: str, url_path: str, body: Any, answer: Any, status: int) -> None:
        """Read back one successful call of the operation `method path` (template) sent to `url_path`."""
        handler = getattr(self, _HANDLERS.get((method, path), ""), None)
        if handler is None:
            return
        params = _path_parameters(path, url_path)
        write = f"{method} {url_path} {status}"
        handler(write, params, body if isinstance(body, dict) else {}, answer)
        self.checked += 1

    # --- domains and users --------------------------------------------------------------

    def domain_created(self, write: str, _: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        fields = {"delivery": body.get("delivery") or "virtual", "features": set(body.get("features") or []),
                  **{host: body.get(host) or None for host in HOSTS}, "mx_name": body.get("mx_name") or "internal",
                  "transport": body.get("transport") or None, "webmail": body.get("webmail"),
                  "public_alias": lax_bool(body.get("public_alias")),
                  "public_alias_rules": set(body.get("public_alias_rules") or []), "store_name": body.get("store_name"),
                  "context_name": None}  # echoed by the 201 only (CONTRACT §4.4)
        self.domains[body["name"]] = fields
        self.rb.domain(write, body["name"], _sets(fields), answer=answer)

    def domain_changed(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        name = path["domain_name"]
        fields = self.domains.get(name)
        if fields is None:
            return
        changes = {k: v for k, v in body.items() if v is not None}
        for key, value in changes.items():
            if key == "features":
                fields["features"] = list_edit(fields["features"], value) or set()
            elif key in HOSTS or key == "transport":
                fields[key] = value or None
            elif key == "mx_name":
                fields[key] = value or "internal"
            elif key == "public_alias":
                fields[key] = lax_bool(value)
            elif key == "public_alias_rules":
                fields[key] = set(value)
            elif key in ("delivery", "webmail", "store_name"):
                fields[key] = value
        shown = _sets(fields)
        if "active" in changes:  # not kept: a later check that passes sets it (CHECKS §1)
            shown["active"] = lax_bool(changes["active"])
        self.rb.domain(write, name, shown, answer=answer)

    def user_created(self, write: str, _: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        fields = {"is_admin": lax_bool(body.get("is_admin")), "perms": set(body.get("perms") or []),
                  "acls": set(body.get("acls") or []), "identities": set(body.get("identities") or [])}
        self.users[body["name"]] = fields
        self.rb.same(write, f"the answer to {write}", answer, self.rb.declared("User", {"name": body["name"],
                                                                                         **_sets(fields)}))
        self.rb.user(write, body["name"], _sets(fields), uuid=answer.get("uuid") if isinstance(answer, dict) else None)

    def user_changed(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        name = path["user"]
        fields = self.users.get(name)
        if fields is None:
            return
        for key in ("perms", "acls", "identities"):
            if body.get(key) is not None:
                fields[key] = list_edit(fields[key], body[key]) or set()
        if body.get("is_admin") is not None:
            fields["is_admin"] = lax_bool(body["is_admin"])
        self.rb.same(write, f"the answer to {write}", answer, self.rb.declared("User", {"name": name, **_sets(fields)}))
        self.rb.user(write, name, _sets(fields))

    def allow_created(self, write: str, _: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        self.rb.same(write, f"the answer to {write}", answer, {"user": body["user"], "domain": body["domain"]})
        self.rb.allow(write, body["user"], body["domain"])

    def allow_deleted(self, write: str, path: dict[str, str], _: dict[str, Any], __: Any) -> None:
        self.rb.allow(write, path["user_name"], path["domain_name"], present=False)

    # --- mailboxes (v2) -----------------------------------------------------------------------

    def mailbox_created(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        domain, local = path["domain_name"], path["user_name"]
        known = self.domains.get(domain)
        self.rb.same(write, f"the answer to {write}", answer, {"email": f"{local}@{domain}"})
        if known is None:
            return
        features = set(body.get("features") or [])
        extras = body.get("extras") or {}
        ox = extras.get("ox") or {}
        schedule = extras.get("schedule")
        box = Box(domain, local, webmail_domain="webmail" in known["features"],
                  names=(ox["given_name"], ox["sur_name"], ox["display_name"]) if "ox" in features else None,
                  senders=list(body.get("additionalSenders") or []), rate_limit=body.get("rate_limit"),
                  quota=body.get("quota"),
                  schedule=((schedule or {}).get("max", 12) if schedule else 12) if "schedule" in features else None)
        self.boxes[(domain, local)] = box
        self.rb.mailbox(write, box)

    def mailbox_changed(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        box = self.boxes.get((path["domain_name"], path["user_name"]))
        if box is None:
            return
        extras = body.get("extras") or {}
        current = ({"ox"} if box.names else set()) | ({"schedule"} if box.schedule is not None else set())
        features = current if body.get("features") is None else (list_edit(current, body["features"]) or set())
        ox = extras.get("ox") or {}
        if "ox" not in features:
            box.names = None
        elif box.names is None:
            box.names = (ox["given_name"], ox["sur_name"], ox["display_name"])
        else:
            box.names = tuple(ox.get(k) if ox.get(k) is not None else old  # type: ignore[assignment]
                              for k, old in zip(("given_name", "sur_name", "display_name"), box.names, strict=True))
        if "schedule" not in features:
            box.schedule = None
        elif extras.get("schedule") is not None:
            box.schedule = extras["schedule"].get("max", 12)
        else:
            box.schedule = box.schedule or 12
        for flag in ("imap", "smtp"):
            value = body.get(f"{flag}_active")
            if value not in (None, "unknown"):
                setattr(box, flag, value)
        if body.get("additionalSenders") is not None:
            box.senders = list(body["additionalSenders"])
        if body.get("rate_limit") is not None:
            box.rate_limit = body["rate_limit"]
        if body.get("quota") is not None:
            box.quota = body["quota"] or None  # "" removes it (CONTRACT §4.6)
        self.rb.same(write, f"the answer to {write}", answer, box.v2())
        self.rb.mailbox(write, box)

    # --- what hangs on a domain or a mailbox ------------------------------------------------------

    def alias_created(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        domain = path["domain_name"]
        alias = {"username": body["user_name"], "domain": domain, "destination": body["destination"],
                 "allow_to_send": lax_bool(body.get("allow_to_send"))}
        self.rb.same(write, f"the answer to {write}", answer, alias)
        self.rb.alias(write, domain, body["user_name"], body["destination"], alias["allow_to_send"],
                      probe=domain in self.domains)

    def alias_deleted(self, write: str, path: dict[str, str], _: dict[str, Any], __: Any) -> None:
        self.rb.alias(write, path["domain_name"], path["user_name"], path["destination"], None)

    def forward_written(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        domain, local = path["domain_name"], path["user_name"]
        self.rb.same(write, f"the answer to {write}", answer,
                     {"domain": domain, "username": local, "nexthop": body["nexthop"]})
        self.rb.forward(write, domain, local, body["nexthop"])

    def forward_deleted(self, write: str, path: dict[str, str], _: dict[str, Any], __: Any) -> None:
        self.rb.get(write, GET_FORWARD, expect=404, **path)

    def public_alias_created(self, write: str, _: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        self.rb.same(write, f"the answer to {write}", answer, {"description": body["description"]})
        self.rb.public_alias(write, body["destination"], answer["alias"], body["description"])

    def identity_linked(self, write: str, path: dict[str, str], body: dict[str, Any], _: Any) -> None:
        if "identity" in path:
            self.rb.identity(write, path["identity"], f"{path['user_name']}@{path['domain_name']}")
        else:
            self.rb.identity(write, body["proconnect"], body["email"])

    def identity_unlinked(self, write: str, path: dict[str, str], _: dict[str, Any], __: Any) -> None:
        read, emails = self.rb.get(write, IDENTITIES, params={"identity": path["proconnect"]})
        if read:
            self.rb.listed(write, read, emails, path["email"], present=False)

    def secondary_linked(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        expected = {"domain_name": path["domain_name"], "user_name": path["user_name"],
                    "master_of": path["secondary_email"], "displayName": body.get("displayName")}
        self.rb.same(write, f"the answer to {write}", answer, expected)
        self.rb.secondary(write, path["domain_name"], path["user_name"], path["secondary_email"],
                          body.get("displayName"))

    def secondary_unlinked(self, write: str, path: dict[str, str], _: dict[str, Any], __: Any) -> None:
        self.rb.get(write, SECONDARY, expect=404, **path)

    def app_password_created(self, write: str, path: dict[str, str], body: dict[str, Any], answer: Any) -> None:
        self.rb.app_password(write, path["domain_name"], path["user_name"], answer["uuid"], body["name"], body["type"])

    def app_password_deleted(self, write: str, path: dict[str, str], _: dict[str, Any], __: Any) -> None:
        self.rb.get(write, APP_PASSWORD, expect=404, **path)


_HANDLERS = {
    ("POST", "/domains/"): "domain_created", ("PATCH", "/domains/{domain_name}"): "domain_changed",
    ("POST", "/users/"): "user_created", ("PATCH", "/users/{user}"): "user_changed",
    ("POST", "/allows/"): "allow_created", ("DELETE", "/allows/{domain_name}/{user_name}"): "allow_deleted",
    ("POST", "/v2" + _BOX): "mailbox_created", ("PATCH", "/v2" + _BOX): "mailbox_changed",
    ("POST", "/domains/{domain_name}/aliases/"): "alias_created",
    ("DELETE", "/domains/{domain_name}/aliases/{user_name}/{destination}"): "alias_deleted",
    ("POST", "/domains/{domain_name}/forwards/{user_name}"): "forward_written",
    ("PATCH", "/domains/{domain_name}/forwards/{user_name}"): "forward_written",
    ("DELETE", "/domains/{domain_name}/forwards/{user_name}"): "forward_deleted",
    ("POST", "/aliases"): "public_alias_created",
    ("POST", "/identities"): "identity_linked", ("POST", _BOX + "/identities/{identity}"): "identity_linked",
    ("DELETE", "/identities/{proconnect}/{email}"): "identity_unlinked",
    ("POST", _BOX + "/master_of/{secondary_email}"): "secondary_linked",
    ("DELETE", _BOX + "/master_of/{secondary_email}"): "secondary_unlinked",
    ("POST", _BOX + "/app_passwords"): "app_password_created",
    ("DELETE", _BOX + "/app_passwords/{uuid}"): "app_password_deleted",
}


def _path_parameters(template: str, path: str) -> dict[str, str]:
    """The values of a template's parameters in a path (`/domains/{domain_name}/...`), decoded."""
    found: dict[str, str] = {}
    parts, values = template.strip("/").split("/"), path.strip("/").split("/")
    for part, value in zip(parts, values, strict=False):
        if part.startswith("{") and part.endswith("}"):
            found[part[1:-1]] = unquote(value)
    return found
