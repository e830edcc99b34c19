"""Differential runs: the same People-like call sequences sent to two dimails, their answers compared.

Hypothesis draws sequences of calls (`sequences`): domains with features, users
with perms, allows, v1 and v2 mailboxes, aliases (duplicates and names dimail
refuses included), forwards, deletions, tokens (People's own and by
impersonation), People's trailing-slash paths that only work through a 307, and,
now and then, a call without credentials or with wrong ones. Only the kinds of
call whose operations both targets declare are drawn. Each sequence names its
own domains and users (`<prefix>-s<n>-d1.diff.test`, `<prefix>-s<n>-u1`), so two
sequences never meet and no reset is needed; what a sequence made is deleted
after it.

Each call goes to both targets, one after the other, and the two answers are
compared once what each server generates is blotted out (`normalised`: uuids,
passwords, tokens, login codes, DKIM keys, dates, the server's own URL in a
`location`, and the order of lists, which the API does not promise). A
difference has a signature — the operation, the pair of statuses and what else
differs — and is reported once per signature, with the shortest sequence that
showed it, shrunk (`Explorer.shrink`: calls are taken away while the difference
still shows) and written as curl lines.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from hypothesis import strategies as st

from provisioner.client import tls

from .cleanup import note
from .target import Target

FEATURES = ("webmail", "mailbox", "alias")
PERMS = ("new_domain", "create_users", "manage_users")
NAMES = (("Jean", "Dupont"), ("Marie", "Curie"), ("jean", "dupont"))
LOCALS = ("jean", "marie")
# People's alias names, then names dimail refuses (its UserName pattern: lower case, no space, no `@`).
ALIAS_NAMES = ("contact", "info", "Contact", "a b", "x@y", "")
DESTINATIONS = ("{local}@{d1}", "contact@devnull", "Jean@{d1}")  # the last: upper case, refused
DOMAIN_TLD = "diff.test"
# Lists that hold other runs' data too: only the items naming the sequence are compared.
SHARED_LISTS = {("GET", "/allows/"), ("GET", "/users/"), ("GET", "/domains/"), ("GET", "/my/domains")}
WRONG_PASSWORD_SUFFIX = "-wrong"
NOT_A_JWT = "not.a.jwt"
# Headers compared besides the status and the body; the rest is the framework's or the proxy's.
HEADERS = ("www-authenticate", "location")


# --- steps ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One call of a sequence, in symbols: `{d1}`, `{u2}` name the sequence's domains and users."""

    method: str
    operation: str  # the declared path template, e.g. /domains/{domain_name}/mailboxes/{user_name}
    path: str  # as sent, in symbols
    scheme: str  # "basic" (People's credentials) | "bearer" (a token, People's or by impersonation)
    credentials: str = "people"  # "people", "u1"/"u2" (a token by impersonation), "none", "wrong"
    body: Any = None
    query: tuple[tuple[str, str], ...] = ()
    slash: bool = False  # People's spelling: the declared path plus "/", answered with a 307 first

    def __str__(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.query) if self.query else ""
        return f"{self.method} {self.path}{'/' if self.slash else ''}{query} ({self.scheme}, {self.credentials})"


_SYMBOL = re.compile(r"\{([du]\d|ctx)\}")


def resolve(value: Any, names: dict[str, str]) -> Any:
    """`value` with its symbols replaced by the sequence's names."""
    if isinstance(value, str):
        return _SYMBOL.sub(lambda m: names[m[1]], value)
    if isinstance(value, list):
        return [resolve(v, names) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, names) for k, v in value.items()}
    return value


def names_of(sequence: str, context: str) -> dict[str, str]:
    """The sequence's names: its domains and users, and the run's shared OX context."""
    return {**{f"d{i}": f"{sequence}-d{i}.{DOMAIN_TLD}" for i in range(1, 4)},
            **{f"u{i}": f"{sequence}-u{i}" for i in range(1, 4)}, "ctx": context}


