"""Read-back and exact deletions: what a write must read back as, what a deletion removes.

After a successful write, every read that shows the written object (its GET, the listings that
contain it, the v1 and v2 views of a mailbox, the address probe, `/my/*`) is compared field by field
with what was written. Only what the server generates is left out (uuids, passwords, dates, check
results), and lists whose order dimail does not promise are compared as sets (`AsSet`). A read the
target does not declare is not sent.

After a deletion, the objects of one kind before and after are compared (`exactly_removed`): what
the deletion names is gone, and nothing else is.

A failure names the write, the read and the field:

    read-back after POST /domains/d/mailboxes/jean: GET /v2/domains/d/mailboxes/jean:
    `extras.ox.given_name` reads 'Dupont', expected 'Jean'

Both the permission sequence (what People writes) and the stateful schema run (what generated
bodies write) use these views.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .expect import ContractBroken
from .target import Target

# The views, as the target's document names them.
GET_USER, LIST_USERS = ("GET", "/users/{user_name}"), ("GET", "/users/")
LIST_ALLOWS = ("GET", "/allows/")
GET_DOMAIN, LIST_DOMAINS, PUBLIC_DOMAIN = (("GET", "/domains/{domain_name}"), ("GET", "/domains/"),
                                           ("GET", "/public/domains/{domain_name}"))
_BOX = "/domains/{domain_name}/mailboxes/{user_name}"
GET_MAILBOX, LIST_MAILBOXES = ("GET", _BOX), ("GET", "/domains/{domain_name}/mailboxes/")
GET_MAILBOX2, LIST_MAILBOXES2 = ("GET", "/v2" + _BOX), ("GET", "/v2/domains/{domain_name}/mailboxes/")
ADDRESS = ("GET", "/domains/{domain_name}/address/{user_name}")
LIST_ALIASES = ("GET", "/domains/{domain_name}/aliases/")
GET_FORWARD, LIST_FORWARDS = ("GET", "/domains/{domain_name}/forwards/{user_name}"), \
    ("GET", "/domains/{domain_name}/forwards/")
MY_DOMAINS, MY_MAILBOXES, MY_ALIASES, MY_RESOURCES = (("GET", f"/my/{kind}") for kind in
                                                      ("domains", "mailboxes", "aliases", "resources"))
PUBLIC_ALIASES = ("GET", "/aliases")
IDENTITIES, MAILBOX_IDENTITIES = ("GET", "/identities"), ("GET", _BOX + "/identities")
APP_PASSWORD, APP_PASSWORDS = ("GET", _BOX + "/app_passwords/{uuid}"), ("GET", _BOX + "/app_passwords")
SECONDARY = ("GET", _BOX + "/master_of/{secondary_email}")
MASTERS, MASTERED = ("GET", _BOX + "/master_of"), ("GET", _BOX + "/mastered_by")


class AsSet:
    """A list whose order (and repeats) dimail does not promise: compared as a set."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = set(items)

    def matches(self, got: Any) -> bool:
        return isinstance(got, list) and all(isinstance(i, str) for i in got) and set(got) == self.items

    def __repr__(self) -> str:
        return f"{sorted(self.items)!r} (any order)"


