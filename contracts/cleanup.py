"""What a run leaves on its target, and how the clean-up finds and removes it.

Everything a run creates carries its prefix (`ct…`, `df…`), so the end of the run
finds it again even when the run was interrupted before it could note it (Ctrl-C
in the middle of a call): the domains and users listed with that prefix are
deleted with the ones the run noted. Around them:

- the simulated DNS zone of each of those domains, on a fake (`/_fake/dns/…`);
- what generated bodies create outside the run's domains (an admin may create an
  alias on a domain that does not exist), noted as the answers come (`note`);
- the crash logs dimail wrote for the run's requests (those naming its prefix,
  with admin credentials: `/logs/` is for admins);
- what no operation removes is named (`Leftover`): the OX context of each webmail
  domain (dimail leaves it when the domain goes), and the users the bootstrap
  set up (kept on purpose: People's next run needs them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from .target import Target

CRASHES = ("GET", "/logs/crashes")
USERS = ("GET", "/users/")
ZONE = ("DELETE", "/_fake/dns/{name}")
_ALIAS = re.compile(r"/domains/([^/]+)/aliases/?")
_RATE_LIMIT = re.compile(r"/system/rate_limits/([^/]+)")


@dataclass(frozen=True)
class Leftover:
    """Things of one kind the run could not, or would not, remove: named, with the reason."""

    kind: str  # "OX context", "user", "crash log"
    # in the order found
    names: tuple[str, ...]
    why: str

    def line(self, limit: int | None = None) -> str:
        """One line; with `limit`, the first names only (the terminal's summary: the report has them all)."""
        n = len(self.names)
        if not n:
            return f"{self.kind}s: {self.why}"
        names = ", ".join(self.names[:limit]) + (f" and {n - limit} more" if limit and n > limit else "")
        return f"{n} {self.kind}{'s' if n != 1 else ''} ({names}): {self.why}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "names": list(self.names), "why": self.why}


@dataclass(frozen=True)
class Undo:
    """A deletion that undoes something a generated body created outside the run's domains."""

    method: str
    path: str
    scheme: str  # "basic" | "bearer"


def begin(target: Target) -> None:
    """Before the bootstrap: which users and crash logs exist already (with admin credentials only)."""
    if target.admin is None:
        return
    target.users_before = _names(target, USERS, "name")
    target.crashes_before = _names(target, CRASHES, "name")


def _names(target: Target, operation: tuple[str, str], key: str) -> set[str] | None:
    if target.lacks(operation):
        return None
    try:
        answer = target.call(operation[0], operation[1], auth=target.admin)
        listed = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(listed, list):
        return None
    return {item[key] for item in listed if isinstance(item, dict) and isinstance(item.get(key), str)}


_DOMAIN = re.compile(r"/domains/([^/]+)")


def note(target: Target, method: str, path: str, body: Any, answer: httpx.Response) -> None:
    """Remember how to undo what this answer says was created outside the run's domains and users, and the
    OX contexts its webmail domains are put in (they outlive them)."""
    if not 200 <= answer.status_code < 300:
        return
    changed = _DOMAIN.fullmatch(path)
    if method == "PATCH" and changed and isinstance(body, dict) and isinstance(body.get("context_name"), str):
        try:
            webmail = "webmail" in (answer.json().get("features") or [])
        except (ValueError, AttributeError, TypeError):
            webmail = False
        if webmail:  # the domain is now in that context, made for it if it was not there
            target.contexts[changed[1]] = body["context_name"]
            target.contexts_left.append(body["context_name"])
        return
    if method != "POST":
        return
    if path == "/domains/" and isinstance(body, dict) and isinstance(body.get("name"), str):
        try:
            context = answer.json().get("context_name") or body.get("context_name")
        except (ValueError, AttributeError):
            context = body.get("context_name")
        if isinstance(context, str):
            target.contexts[body["name"]] = context
        features = body.get("features")
        if isinstance(features, list) and "webmail" in features:  # its context outlives it, however it goes
            target.contexts_left.append(target.contexts.get(body["name"], body["name"]))
        return
    alias = _ALIAS.fullmatch(path)
    if alias and isinstance(body, dict) and not _mine(target, alias[1]):
        local, destination = body.get("user_name"), body.get("destination")
        if isinstance(local, str) and isinstance(destination, str):
            target.undo.append(Undo("DELETE", f"/domains/{alias[1]}/aliases/{quote(local, safe='')}/"
                                              f"{quote(destination, safe='@')}", "bearer"))
        return
    rate_limit = _RATE_LIMIT.fullmatch(path)
    if rate_limit:
        target.undo.append(Undo("DELETE", path, "basic"))
        return
    if path == "/aliases":
        try:
            made = answer.json()
        except ValueError:
            return
        if isinstance(made, dict) and isinstance(body, dict) and isinstance(made.get("alias"), str) \
                and not _mine(target, str(body.get("domain", ""))):
            target.undo.append(Undo("DELETE", f"/aliases/{quote(made['alias'], safe='@')}/"
                                              f"{quote(str(body.get('destination')), safe='@')}", "bearer"))


def _mine(target: Target, name: str) -> bool:
    return name.startswith(target.prefix + "-")


def swept(target: Target) -> tuple[list[str], list[str]]:
    """The domains and users listed on the target with the run's prefix (those it could not note)."""
    auth = target.admin or target.people
    found: list[list[str]] = []
    for path in ("/domains/", "/users/"):
        try:
            answer = target.call("GET", path, auth=auth)
            listed = answer.json() if answer.status_code == 200 else []
        except (httpx.HTTPError, ValueError):
            listed = []
        found.append([item["name"] for item in listed if isinstance(item, dict)
                      and isinstance(item.get("name"), str) and _mine(target, item["name"])])
    return found[0], found[1]


def undone(target: Target) -> list[str]:
    """Send the noted deletions; what failed, described."""
    problems: list[str] = []
    if not target.undo:
        return problems
    auth = target.admin or target.people
    token = target.call("GET", "/token/", auth=auth).json().get("access_token")
    for undo in target.undo:
        credentials: dict[str, Any] = {"bearer": token} if undo.scheme == "bearer" else {"auth": auth}
        answer = target.call(undo.method, undo.path, **credentials)
        if answer.status_code not in (200, 204, 404):
            problems.append(f"{undo.method} {undo.path} answered {answer.status_code}: {answer.text[:120]}")
    target.undo.clear()
    return problems


def zone_removed(target: Target, name: str) -> None:
    """The simulated DNS zone of a run's domain, on a fake (a real dimail has no zone of its own)."""
    if not target.lacks(ZONE):
        target.call("DELETE", f"/_fake/dns/{quote(name, safe='')}")


def crash_logs(target: Target) -> tuple[list[str], list[Leftover]]:
    """Delete the crash logs written during the run that name its prefix; name the others it saw appear."""
    if target.lacks(CRASHES):
        return [], []
    if target.admin is None or target.crashes_before is None:
        if not target.server_errors:
            return [], []
        n = target.server_errors
        return [], [Leftover("crash log", (), f"{n} request{'s' if n != 1 else ''} answered 500 and dimail keeps a "
                                              "crash log for each: reading and deleting them needs --dimail-admin")]
    now = _names(target, CRASHES, "name") or set()
    problems, foreign = [], []
    for name in sorted(now - target.crashes_before):
        path = f"/logs/crashes/{quote(name, safe='')}"
        log = target.call("GET", path, auth=target.admin)
        if target.prefix not in log.text:
            foreign.append(name)
            continue
        answer = target.call("DELETE", path, auth=target.admin)
        if answer.status_code not in (204, 404):
            problems.append(f"DELETE {path} answered {answer.status_code}: {answer.text[:120]}")
    kept = [Leftover("crash log", tuple(foreign), "written during the run but not naming its prefix: "
                                                  "perhaps another client's, kept")] if foreign else []
    return problems, kept


def leftovers(target: Target) -> list[Leftover]:
    """What stays by design: the OX contexts of the deleted webmail domains, the users the bootstrap made."""
    found = []
    if target.contexts_left:
        found.append(Leftover("OX context", tuple(sorted(set(target.contexts_left), key=_natural)),
                              "made for the run's webmail domains; no dimail operation deletes a context "
                              "(DELETE /domains/{domain_name} leaves it)"))
    if target.users_before is not None:
        users = _names(target, USERS, "name") or set()
        made = [u for u in dict.fromkeys(u for u in (target.admin and target.admin[0], target.people[0]) if u)
                if u in users and u not in target.users_before]
        if made:
            found.append(Leftover("user", tuple(made), "set up by this run's bootstrap (--dimail-admin), kept for "
                                                       "People's next run"))
    return found


def _natural(name: str) -> list[Any]:
    """`…-d9…` before `…-d10…`."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