# --- what is drawn -------------------------------------------------------------------------------

_DOMAINS = st.sampled_from(["{d1}", "{d1}", "{d2}", "{d3}"])  # d3 is never created: the unknown domain
_USERS = st.sampled_from(["{u1}", "{u1}", "{u2}", "{u3}"])
_LOCALS = st.sampled_from(LOCALS)
_PEOPLE_NAMES = st.sampled_from(NAMES)
# Mostly People's own credentials (or a user's token, by impersonation); now and then none, or wrong ones.
_BASIC = st.sampled_from(["people"] * 8 + ["none", "wrong"])
_BEARER = st.sampled_from(["people"] * 6 + ["u1", "u2", "none", "wrong"])
# The OX context of a new domain: People's (named after it), the run's own (shared by its domains, so
# that the run leaves one context, not one per domain), or none (refused with `webmail`).
CONTEXTS = ("{d}", "{ctx}", "{ctx}", "{ctx}", None)


def _names_body(names: tuple[str, str]) -> dict[str, str]:
    return {"givenName": names[0], "surName": names[1], "displayName": " ".join(names)}


def _ox(names: tuple[str, str]) -> dict[str, Any]:
    return {"features": ["ox"], "extras": {"ox": {"given_name": names[0], "sur_name": names[1],
                                                  "display_name": " ".join(names)}}}


def _domain(index: int, features: list[str], context: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"{{d{index}}}", "features": features, "delivery": "virtual"}
    if context is not None:
        body["context_name"] = context.replace("{d}", f"{{d{index}}}")
    return body


def _user(index: int, perms: list[str], as_string: bool) -> dict[str, Any]:
    return {"name": f"{{u{index}}}", "password": "no", "is_admin": "false" if as_string else False, "perms": perms}


_FEATURE_SETS = st.one_of(st.just(list(FEATURES)), st.lists(st.sampled_from(FEATURES), unique=True, max_size=3))