def lax_bool(value: Any) -> bool:
    """How dimail reads a boolean field (pydantic's lax mode): People sends `is_admin` as the string "false"."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on", "t", "y")
    return bool(value)


def list_edit(current: Iterable[str], change: list[str]) -> set[str] | None:
    """dimail's list update rule (CONTRACT §4.2): all items `+x`/`-x` edit in one pass, none of them set;
    None for a mix (refused)."""
    signed = [item[:1] in ("+", "-") for item in change]
    if change and all(signed):
        result = set(current)
        for item in change:
            (result.add if item[0] == "+" else result.discard)(item[1:])
        return result
    return None if any(signed) else set(change)


def mismatches(got: Any, expected: dict[str, Any]) -> list[str]:
    """Each field of `expected` (dotted path -> value or `AsSet`) that `got` does not show."""
    found = []
    for dotted, want in expected.items():
        node, missing = got, False
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                missing = True
                break
            node = node[part]
        if missing:
            found.append(f"`{dotted}` is missing, expected {want!r}")
        elif not (want.matches(node) if isinstance(want, AsSet) else _same(node, want)):
            found.append(f"`{dotted}` reads {node!r}, expected {want!r}")
    return found


def _same(got: Any, want: Any) -> bool:
    return got == want and type(got) is type(want) if isinstance(want, bool) or isinstance(got, bool) else got == want


def exactly_removed(write: str, read: str, before: set[Any], after: set[Any], named: set[Any]) -> None:
    """A deletion removes exactly what it names: `named` gone, every other object of `before` still there."""
    problems = []
    kept = sorted(named & after, key=repr)
    if kept:
        problems.append(f"still shows {kept} (what the deletion names, or hangs on it)")
    lost = sorted((before - after) - named, key=repr)
    if lost:
        problems.append(f"lost {lost} (neighbours the deletion does not name)")
    gained = sorted(after - before, key=repr)
    if gained:
        problems.append(f"gained {gained}")
    if problems:
        raise ContractBroken(f"exact deletion, {write}: {read} {'; '.join(problems)}")


@dataclass
class Box:
    """A mailbox as written: what every view of it must show."""

    domain: str
    local: str
    webmail_domain: bool  # the domain has `webmail`: its mailboxes are OX users when they have `ox`
    names: tuple[str, str, str] | None  # OX given, sur, display; None: no OX user
    imap: str = "yes"
    smtp: str = "yes"
    senders: list[str] = field(default_factory=list)
    rate_limit: str | None = None
    quota: str | None = None
    schedule: int | None = None  # `schedule` feature's max; None: off

    @property
    def email(self) -> str:
        return f"{self.local}@{self.domain}"

    def v1(self) -> dict[str, Any]:
        given, sur, display = self.names or (None, None, None)
        active = "wait" if "wait" in (self.imap, self.smtp) else "yes" if (self.imap, self.smtp) == ("yes", "yes") \
            else "no"
        ox = self.names is not None
        return {"type": "mailbox", "email": self.email, "status": "ok" if ox == self.webmail_domain else "broken",
                "active": active, "givenName": given, "surName": sur, "displayName": display,
                "additionalSenders": AsSet(self.senders), "rate_limit": self.rate_limit}

    def v2(self) -> dict[str, Any]:
        features = (["ox"] if self.names else []) + (["schedule"] if self.schedule is not None else [])
        expected: dict[str, Any] = {"type": "mailbox", "email": self.email, "imap_active": self.imap,
                                    "smtp_active": self.smtp, "features": AsSet(features),
                                    "additionalSenders": AsSet(self.senders), "rate_limit": self.rate_limit,
                                    "quota": self.quota}
        if self.names is None:
            expected["extras.ox"] = None
        else:
            expected.update(zip(("extras.ox.given_name", "extras.ox.sur_name", "extras.ox.display_name"),
                                self.names, strict=True))
        if self.schedule is not None:
            expected["extras.schedule.max"] = self.schedule
        return expected

    def address(self) -> dict[str, Any]:
        ox = self.names is not None
        return {"domain_name": self.domain, "user_name": self.local, "is_mailbox": True, "is_ox": ox,
                "ox_primary_email": self.email if ox else None}


class ReadBack:
    """The reads that show each kind of object, on one target, as People's user (and as a viewer for `/my/*`)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.operations = target.operations
        self._tokens: dict[str | None, str] = {}
        self.reads = 0  # requests sent, for the report's note

    def token(self, user: str | None = None) -> str:
        """People's token, or one for a user People's user manages (impersonation); kept: rights are re-read."""
        if user not in self._tokens:
            self._tokens[user] = self.target.token(user)
        return self._tokens[user]

    def forget(self, user: str) -> None:
        self._tokens.pop(user, None)

    def declared(self, schema: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields the target's document declares for this schema (all of them when it has no such schema):
        a dimail without users' `perms` (the 2024 one) is not asked to read them back."""
        properties = self.target.openapi.get("components", {}).get("schemas", {}).get(schema, {}).get("properties")
        return fields if properties is None else {k: v for k, v in fields.items() if k.split(".")[0] in properties}

    # --- one read ------------------------------------------------------------------------

    def get(self, write: str, operation: tuple[str, str], basic: bool = False, as_user: str | None = None,
            params: dict[str, str] | None = None, expect: int = 200, **path: str) -> tuple[str, Any]:
        """(what was read, the body); ("", None) when the target does not declare the read."""
        if operation not in self.operations:
            return "", None
        url = operation[1]
        for name, value in path.items():
            url = url.replace(f"{{{name}}}", quote(value, safe="@"))
        label = f"GET {url}" + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "") + \
            (f" as {as_user}" if as_user else "")
        auth = {"auth": self.target.people} if basic else {"bearer": self.token(as_user)}
        answer = self.target.call("GET", url, params=params, **auth)
        self.reads += 1
        if answer.status_code != expect:
            raise ContractBroken(f"read-back after {write}: {label} answered {answer.status_code}, expected {expect}; "
                                 f"body {answer.text[:160]!r}")
        try:
            return label, answer.json()
        except ValueError:
            raise ContractBroken(f"read-back after {write}: {label}: the body is not JSON: {answer.text[:160]!r}") \
                from None

    def check(self, write: str, operation: tuple[str, str], expected: dict[str, Any], key: dict[str, str] | None = None,
              basic: bool = False, params: dict[str, str] | None = None, **path: str) -> Any:
        """Read `operation` and compare its body (with `key`: the one listed item with those fields) with
        `expected`; returns what was compared (None when the target does not declare the read)."""
        read, got = self.get(write, operation, basic=basic, params=params, **path)
        if not read:
            return None
        shown = self.item(write, read, got, **key) if key is not None else got
        self.same(write, read, shown, expected)
        return shown

    @staticmethod
    def same(write: str, read: str, got: Any, expected: dict[str, Any]) -> None:
        problems = mismatches(got, expected)
        if problems:
            raise ContractBroken(f"read-back after {write}: {read}: {'; '.join(problems)}")

    @staticmethod
    def item(write: str, read: str, listing: Any, **key: str) -> Any:
        """The one item of a listing with these key fields."""
        if not isinstance(listing, list):
            raise ContractBroken(f"read-back after {write}: {read}: expected a list, got {listing!r:.160}")
        found = [i for i in listing if isinstance(i, dict) and all(i.get(k) == v for k, v in key.items())]
        if len(found) != 1:
            shown = ", ".join(f"{k}={v!r}" for k, v in key.items())
            raise ContractBroken(f"read-back after {write}: {read} lists {len(found)} items with {shown}, expected 1")
        return found[0]

    @staticmethod
    def listed(write: str, read: str, listing: Any, value: Any, present: bool = True) -> None:
        if not isinstance(listing, list) or (value in listing) is not present:
            raise ContractBroken(f"read-back after {write}: {read} {'lacks' if present else 'still lists'} "
                                 f"{value!r}: {listing!r:.200}")

    # --- the views of each kind of object ---------------------------------------------------

    def user(self, write: str, name: str, expected: dict[str, Any] | None, uuid: str | None = None) -> None:
        """An API user People's user manages; `expected` None: deleted."""
        if expected is None:
            self.get(write, GET_USER, basic=True, expect=404, user_name=name)
            read, listing = self.get(write, LIST_USERS, basic=True)
            if read and any(isinstance(u, dict) and u.get("name") == name for u in listing):
                raise ContractBroken(f"read-back after {write}: {read} still lists the user {name!r}")
            return
        expected = self.declared("User", {"name": name, **expected})
        seen: dict[str, Any] = {}
        for operation, key in ((GET_USER, None), (LIST_USERS, {"name": name})):
            shown = self.check(write, operation, expected, key, basic=True, user_name=name)
            if shown is not None:
                seen[" ".join(operation)] = shown.get("uuid")
        # A uuid is the server's to choose, once: every view shows the same one.
        if uuid is not None:
            seen = {f"the answer to {write}": uuid, **seen}
        if len(set(seen.values())) > 1:
            raise ContractBroken(f"read-back after {write}: the user's `uuid` differs between views: {seen}")

    def allow(self, write: str, user: str, domain: str, present: bool = True) -> None:
        pair = {"user": user, "domain": domain}
        for params in ({"username": user}, {"domain": domain}, {"username": user, "domain": domain}):
            read, listing = self.get(write, LIST_ALLOWS, basic=True, params=params)
            if read:
                self.listed(write, read, listing, pair, present)

    def domain(self, write: str, name: str, expected: dict[str, Any], answer: Any = None) -> None:
        expected = {"name": name, **expected}
        if answer is not None:
            self.same(write, f"the answer to {write}", answer, {k: v for k, v in expected.items() if k != "context_name"})
        self.check(write, GET_DOMAIN, expected, domain_name=name)
        self.check(write, LIST_DOMAINS, expected, {"name": name}, basic=True)
        self.get(write, PUBLIC_DOMAIN, domain_name=name)

    def mailbox(self, write: str, box: Box, viewer: str | None = None) -> None:
        """Its v1 and v2 views, both listings, the address probe, and `/my/mailboxes` of a user allowed on it."""
        where = {"domain_name": box.domain, "user_name": box.local}
        for one, listing, expected in ((GET_MAILBOX, LIST_MAILBOXES, box.v1()), (GET_MAILBOX2, LIST_MAILBOXES2, box.v2())):
            self.check(write, one, expected, **where)
            self.check(write, listing, expected, {"email": box.email}, domain_name=box.domain)
        self.check(write, ADDRESS, box.address(), **where)
        if viewer is not None:
            read, mine = self.get(write, MY_MAILBOXES, as_user=viewer)
            if read:
                self.listed(write, read, mine, box.email)

    def aliases(self, write: str, domain: str, local: str, destinations: dict[str, bool],
                viewer: str | None = None) -> None:
        """Every destination of `<local>@<domain>` (destination -> allow_to_send), through each alias view:
        the domain's listing and the name's hold exactly these."""
        wanted = {(local, d, a) for d, a in destinations.items()}
        for params in (None, {"user_name": local}):
            read, listing = self.get(write, LIST_ALIASES, params=params, domain_name=domain)
            if read:
                got = {(a.get("username"), a.get("destination"), a.get("allow_to_send")) for a in listing
                       if isinstance(a, dict) and (params or a.get("username") == local)}
                if got != wanted:
                    raise ContractBroken(f"read-back after {write}: {read} shows {local}'s aliases {sorted(got)}, "
                                         f"expected {sorted(wanted)} (name, destination, allow_to_send)")
        for destination, allowed in destinations.items():
            self._one_alias(write, domain, local, destination, allowed)
        self.check(write, ADDRESS, {"is_alias": bool(destinations)}, domain_name=domain, user_name=local)
        if viewer is not None:
            read, mine = self.get(write, MY_ALIASES, as_user=viewer)
            if read:
                self.listed(write, read, mine, f"{local}@{domain}", bool(destinations))

    def _one_alias(self, write: str, domain: str, local: str, destination: str, allowed: bool | None) -> None:
        """The read by name and destination: the alias, or 404 `Alias not found` when `allowed` is None (gone)."""
        params = {"user_name": local, "destination": destination}
        if allowed is None:
            self.get(write, LIST_ALIASES, params=params, expect=404, domain_name=domain)
            return
        self.check(write, LIST_ALIASES, {"username": local, "domain": domain, "destination": destination,
                                         "allow_to_send": allowed}, {"destination": destination}, params=params,
                   domain_name=domain)

    def alias(self, write: str, domain: str, local: str, destination: str, allowed: bool | None,
              probe: bool = True) -> None:
        """One destination of `<local>@<domain>` through each alias view; `allowed` None: gone (with the
        destination `all`: every destination of the name gone). `probe`: the domain exists, so the address
        probe answers too (an alias needs no domain, CONTRACT §4.11)."""
        if allowed is None and destination == "all":
            read, listing = self.get(write, LIST_ALIASES, params={"user_name": local}, domain_name=domain)
            if read and listing:
                raise ContractBroken(f"read-back after {write}: {read} still lists {listing!r:.200}")
            return
        self._one_alias(write, domain, local, destination, allowed)
        if allowed is None:
            return
        expected = {"username": local, "domain": domain, "destination": destination, "allow_to_send": allowed}
        key = {"username": local, "destination": destination}
        self.check(write, LIST_ALIASES, expected, key, domain_name=domain)
        self.check(write, LIST_ALIASES, expected, key, params={"user_name": local}, domain_name=domain)
        if probe:
            self.check(write, ADDRESS, {"is_alias": True}, domain_name=domain, user_name=local)

    def forward(self, write: str, domain: str, local: str, nexthop: str) -> None:
        expected = {"domain": domain, "username": local, "nexthop": nexthop}
        self.check(write, GET_FORWARD, expected, domain_name=domain, user_name=local)
        self.check(write, LIST_FORWARDS, expected, {"username": local}, domain_name=domain)
        self.check(write, ADDRESS, {"is_forward": True}, domain_name=domain, user_name=local)

    def public_alias(self, write: str, destination: str, alias: str, description: str) -> None:
        self.check(write, PUBLIC_ALIASES, {"description": description}, {"alias": alias},
                   params={"destination": destination})

    def identity(self, write: str, proconnect: str, email: str) -> None:
        read, emails = self.get(write, IDENTITIES, params={"identity": proconnect})
        if read:
            self.listed(write, read, emails, email)
        local, _, domain = email.rpartition("@")
        read, identities = self.get(write, MAILBOX_IDENTITIES, domain_name=domain, user_name=local)
        if read:
            self.listed(write, read, identities, proconnect)

    def app_password(self, write: str, domain: str, local: str, uuid: str, name: str, kind: str) -> None:
        expected = {"uuid": uuid, "name": name, "type": kind, "login": f"{local}@{domain}"}
        self.check(write, APP_PASSWORD, expected, domain_name=domain, user_name=local, uuid=uuid)
        self.check(write, APP_PASSWORDS, expected, {"uuid": uuid}, domain_name=domain, user_name=local)

    def secondary(self, write: str, domain: str, local: str, secondary: str, display: str | None) -> None:
        """`<local>@<domain>` may open `secondary`: the link itself, and each end's listing (CONTRACT §4.13:
        `…/master_of` lists who can open a mailbox, `…/mastered_by` what it can open)."""
        expected = {"domain_name": domain, "user_name": local, "master_of": secondary, "displayName": display}
        self.check(write, SECONDARY, expected, domain_name=domain, user_name=local, secondary_email=secondary)
        self.check(write, MASTERED, expected, {"master_of": secondary}, domain_name=domain, user_name=local)
        other_local, _, other_domain = secondary.rpartition("@")
        self.check(write, MASTERS, expected, {"domain_name": domain, "user_name": local}, domain_name=other_domain,
                   user_name=other_local)