def _kinds() -> dict[str, tuple[tuple[tuple[str, str], ...], st.SearchStrategy[Step]]]:
    """Every kind of call: the operations it needs, and how it is drawn."""
    box, v2 = "/domains/{domain_name}/mailboxes/{user_name}", "/v2/domains/{domain_name}/mailboxes/{user_name}"
    basic, bearer = "basic", "bearer"

    def kind(method: str, operation: str, path: Any, scheme: str, body: Any = st.none(),
             query: Any = st.just(()), slash: bool = False) -> tuple[tuple[tuple[str, str], ...], Any]:
        drawn = st.builds(Step, st.just(method), st.just(operation), path, st.just(scheme),
                          _BASIC if scheme == "basic" else _BEARER, body, query, st.just(slash))
        return ((method, operation),), drawn

    domain_path = _DOMAINS.map(lambda d: f"/domains/{d}")
    mailbox_path = st.tuples(_DOMAINS, _LOCALS).map(lambda t: f"/domains/{t[0]}/mailboxes/{t[1]}")
    alias = st.tuples(st.sampled_from(ALIAS_NAMES), st.sampled_from(DESTINATIONS), _LOCALS)
    return {
        "domain": kind("POST", "/domains/", st.just("/domains/"), basic,
                       st.tuples(st.sampled_from([1, 2]), _FEATURE_SETS, st.sampled_from(CONTEXTS)).map(
                           lambda t: _domain(*t))),
        "domain read": kind("GET", "/domains/{domain_name}", domain_path, bearer),
        "domains": kind("GET", "/domains/", st.just("/domains/"), basic),
        "check": kind("GET", "/domains/{domain_name}/check", domain_path.map(lambda p: p + "/check"), basic),
        "fix": kind("GET", "/domains/{domain_name}/fix", domain_path.map(lambda p: p + "/fix"), basic, slash=True),
        "spec": kind("GET", "/domains/{domain_name}/spec", domain_path.map(lambda p: p + "/spec"), basic, slash=True),
        "domain deletion": kind("DELETE", "/domains/{domain_name}", domain_path, basic),
        "user": kind("POST", "/users/", st.just("/users/"), basic,
                     st.tuples(st.sampled_from([1, 2]), st.lists(st.sampled_from(PERMS), unique=True),
                               st.booleans()).map(lambda t: _user(*t))),
        "user read": kind("GET", "/users/{user_name}", _USERS.map(lambda u: f"/users/{u}"), basic),
        "user deletion": kind("DELETE", "/users/{user_name}", _USERS.map(lambda u: f"/users/{u}"), basic),
        "token": kind("GET", "/token/", st.just("/token/"), basic,
                      query=st.one_of(st.just(()), _USERS.map(lambda u: (("username", u),)))),
        "allow": kind("POST", "/allows/", st.just("/allows/"), basic,
                      st.builds(lambda u, d: {"user": u, "domain": d}, _USERS, _DOMAINS)),
        "allow deletion": kind("DELETE", "/allows/{domain_name}/{user_name}",
                               st.tuples(_DOMAINS, _USERS).map(lambda t: f"/allows/{t[0]}/{t[1]}"), basic),
        "allows": kind("GET", "/allows/", st.just("/allows/"), basic),
        "my domains": kind("GET", "/my/domains", st.just("/my/domains"), bearer),
        "mailbox": kind("POST", box, mailbox_path, bearer, _PEOPLE_NAMES.map(_names_body)),
        "mailbox v2": kind("POST", v2, mailbox_path.map(lambda p: "/v2" + p), bearer, _PEOPLE_NAMES.map(_ox)),
        "mailbox read": kind("GET", box, mailbox_path, bearer),
        "mailboxes": kind("GET", "/domains/{domain_name}/mailboxes/", domain_path.map(lambda p: p + "/mailboxes/"),
                          bearer),
        "mailboxes v2": kind("GET", "/v2/domains/{domain_name}/mailboxes/",
                             domain_path.map(lambda p: "/v2" + p + "/mailboxes/"), bearer),
        "mailbox change": kind("PATCH", box, mailbox_path, bearer, st.one_of(
            st.just({"active": "no"}), _PEOPLE_NAMES.map(lambda n: {"active": "yes", **_names_body(n)}))),
        "password reset": kind("POST", box + "/reset_password", mailbox_path.map(lambda p: p + "/reset_password"),
                               bearer, slash=True),
        "login code": kind("POST", box + "/code", mailbox_path.map(lambda p: p + "/code"), bearer,
                           st.just({"expires_in": 3600, "maxuse": 3})),
        "address": kind("GET", "/domains/{domain_name}/address/{user_name}",
                        st.tuples(_DOMAINS, _LOCALS).map(lambda t: f"/domains/{t[0]}/address/{t[1]}"), bearer,
                        _PEOPLE_NAMES.map(_names_body), slash=True),
        "mailbox deletion": kind("DELETE", box, mailbox_path, bearer),
        "alias": kind("POST", "/domains/{domain_name}/aliases/", domain_path.map(lambda p: p + "/aliases/"), bearer,
                      alias.map(lambda t: {"user_name": t[0], "destination": t[1].replace("{local}", t[2])})),
        "aliases": kind("GET", "/domains/{domain_name}/aliases/", domain_path.map(lambda p: p + "/aliases/"), bearer,
                        query=st.sampled_from([(), (("user_name", "contact"),), (("destination", "jean@{d1}"),),
                                               (("user_name", "contact"), ("destination", "jean@{d1}"))])),
        "alias deletion": kind("DELETE", "/domains/{domain_name}/aliases/{user_name}/{destination}",
                               st.tuples(_DOMAINS, st.sampled_from(["contact", "info"]),
                                         st.sampled_from(["jean@{d1}", "all"])).map(
                                   lambda t: f"/domains/{t[0]}/aliases/{t[1]}/{t[2]}"), bearer),
        "forward": kind("POST", "/domains/{domain_name}/forwards/{user_name}",
                        st.tuples(_DOMAINS, _LOCALS).map(lambda t: f"/domains/{t[0]}/forwards/{t[1]}"), bearer,
                        st.sampled_from([{"nexthop": "smtp:relay.example.org"}, {"nexthop": "nowhere"}])),
        "forwards": kind("GET", "/domains/{domain_name}/forwards/", domain_path.map(lambda p: p + "/forwards/"),
                         bearer),
        "forward deletion": kind("DELETE", "/domains/{domain_name}/forwards/{user_name}",
                                 st.tuples(_DOMAINS, _LOCALS).map(lambda t: f"/domains/{t[0]}/forwards/{t[1]}"),
                                 bearer),
    }


def available(both: Callable[[tuple[str, str]], bool]) -> list[str]:
    """The kinds of call whose operations both targets declare."""
    return [name for name, (needed, _) in _kinds().items() if all(both(op) for op in needed)]


def sequences(kinds: Iterable[str], max_steps: int = 10) -> st.SearchStrategy[list[Step]]:
    """A sequence: one or two domains and up to two users made first, as People would, then the drawn calls."""
    kinds = list(kinds)
    table = _kinds()
    chosen = [table[name][1] for name in kinds]
    domains = st.lists(st.tuples(_FEATURE_SETS, st.sampled_from([c for c in CONTEXTS if c])), min_size=1,
                       max_size=2).map(lambda drawn: [Step("POST", "/domains/", "/domains/", "basic", "people",
                                                           _domain(i + 1, f, c)) for i, (f, c) in enumerate(drawn)])
    users = st.lists(st.tuples(st.lists(st.sampled_from(PERMS), unique=True), st.booleans()), max_size=2).map(
        lambda drawn: [Step("POST", "/users/", "/users/", "basic", "people", _user(i + 1, p, s))
                       for i, (p, s) in enumerate(drawn)])
    setup = st.tuples(domains if "domain" in kinds else st.just([]), users if "user" in kinds else st.just([]))
    return st.tuples(setup, st.lists(st.one_of(chosen), min_size=1, max_size=max_steps)).map(
        lambda t: [*t[0][0], *t[0][1], *t[1]])


# --- one side's exchanges -------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request and its answer, as sent to one target."""

    step: int  # index in the sequence
    role: str  # "token" (fetched for a Bearer call), "call", "redirected" (the call after People's 307)
    method: str
    operation: str
    path: str  # resolved, with the query
    scheme: str
    credentials: str  # as in `Step`; a token's fetch: the actor it is for
    body: Any
    status: int
    headers: dict[str, str]
    text: str
    data: Any = None
    is_json: bool = False


class Side:
    """One target of the comparison, reached without following redirects (the 307s are compared too)."""

    def __init__(self, target: Target, label: str) -> None:
        self.target, self.label = target, label
        self.client = self._client()

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.target.url, transport=self.target.transport, follow_redirects=False,
                            timeout=30, verify=tls())

    def close(self) -> None:
        self.client.close()

    def run(self, steps: list[Step], names: dict[str, str]) -> list[Exchange]:
        tokens: dict[str, str] = {}
        out: list[Exchange] = []
        for index, step in enumerate(steps):
            out += self.send(index, step, names, tokens)
        return out

    def send(self, index: int, step: Step, names: dict[str, str], tokens: dict[str, str]) -> list[Exchange]:
        """The step's call, after the token it needs (fetched once per actor and sequence, as People could)."""
        out: list[Exchange] = []
        headers: dict[str, str] = {}
        auth: tuple[str, str] | None = None
        people = self.target.people
        if step.credentials == "wrong":
            if step.scheme == "basic":
                auth = (people[0], people[1] + WRONG_PASSWORD_SUFFIX)
            else:
                headers["Authorization"] = f"Bearer {NOT_A_JWT}"
        elif step.credentials != "none" and step.scheme == "basic":
            auth = people
        elif step.credentials != "none":
            actor = step.credentials
            if actor not in tokens:
                fetched = self._token(index, actor, names)
                out.append(fetched)
                token = fetched.data.get("access_token") if fetched.status == 200 and isinstance(fetched.data, dict) \
                    else None
                tokens[actor] = token if isinstance(token, str) else "none"
            headers["Authorization"] = f"Bearer {tokens[actor]}"
        path = resolve(step.path, names) + ("/" if step.slash else "")
        query = tuple((k, resolve(v, names)) for k, v in step.query)
        body = resolve(step.body, names)
        first = self._exchange(index, "call", step, step.credentials, path, query, body, headers, auth)
        out.append(first)
        if step.slash and first.status == 307 and "location" in first.headers:
            # People follows it, re-sending the method, the body and the credentials (same host).
            followed = urlsplit(first.headers["location"])
            out.append(self._exchange(index, "redirected", step, step.credentials, followed.path,
                                      tuple(parse_qsl(followed.query, keep_blank_values=True)), body, headers, auth))
        return out

    def _token(self, index: int, actor: str, names: dict[str, str]) -> Exchange:
        query = (("username", names[actor]),) if actor != "people" else ()
        step = Step("GET", "/token/", "/token/", "basic")
        return self._exchange(index, "token", step, actor, "/token/", query, None, {}, self.target.people)

    def _exchange(self, index: int, role: str, step: Step, credentials: str, path: str,
                  query: tuple[tuple[str, str], ...], body: Any, headers: dict[str, str],
                  auth: tuple[str, str] | None) -> Exchange:
        kwargs: dict[str, Any] = {"headers": headers, "params": list(query) or None}
        if body is not None:
            kwargs["json"] = body
        if auth is not None:
            kwargs["auth"] = auth
        answer = self.client.request(step.method, quote(path, safe="/@:"), **kwargs)
        if answer.status_code >= 500:  # uvicorn closes the connection after an unhandled exception
            self.client.close()
            self.client = self._client()
        if answer.status_code == 500:
            self.target.server_errors += 1
        note(self.target, step.method, path, body, answer)  # an OX context made, for the clean-up to name
        try:
            data, is_json = answer.json(), True
        except ValueError:
            data, is_json = None, False
        shown = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        recorded = {h: answer.headers[h] for h in (*HEADERS, "content-type") if h in answer.headers}
        return Exchange(index, role, step.method, step.operation, shown, step.scheme, credentials, body,
                        answer.status_code, recorded, answer.text, data, is_json)


# --- what is compared ----------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
_DKIM = re.compile(r"p=[A-Za-z0-9+/=]{40,}")
# Fields whose value each server generates on its own.
GENERATED = {"password": "<password>", "access_token": "<token>", "code": "<code>", "uuid": "<uuid>",
             "date": "<date>", "last_use": "<date>", "time": "<date>", "created": "<date>"}
# Arrays whose order means something: FastAPI's validation list and each error's location.
ORDERED = {"detail", "loc"}


def normalised(value: Any, sequence: str, key: str | None = None) -> Any:
    """`value` with what a server generates blotted out, the sequence's name as `<seq>`, lists sorted."""
    if isinstance(value, str):
        if key in GENERATED and value:
            return GENERATED[key]
        text = _DKIM.sub("p=<dkim>", _JWT.sub("<token>", _UUID.sub("<uuid>", value)))
        return text.replace(sequence, "<seq>") if sequence else text
    if isinstance(value, list):
        items = [normalised(v, sequence) for v in value]
        return items if key in ORDERED else sorted(items, key=_canonical)
    if isinstance(value, dict):
        return {k: normalised(v, sequence, k) for k, v in value.items()}
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Seen:
    """One answer as compared: status, content type, the headers that matter, the body."""

    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: Any

    @classmethod
    def of(cls, exchange: Exchange, sequence: str, base: str) -> Seen:
        shown = {k: v for k, v in exchange.headers.items() if k in HEADERS}
        if "location" in shown:
            shown["location"] = shown["location"].replace(base, "$DIMAIL", 1)
        body = exchange.data if exchange.is_json else exchange.text
        if exchange.is_json and (exchange.method, exchange.operation) in SHARED_LISTS and isinstance(body, list):
            body = [item for item in body if sequence in _canonical(item)]
        kind = exchange.headers.get("content-type", "").partition(";")[0].strip()  # a proxy may add a charset
        return cls(exchange.status, kind, tuple(sorted((k, normalised(v, sequence)) for k, v in shown.items())),
                   normalised(body, sequence))


def differences(a: Seen, b: Seen) -> list[str]:
    """What differs between two answers, one line each (empty: the same)."""
    return [shown for _, shown in compared(a, b)]


def compared(a: Seen, b: Seen) -> list[tuple[str, str]]:
    """What differs, one line each, twice: as the signature keeps it, and as it is shown.

    The signature keeps a scalar (a status, an error's text) but only the kind of a list or an object,
    whose content follows what was sent: the same difference in a user's `perms` is one signature,
    whatever perms were drawn."""
    found = []
    if a.status != b.status:
        found.append(f"status: {a.status} vs {b.status}")
    if a.content_type != b.content_type:
        found.append(f"content-type: {a.content_type or '(none)'} vs {b.content_type or '(none)'}")
    ha, hb = dict(a.headers), dict(b.headers)
    for name in HEADERS:
        if ha.get(name) != hb.get(name):
            found.append(f"{name}: {_header(ha.get(name))} vs {_header(hb.get(name))}")
    pairs = [(line, line) for line in found]
    for key, shown in _body_differences(a.body, b.body):
        if all(key != known for known, _ in pairs):  # the same difference in several items: once
            pairs.append((key, shown))
    return pairs


_ABSENT = "(absent)"


def _body_differences(a: Any, b: Any, path: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(key, shown) per difference of two bodies: field by field, or, past six, the fields named."""
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict) and depth < 4:
        out = []
        for key in [*a, *(k for k in b if k not in a)]:
            out += _body_differences(a.get(key, _ABSENT), b.get(key, _ABSENT), f"{path}.{key}", depth + 1)
        return out if len(out) <= 6 else [_fields(path, a, b)]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and depth < 4:
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += _body_differences(x, y, f"{path}[{i}]", depth + 1)
        if len(out) <= 6:
            return out
    # An item's place in a list says nothing of the difference: `[*]` in the key.
    return [(f"body{_ANY_ITEM.sub('[*]', path)}: {_kind(a)} vs {_kind(b)}", f"body{path}: {_short(a)} vs {_short(b)}")]


_ANY_ITEM = re.compile(r"\[\d+\]")


def _fields(path: str, a: dict[str, Any], b: dict[str, Any]) -> tuple[str, str]:
    """Two objects that differ in many fields, said by the fields' names."""
    parts = [f"{what} {_named(keys)}" for what, keys in (
        ("only A has", [k for k in a if k not in b]), ("only B has", [k for k in b if k not in a]),
        ("values differ in", [k for k in a if k in b and a[k] != b[k]])) if keys]
    return f"body{_ANY_ITEM.sub('[*]', path)}: {'; '.join(parts)}", f"body{path}: {'; '.join(parts)}"


def _named(keys: list[str], shown: int = 8) -> str:
    return ", ".join(keys[:shown]) + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


def _short(value: Any, limit: int = 160) -> str:
    text = value if value == _ABSENT else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _header(value: str | None) -> str:
    return "(none)" if value is None else _short(value)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return _short(value)


# --- curl lines ------------------------------------------------------------------------------------


def curl_lines(exchanges: list[Exchange], people: tuple[str, str]) -> list[str]:
    """One side's calls as curl lines, for a shell where `DIMAIL` is the server's URL.

    Tokens are fetched into shell variables; each call prints its status, the last one its whole
    answer (a 307 People follows is followed, `-L`, unless the 307 itself is what differs)."""
    lines: list[str] = []
    user = shlex.quote(f"{people[0]}:{people[1]}")
    last = max((i for i, e in enumerate(exchanges) if e.role != "token"), default=-1)
    for position, exchange in enumerate(exchanges):
        if exchange.role == "redirected":
            continue  # `curl -L` sends it
        if exchange.role == "token":
            lines.append(f"{_token_variable(exchange.credentials)}=$(curl -s -u {user} {_url(exchange.path)} "
                         "| sed -E 's/.*\"access_token\":\"([^\"]*)\".*/\\1/')")
            continue
        final = position == last or (position + 1 == last and exchanges[last].role == "redirected")
        args = ["curl", "-si" if final else "-s -o /dev/null -w '%{http_code}\\n'"]
        if position + 1 < len(exchanges) and exchanges[position + 1].role == "redirected" and position + 1 == last:
            args.append("-L")
        if exchange.credentials == "wrong":
            args.append(f"-u {shlex.quote(f'{people[0]}:{people[1]}{WRONG_PASSWORD_SUFFIX}')}"
                        if exchange.scheme == "basic" else f"-H 'Authorization: Bearer {NOT_A_JWT}'")
        elif exchange.credentials != "none":
            args.append(f"-u {user}" if exchange.scheme == "basic"
                        else f'-H "Authorization: Bearer ${_token_variable(exchange.credentials)}"')
        args.append(f"-X {exchange.method}")
        if exchange.body is not None:
            body = json.dumps(exchange.body, ensure_ascii=False, separators=(",", ":"))
            args += ["-H 'Content-Type: application/json'", f"-d {shlex.quote(body)}"]
        args.append(_url(exchange.path))
        lines.append(" ".join(args))
    return lines


def _token_variable(actor: str) -> str:
    return "TOKEN" if actor == "people" else f"TOKEN_{actor.upper()}"


def _url(path: str) -> str:
    return '"$DIMAIL' + path.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`") + '"'


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class Occurrence:
    """A difference as met in one run of a sequence: the steps, and each side's exchanges up to it."""

    steps: list[Step]
    a: list[Exchange]  # side A's exchanges, the differing one last
    b: list[Exchange]
    lines: tuple[str, ...] = ()  # what differs, as shown

    @property
    def length(self) -> int:
        return self.a[-1].step + 1


@dataclass
class Difference:
    """Every occurrence of one signature: the operation, the status pair and what else differs."""

    method: str
    operation: str
    role: str
    key: tuple[str, ...]  # what differs, as the signature keeps it (`compared`)
    first: Occurrence
    lines: tuple[str, ...] = ()  # what differs, as the first occurrence showed it
    occurrences: int = 1
    shrunk: Occurrence | None = None
    declared: bool = False
    why: str = ""  # for an undeclared one: what the reference does not declare

    @property
    def signature(self) -> Signature:
        return self.method, self.operation, self.role, self.key

    @property
    def statuses(self) -> tuple[int, int]:
        return self.first.a[-1].status, self.first.b[-1].status

    @property
    def shortest(self) -> Occurrence:
        return self.shrunk or self.first

    def reproduction(self, people: tuple[str, str]) -> list[str]:
        return curl_lines(self.shortest.a, people)


Signature = tuple[str, str, str, tuple[str, ...]]


class Explorer:
    """Sends sequences to both sides and keeps what differs, once per signature."""

    def __init__(self, a: Side, b: Side, prefix: str) -> None:
        self.a, self.b, self.prefix = a, b, prefix
        self.context = f"{prefix}-ox"  # the run's own OX context (`CONTEXTS`)
        self.differences: dict[Signature, Difference] = {}
        self.agreed: dict[str, int] = {}  # "METHOD template" -> exchanges answered alike
        self.differed: dict[str, int] = {}
        self.sequences = 0
        self.exchanges = 0
        self._number = 0

    def run(self, steps: list[Step], count: bool = True) -> list[tuple[Signature, Occurrence]]:
        """One sequence to both sides; the differences met, in order (each signature once). What the
        sequence made is deleted after it, on both sides."""
        self._number += 1
        sequence = f"{self.prefix}-s{self._number}"
        names = names_of(sequence, self.context)
        sides: list[list[Exchange]] = []
        try:
            for side in (self.a, self.b):
                sides.append(side.run(steps, names))
        finally:
            self._forget(names, steps)
        a, b = sides
        found: list[tuple[Signature, Occurrence]] = []
        where = {(e.step, e.role): i for i, e in enumerate(b)}
        for i, x in enumerate(a):
            j = where.get((x.step, x.role))
            if j is None:  # a redirect followed on one side only: its 307 already differs
                continue
            y = b[j]
            pairs = compared(Seen.of(x, sequence, self.a.target.url), Seen.of(y, sequence, self.b.target.url))
            label = f"{x.method} {x.operation}"
            if count:
                self.exchanges += 1
                tally = self.differed if pairs else self.agreed
                tally[label] = tally.get(label, 0) + 1
            signature = (x.method, x.operation, x.role, tuple(key for key, _ in pairs))
            if pairs and all(signature != s for s, _ in found):
                found.append((signature, Occurrence(steps, a[:i + 1], b[:j + 1], tuple(line for _, line in pairs))))
        if count:
            self.sequences += 1
        return found

    def _forget(self, names: dict[str, str], steps: list[Step]) -> None:
        """Delete the sequence's domains and users on both sides (what they hold goes first)."""
        made = [resolve(step.body, names) for step in steps if step.method == "POST" and
                step.operation in ("/domains/", "/users/") and isinstance(step.body, dict)]
        domains = list(dict.fromkeys(body["name"] for body in made if "features" in body))
        users = list(dict.fromkeys(body["name"] for body in made if "perms" in body))
        for side in (self.a, self.b):
            side.target.cleanup_problems += side.target.remove(domains, users)

    def explore(self, steps: list[Step]) -> str:
        """Run a drawn sequence and keep its differences: "." none, "D" a new signature, "d" known ones only."""
        mark = "."
        for signature, occurrence in self.run(steps):
            known = self.differences.get(signature)
            if known is None:
                self.differences[signature] = Difference(*signature, occurrence, occurrence.lines)
                mark = "D"
                continue
            known.occurrences += 1
            mark = "d" if mark == "." else mark
            if occurrence.length < known.first.length:
                known.first = occurrence
        return mark

    def shrink(self, difference: Difference, deadline: float) -> None:
        """Take calls away while the difference still shows: first all but the differing call (most differences
        need nothing before them), else those after it, then each other one in turn."""
        best = difference.first
        alone = self._shows([best.steps[best.length - 1]], difference.signature) if best.length > 1 else None
        if alone is not None:
            difference.shrunk = alone
            return
        if best.length < len(best.steps):
            best = self._shows(best.steps[:best.length], difference.signature) or best
        index = best.length - 2
        while index >= 0 and time.monotonic() < deadline:
            steps = best.steps[:best.length]
            shown = self._shows(steps[:index] + steps[index + 1:], difference.signature)
            if shown is not None:
                best = shown
            index -= 1
        difference.shrunk = best

    def _shows(self, steps: list[Step], signature: Signature) -> Occurrence | None:
        return next((occurrence for s, occurrence in self.run(steps, count=False) if s == signature), None)
