"""The `authz` family at work: the scratch world of `contracts/matrix.py` on a target, and the judging of one
row of the matrix — each caller class sends the operation, on an object of its own when the operation
writes, and its answer, what a listing shows, and whether the write took effect are compared with the cell.

Library, not test module: `contracts/test_authz.py` runs every row against the suite's target, and a
mutation tool or a test can run rows against any app (`World(target)`, `judge(world, row)`).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from provisioner.provisioner import PEOPLE_FEATURES

from . import matrix
from .matrix import Answer, Row
from .target import Target

NOT_A_JWT = "not.a.jwt"
NEXTHOP = "smtp:relay.contract.test"


class Unjudged(Exception):
    """An object a cell needs could not be made: the cell cannot be judged (the message says why)."""


class NoAdmin(Unjudged):
    """The admin's credentials are not known (a real dimail without --dimail-admin)."""


@dataclass
class Case:
    """One cell's request, and what tells whether its write took effect (`done`) and puts things back."""

    path: str
    body: Any = None
    query: dict[str, str] | None = None
    done: Callable[[], bool | None] | None = None  # None: cannot be told (no admin to look)
    undo: Callable[[], None] | None = None
    itself: tuple[str, str] | None = None  # the credentials of the user the operation names, when it is fresh


@dataclass
class World:
    """The scratch objects, made on first use with the run's prefix, and every request the family sends."""

    target: Target
    requests: int = 0
    created: Counter[str] = field(default_factory=Counter)
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # class -> (name, password)
    _made: dict[str, Any] = field(default_factory=dict)
    _failed: dict[str, str] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    _victims: list[str] = field(default_factory=list)  # fresh users made by the manager
    _domains: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what `close` could not remove

    # --- requests ----------------------------------------------------------------------------------------

    def call(self, method: str, path: str, key: str | None = None, scheme: str = "Basic",
             itself: tuple[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        self.requests += 1
        return self.target.call(method, path, **self._credentials(key, scheme, itself), **kwargs)

    def _credentials(self, key: str | None, scheme: str, itself: tuple[str, str] | None) -> dict[str, Any]:
        if key is None or key == "no_credentials":
            return {}
        if key == "wrong_credentials":
            name, password = self.target.people
            return {"auth": (name, password + "-wrong")} if scheme == "Basic" else {"bearer": NOT_A_JWT}
        basic = itself if key == "itself" and itself else self.basic(key)
        return {"auth": basic} if scheme == "Basic" else {"bearer": self.token(key, basic)}

    def basic(self, key: str) -> tuple[str, str]:
        if key == "admin":
            if self.target.admin is None:
                raise NoAdmin("no admin credentials (give --dimail-admin USER:PASSWORD)")
            return self.target.admin
        if key == "people":
            return self.target.people
        self.user(key)
        return self.accounts[key]

    def token(self, key: str, basic: tuple[str, str]) -> str:
        if basic[0] not in self._tokens:  # rights are read again at every request (§2.4): a token may be kept
            answer = self.call("GET", "/token/", auth=basic)
            if answer.status_code != 200:
                raise Unjudged(f"GET /token/ as {key} answered {answer.status_code}: {answer.text[:120]}")
            self._tokens[basic[0]] = answer.json()["access_token"]
        return self._tokens[basic[0]]

    def _made_once(self, what: str, make: Callable[[], Any]) -> Any:
        if what in self._failed:
            raise Unjudged(self._failed[what])
        if what not in self._made:
            try:
                self._made[what] = make()
            except Unjudged as exc:
                self._failed[what] = f"the scratch world is incomplete: {exc}"
                raise Unjudged(self._failed[what]) from None
        return self._made[what]

    def _expect(self, answer: httpx.Response, status: int, what: str) -> Any:
        if answer.status_code != status:
            raise Unjudged(f"making the {what}, {answer.request.method} {answer.request.url.path} answered "
                           f"{answer.status_code}, expected {status}: {answer.text[:160]}")
        return answer.json() if answer.content else None

    # --- the world's objects --------------------------------------------------------------------------------

    def domain(self, role: str = "domain") -> str:
        def make() -> str:
            name = self.target.name("domain")
            self.target.created_domains.append(name)
            self._domains.append(name)
            body = {"name": name, "features": ["mailbox", "alias"], "delivery": "virtual"}
            if role == "domain":
                body.update(context_name=name, features=PEOPLE_FEATURES, public_alias=True)
            self._expect(self.call("POST", "/domains/", "people", params={"no_check": "true"}, json=body), 201,
                         role)
            self.created["domains"] += 1
            return name
        return str(self._made_once(role, make))

    def user(self, key: str) -> str:
        def make() -> str:
            name, password = self.target.name("user"), secrets.token_urlsafe(12)
            creator = matrix.CREATED_BY[key]
            body = {"name": name, "password": password, "is_admin": False, "perms": sorted(matrix.PERMS.get(key, ())),
                    "identities": [self.identity_of_itself()] if key == "itself" else []}
            self.target.created_users.append(name)
            self._expect(self.call("POST", "/users/", creator, json=body), 201, key)
            self.created["users"] += 1
            self.accounts[key] = (name, password)
            for holder, domain in sorted(matrix.ALLOWS):
                if holder == key:
                    self._expect(self.call("POST", "/allows/", "people", json={"user": name, "domain": self.domain(domain)}),
                                 201, f"allow of {key}")
                    self.created["allows"] += 1
            return name
        if key == "people":
            return self.target.people[0]
        return str(self._made_once(key, make))

    def identity_of_itself(self) -> str:
        return f"{self.target.prefix}-ident"

    def mailbox(self, role: str = "box") -> str:
        """`box`, `peer`, `pw` on the domain (local part); their passwords in `self.accounts`."""
        def make() -> str:
            local = f"authz-{role}"
            created = self._expect(self.call("POST", f"/domains/{self.domain()}/mailboxes/{local}", "people", "Bearer",
                                             json=_names(local)), 201, role)
            self.created["mailboxes"] += 1
            self.accounts[role] = (local, created["password"])
            return local
        return str(self._made_once(role, make))

    def email(self, role: str = "box") -> str:
        return f"{self.mailbox(role)}@{self.domain()}"

    def alias(self) -> tuple[str, str]:
        def make() -> tuple[str, str]:
            body = {"user_name": "authz-alias", "destination": self.email()}
            self._expect(self.call("POST", f"/domains/{self.domain()}/aliases/", "people", "Bearer", json=body), 201,
                         "alias")
            self.created["aliases"] += 1
            return body["user_name"], body["destination"]
        return self._made_once("alias", make)  # type: ignore[no-any-return]

    def public_alias(self, description: str = "authz") -> str:
        """A public alias on the domain to `box` (its address); the world's own is made once."""
        def make() -> str:
            body = {"domain": self.domain(), "destination": self.email(), "description": description}
            made = self._expect(self.call("POST", "/aliases", "people", "Bearer", json=body), 201, "public alias")
            self.created["public aliases"] += 1
            return str(made["alias"])
        return str(self._made_once("public", make)) if description == "authz" else make()

    def forward(self, local: str = "authz-fwd") -> str:
        def make() -> str:
            self._expect(self.call("POST", f"/domains/{self.domain()}/forwards/{local}", "people", "Bearer",
                                   json={"nexthop": NEXTHOP}), 201, "forward")
            self.created["forwards"] += 1
            return local
        return str(self._made_once("forward", make)) if local == "authz-fwd" else make()

    def app_password(self, name: str = "authz") -> str:
        def make() -> str:
            made = self._expect(self.call("POST", f"{self.box_path()}/app_passwords", "people", "Bearer",
                                          json={"name": name, "type": "imap"}), 201, "app password")
            self.created["app passwords"] += 1
            return str(made["uuid"])
        return str(self._made_once("app password", make)) if name == "authz" else make()

    def secondary(self, master: str = "box", of: str = "peer") -> None:
        """`master` may open `of` (the world's link is box → peer)."""
        def make() -> bool:
            self._expect(self.call("POST", f"{self.box_path(master)}/master_of/{self.email(of)}", "people", "Bearer",
                                   json={"displayName": "Authz"}), 201, "secondary access")
            self.created["secondary accesses"] += 1
            return True
        if (master, of) == ("box", "peer"):
            self._made_once("secondary access", make)
        else:
            make()

    def identity(self, proconnect: str | None = None) -> str:
        """A ProConnect identity linked to `box` through `/identities` (the world's own is made once)."""
        def make(name: str) -> str:
            self._expect(self.call("POST", "/identities", "people", "Bearer",
                                   json={"proconnect": name, "email": self.email(), "password": self.accounts["box"][1]}),
                         201, "identity")
            self.created["identities"] += 1
            return name
        if proconnect is None:
            return str(self._made_once("identity", lambda: make(f"{self.target.prefix}-idp")))
        self.mailbox()
        return make(proconnect)

    def code(self) -> str:
        def make() -> str:
            made = self._expect(self.call("POST", f"{self.box_path()}/code", "people", "Bearer",
                                          json={"expires_in": 3600, "maxuse": 1000}), 201, "login code")
            return str(made["code"])
        return str(self._made_once("code", make))

    def rate_limit(self, name: str | None = None) -> str:
        """A rate-limit profile made by the admin (a name only, when there is no admin to make it)."""
        def make(chosen: str) -> str:
            if self.target.admin is not None:
                self._expect(self.call("POST", f"/system/rate_limits/{chosen}", "admin",
                                       json={"name": chosen, "limits": []}), 201, "rate limit")
                self.created["rate limits"] += 1
            return chosen
        if name is None:
            return str(self._made_once("rate limit", lambda: make(f"{self.target.prefix}-rl")))
        return make(name)

    def store(self) -> str:
        def make() -> str:
            if self.target.admin is None:
                return "default"
            stores = self._expect(self.call("GET", "/system/stores_info", "admin"), 200, "stores")
            return str(stores[0]["name"]) if stores else "default"
        return str(self._made_once("store", make))

    def box_path(self, role: str = "box") -> str:
        return f"/domains/{self.domain()}/mailboxes/{self.mailbox(role)}"

    def victim(self) -> tuple[str, str]:
        """A fresh user made by the manager (so it is the manager's), with a password."""
        name, password = self.target.name("user"), secrets.token_urlsafe(12)
        self.target.created_users.append(name)
        self._victims.append(name)
        self._expect(self.call("POST", "/users/", "manager",
                               json={"name": name, "password": password, "is_admin": False, "perms": []}), 201, "user")
        self.created["users"] += 1
        return name, password

    # --- reading back -----------------------------------------------------------------------------------------

    def exists(self, path: str, key: str = "people", scheme: str = "Bearer") -> bool:
        return self.call("GET", path, key, scheme).status_code == 200

    def user_exists(self, name: str) -> bool:
        """People's user asks: 404 `User not found` comes before any refusal (§4.2)."""
        return self.call("GET", f"/users/{quote(name, safe='')}", "people").status_code != 404

    def domain_exists(self, name: str) -> bool:
        return self.call("GET", f"/public/domains/{name}").status_code == 200

    def drop(self, path: str, *keys: str, scheme: str = "Bearer") -> bool:
        """Delete, trying these callers in turn until one may; True when it is gone (204, or 404 already)."""
        for key in keys:
            try:
                answer = self.call("DELETE", path, key, scheme)
            except Unjudged:
                continue
            if answer.status_code in (204, 404):
                return True
        return False

    def drop_user(self, name: str, *keys: str) -> None:
        if self.drop(f"/users/{quote(name, safe='')}", *keys, "manager", "admin", "people", scheme="Basic"):
            for names in (self.target.created_users, self._victims):
                if name in names:
                    names.remove(name)

    def drop_domain(self, name: str, *keys: str) -> None:
        if self.drop(f"/domains/{name}", *keys, "people", "admin", scheme="Basic") \
                and name in self.target.created_domains:
            self.target.created_domains.remove(name)

    # --- listings ---------------------------------------------------------------------------------------------

    def labels(self, listing: str) -> dict[str, str]:
        """The world's objects a listing may show: label (matrix.LISTINGS) -> how the answer names it."""
        if listing == "users":
            return {key: self.user(key) for key in matrix.USERS}
        if listing == "allows":
            return {f"{u}@{d}": f"{self.user(u)}@{self.domain(d)}" for u, d in matrix.ALLOWS}
        domains = {d: self.domain(d) for d in matrix.DOMAINS}
        mailboxes = {m: self.email(m) for m in matrix.MAILBOXES}
        if listing in ("domains", "my_domains"):
            return domains
        if listing in ("my_mailboxes", "identities"):
            return mailboxes
        local, _ = self.alias()
        aliases = {"alias": f"{local}@{self.domain()}", "public": self.public_alias()}
        return aliases if listing == "my_aliases" else {**domains, **mailboxes, **aliases}

    @staticmethod
    def listed(listing: str, answer: Any) -> set[str]:
        if listing == "my_resources":
            return {item for part in ("aliases", "domains", "mailboxes") for item in answer.get(part, [])}
        if listing == "users" or listing == "domains":
            return {item["name"] for item in answer}
        if listing == "allows":
            return {f"{item['user']}@{item['domain']}" for item in answer}
        return set(answer)

    # --- the end ------------------------------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Remove everything made (the manager's users first: nobody else may delete them); what could not be."""
        if not self._made and not self._victims and not self._domains:
            return []
        if "itself" in self._made:
            self.drop_user(self._made["itself"], "manager")
        for name in list(self._victims):
            self.drop_user(name, "manager")
        if "rate limit" in self._made and self.target.admin is not None:
            self.drop(f"/system/rate_limits/{self._made['rate limit']}", "admin", scheme="Basic")
        if "identity" in self._made:
            self.drop(f"/identities/{self._made['identity']}/{self.email()}", "people")
        users = [self._made[k] for k in matrix.CREATED_BY if k in self._made and k != "itself"]
        problems = self.target.remove(list(self._domains), users)
        problems += [f"user {name} (made by the manager) could not be deleted" for name in self._victims]
        if not problems:  # the domains went with what they held, the users with their allows
            for names, gone in ((self.target.created_domains, self._domains), (self.target.created_users, users)):
                names[:] = [name for name in names if name not in gone]
        self.problems = problems
        return problems

    def cost(self) -> str:
        """What the family sent, created and removed (CONTRACT cost rule of issue 18, item 7)."""
        made = ", ".join(f"{n} {kind}" for kind, n in self.created.items() if n) or "nothing"
        return f"{self.requests} requests; created {made}; " + \
            ("removed all of it" if not self.problems else f"could not remove: {'; '.join(self.problems)}")


def _names(local: str) -> dict[str, str]:
    """Names unique in the domain's OX context (a display name clash is dimail's 500, §4.5)."""
    return {"givenName": "Authz", "surName": local, "displayName": f"Authz {local}"}


# --- how each row is sent -------------------------------------------------------------------------------------

Recipe = Callable[[World, str], Case]
RECIPES: dict[str, Recipe] = {}
# The operations a row needs besides its own, to make what it acts on (a row is skipped, naming them, when the
# target does not declare them).
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {}
WORLD_NEEDS = (("GET", "/token/"), ("POST", "/users/"), ("POST", "/allows/"), ("POST", "/domains/"),
               ("POST", "/domains/{domain_name}/mailboxes/{user_name}"))


def recipe(row_id: str, *needs: tuple[str, str]) -> Callable[[Recipe], Recipe]:
    if row_id not in matrix.BY_ID:
        raise KeyError(f"no row {row_id!r} in contracts.matrix")

    def register(make: Recipe) -> Recipe:
        RECIPES[row_id], NEEDS[row_id] = make, needs
        return make
    return register


def read(row_id: str, path: Callable[[World], str], query: Callable[[World], dict[str, str]] | None = None,
         *needs: tuple[str, str]) -> None:
    recipe(row_id, *needs)(lambda w, key: Case(path(w), query=query(w) if query else None))


def creates(w: World, path: str, body: Any, kind: str, sent_to: str = "") -> Case:
    """A write making what `path` names: it took effect when People's user reads it there; People removes it."""
    def done() -> bool:
        there = w.exists(path)
        w.created[kind] += there
        return there
    return Case(sent_to or path, body, done=done, undo=lambda: w.drop(path, "people"))


def deletes(w: World, path: str) -> Case:
    """A deletion of what `path` names: it took effect when People's user no longer reads it there."""
    return Case(path, done=lambda: not w.exists(path), undo=lambda: w.drop(path, "people"))


_BOX = "/domains/{domain_name}/mailboxes/{user_name}"
_V2 = "/v2" + _BOX

# token and users
read("GET /token/", lambda w: "/token/")
read("GET /token/ (username: its user)", lambda w: "/token/", lambda w: {"username": w.user("itself")})
read("GET /users/", lambda w: "/users/")
read("GET /users/{user_name}", lambda w: f"/users/{w.user('itself')}")
read("GET /users/identity/{proconnect}", lambda w: f"/users/identity/{w.user('itself') and w.identity_of_itself()}")


def _new_user(body: dict[str, Any]) -> Recipe:
    def make(w: World, key: str) -> Case:
        name = w.target.name("user")
        w.target.created_users.append(name)

        def done() -> bool:
            there = w.user_exists(name)
            if there:
                w.created["users"] += 1
            return there
        return Case("/users/", {"name": name, "password": "no", "is_admin": False, "perms": [], **body}, done=done,
                    undo=lambda: w.drop_user(name, key))
    return make


recipe("POST /users/ (no perms)")(_new_user({}))
recipe("POST /users/ (perms: new_domain)")(_new_user({"perms": ["new_domain"]}))
recipe("POST /users/ (is_admin: true)")(_new_user({"is_admin": True}))


def _patch_victim(body: Callable[[str], dict[str, Any]], shows: Callable[[dict[str, Any], str], bool]) -> Recipe:
    def make(w: World, key: str) -> Case:
        name, password = w.victim()

        def done() -> bool:
            return shows(w.call("GET", f"/users/{name}", "manager").json(), key)
        return Case(f"/users/{name}", body(key), done=done, undo=lambda: w.drop_user(name, "manager"),
                    itself=(name, password))
    return make


recipe("PATCH /users/{user} (acls: +x)")(_patch_victim(lambda key: {"acls": [f"+authz:{key}"]},
                                                       lambda user, key: f"authz:{key}" in user["acls"]))
recipe("PATCH /users/{user} (is_admin: true)")(_patch_victim(lambda key: {"is_admin": True},
                                                             lambda user, key: user["is_admin"] is True))
recipe("PATCH /users/{user} (perms: +new_domain)")(_patch_victim(lambda key: {"perms": ["+new_domain"]},
                                                                 lambda user, key: "new_domain" in user["perms"]))


@recipe("DELETE /users/{user_name}")
def _delete_user(w: World, key: str) -> Case:
    name, password = w.victim()
    return Case(f"/users/{name}", done=lambda: not w.user_exists(name), undo=lambda: w.drop_user(name, "manager"),
                itself=(name, password))


# allows
read("GET /allows/", lambda w: "/allows/")


def _allow_of_itself(w: World) -> Callable[[], bool]:
    user, domain = w.user("itself"), w.domain()
    return lambda: any(a["user"] == user and a["domain"] == domain for a in
                       w.call("GET", "/allows/", "people", params={"username": user, "domain": domain}).json())


@recipe("POST /allows/")
def _grant(w: World, key: str) -> Case:
    user, domain = w.user("itself"), w.domain()
    return Case("/allows/", {"user": user, "domain": domain}, done=_allow_of_itself(w),
                undo=lambda: w.drop(f"/allows/{domain}/{user}", "people", scheme="Basic"))


@recipe("DELETE /allows/{domain_name}/{user_name}")
def _revoke(w: World, key: str) -> Case:
    user, domain = w.user("itself"), w.domain()
    w._expect(w.call("POST", "/allows/", "people", json={"user": user, "domain": domain}), 201, "allow")
    w.created["allows"] += 1
    present = _allow_of_itself(w)
    return Case(f"/allows/{domain}/{user}", done=lambda: not present(),
                undo=lambda: w.drop(f"/allows/{domain}/{user}", "people", scheme="Basic"))


# domains
read("GET /domains/", lambda w: "/domains/")
read("GET /domains/{domain_name}", lambda w: f"/domains/{w.domain()}")
read("GET /domains/{domain_name}/check", lambda w: f"/domains/{w.domain()}/check")
read("GET /domains/{domain_name}/fix", lambda w: f"/domains/{w.domain()}/fix")


@recipe("POST /domains/", ("GET", "/public/domains/{domain_name}"))
def _new_domain(w: World, key: str) -> Case:
    name = w.target.name("domain")
    w.target.created_domains.append(name)

    def done() -> bool:
        there = w.domain_exists(name)
        w.created["domains"] += there
        return there
    return Case("/domains/", {"name": name, "features": []}, {"no_check": "true"}, done=done,
                undo=lambda: w.drop_domain(name, key))


@recipe("PATCH /domains/{domain_name}")
def _patch_domain(w: World, key: str) -> Case:
    domain, mark = w.domain(), f"authz-{key}"
    return Case(f"/domains/{domain}", {"webmail": mark},
                done=lambda: w.call("GET", f"/domains/{domain}", "people", "Bearer").json().get("webmail") == mark)


@recipe("DELETE /domains/{domain_name}", ("GET", "/public/domains/{domain_name}"))
def _delete_domain(w: World, key: str) -> Case:
    """An empty domain of People's, on which `allowed` is allowed too (so its class means what it says)."""
    name = w.target.name("domain")
    w.target.created_domains.append(name)
    w._expect(w.call("POST", "/domains/", "people", params={"no_check": "true"}, json={"name": name, "features": []}),
              201, "domain")
    w.created["domains"] += 1
    w._expect(w.call("POST", "/allows/", "people", json={"user": w.user("allowed"), "domain": name}), 201, "allow")
    return Case(f"/domains/{name}", done=lambda: not w.domain_exists(name), undo=lambda: w.drop_domain(name, "people"))


# mailboxes
read("GET /domains/{domain_name}/mailboxes/", lambda w: f"/domains/{w.domain()}/mailboxes/")
read(f"GET {_BOX}", lambda w: w.box_path())
read(f"GET {_V2}", lambda w: "/v2" + w.box_path())
read("GET /v2/domains/{domain_name}/mailboxes/", lambda w: f"/v2/domains/{w.domain()}/mailboxes/")
read(f"GET {_BOX}/identities", lambda w: f"{w.box_path()}/identities")
read("GET /domains/{domain_name}/address/{user_name}", lambda w: f"/domains/{w.domain()}/address/{w.mailbox()}")


def _new_mailbox(v2: bool) -> Recipe:
    def make(w: World, key: str) -> Case:
        local = w.target.name("box")
        path = f"/domains/{w.domain()}/mailboxes/{local}"
        body: dict[str, Any] = _names(local)
        if v2:
            body = {"features": ["ox"], "extras": {"ox": {"given_name": "Authz", "sur_name": local,
                                                          "display_name": f"Authz {local}"}}}
        return creates(w, path, body, "mailboxes", ("/v2" if v2 else "") + path)
    return make


recipe(f"POST {_BOX}")(_new_mailbox(False))
recipe(f"POST {_V2}", (f"DELETE", _BOX))(_new_mailbox(True))


@recipe(f"DELETE {_BOX}")
def _delete_mailbox(w: World, key: str) -> Case:
    local = w.target.name("box")
    path = f"/domains/{w.domain()}/mailboxes/{local}"
    w._expect(w.call("POST", path, "people", "Bearer", json=_names(local)), 201, "mailbox")
    w.created["mailboxes"] += 1
    return deletes(w, path)


@recipe(f"PATCH {_BOX}")
def _patch_mailbox(w: World, key: str) -> Case:
    path, mark = w.box_path(), f"authz-{key}"
    return Case(path, {"givenName": mark}, done=lambda: w.call("GET", path, "people", "Bearer").json()["givenName"] == mark)


@recipe(f"PATCH {_V2}")
def _patch_mailbox_v2(w: World, key: str) -> Case:
    path, mark = "/v2" + w.box_path(), f"authz2-{key}"

    def done() -> bool:
        extras = w.call("GET", path, "people", "Bearer").json().get("extras") or {}
        return (extras.get("ox") or {}).get("given_name") == mark
    return Case(path, {"extras": {"ox": {"given_name": mark}}}, done=done)


@recipe(f"POST {_BOX}/force_password", ("POST", _BOX + "/check_password"))
def _force_password(w: World, key: str) -> Case:
    path, password = w.box_path("pw"), f"Authz-{key}-{secrets.token_hex(4)}"
    return Case(f"{path}/force_password", {"password": password, "save_password": False},
                done=lambda: w.call("POST", f"{path}/check_password", "people", "Bearer",
                                    json={"password": password}).json() is True)


recipe(f"POST {_BOX}/reset_password")(lambda w, key: Case(f"{w.box_path('pw')}/reset_password"))
recipe(f"POST {_BOX}/check_password")(lambda w, key: Case(f"{w.box_path('pw')}/check_password",
                                                          {"password": "not-the-password"}))
recipe(f"POST {_BOX}/code")(lambda w, key: Case(f"{w.box_path()}/code", {"expires_in": 3600, "maxuse": 1}))


@recipe(f"POST {_BOX}/identities/{{identity}}", ("DELETE", "/identities/{proconnect}/{email}"))
def _mailbox_identity(w: World, key: str) -> Case:
    path, identity, email = w.box_path(), f"{w.target.prefix}-id-{key.replace('_', '-')}", w.email()
    return Case(f"{path}/identities/{identity}",
                done=lambda: identity in w.call("GET", f"{path}/identities", "people", "Bearer").json(),
                undo=lambda: w.drop(f"/identities/{identity}/{email}", "people"))


# secondary accounts: the world's link is box -> peer; writes use peer -> box
read(f"GET {_BOX}/master_of", lambda w: f"{w.box_path()}/master_of")
read(f"GET {_BOX}/mastered_by", lambda w: f"{w.box_path()}/mastered_by")


def _link(w: World) -> str:
    w.secondary()
    return f"{w.box_path()}/master_of/{w.email('peer')}"


read(f"GET {_BOX}/master_of/{{secondary_email}}", _link)


@recipe(f"POST {_BOX}/master_of/{{secondary_email}}", ("DELETE", _BOX + "/master_of/{secondary_email}"))
def _new_secondary(w: World, key: str) -> Case:
    return creates(w, f"{w.box_path('peer')}/master_of/{w.email()}", {"displayName": "Authz"}, "secondary accesses")


@recipe(f"DELETE {_BOX}/master_of/{{secondary_email}}", ("POST", _BOX + "/master_of/{secondary_email}"))
def _delete_secondary(w: World, key: str) -> Case:
    w.secondary("peer", "box")
    return deletes(w, f"{w.box_path('peer')}/master_of/{w.email()}")


# app passwords
read(f"GET {_BOX}/app_passwords", lambda w: f"{w.box_path()}/app_passwords")
read(f"GET {_BOX}/app_passwords/{{uuid}}", lambda w: f"{w.box_path()}/app_passwords/{w.app_password()}")


@recipe(f"POST {_BOX}/app_passwords", ("DELETE", _BOX + "/app_passwords/{uuid}"))
def _new_app_password(w: World, key: str) -> Case:
    path, name = f"{w.box_path()}/app_passwords", f"authz-{key}"

    def made() -> list[str]:
        return [a["uuid"] for a in w.call("GET", path, "people", "Bearer").json() if a["name"] == name]

    def done() -> bool:
        w.created["app passwords"] += len(made())
        return bool(made())

    def undo() -> None:
        for uuid in made():
            w.drop(f"{path}/{uuid}", "people")
    return Case(path, {"name": name, "type": "imap"}, done=done, undo=undo)


@recipe(f"DELETE {_BOX}/app_passwords/{{uuid}}", ("POST", _BOX + "/app_passwords"))
def _delete_app_password(w: World, key: str) -> Case:
    return deletes(w, f"{w.box_path()}/app_passwords/{w.app_password(f'authz-del-{key}')}")


# forwards
read("GET /domains/{domain_name}/forwards/", lambda w: f"/domains/{w.domain()}/forwards/")
read("GET /domains/{domain_name}/forwards/{user_name}", lambda w: f"/domains/{w.domain()}/forwards/{w.forward()}",
     None, ("POST", "/domains/{domain_name}/forwards/{user_name}"))


@recipe("POST /domains/{domain_name}/forwards/{user_name}", ("DELETE", "/domains/{domain_name}/forwards/{user_name}"))
def _new_forward(w: World, key: str) -> Case:
    return creates(w, f"/domains/{w.domain()}/forwards/{w.target.name('fwd')}", {"nexthop": NEXTHOP}, "forwards")


@recipe("PATCH /domains/{domain_name}/forwards/{user_name}", ("POST", "/domains/{domain_name}/forwards/{user_name}"))
def _patch_forward(w: World, key: str) -> Case:
    path, mark = f"/domains/{w.domain()}/forwards/{w.forward()}", f"smtp:{key.replace('_', '-')}.relay.contract.test"
    return Case(path, {"nexthop": mark}, done=lambda: w.call("GET", path, "people", "Bearer").json()["nexthop"] == mark)


@recipe("DELETE /domains/{domain_name}/forwards/{user_name}", ("POST", "/domains/{domain_name}/forwards/{user_name}"))
def _delete_forward(w: World, key: str) -> Case:
    return deletes(w, f"/domains/{w.domain()}/forwards/{w.forward(w.target.name('fwd'))}")


# aliases
read("GET /domains/{domain_name}/aliases/", lambda w: f"/domains/{w.domain()}/aliases/")


def _alias_there(w: World, local: str) -> Callable[[], bool]:
    return lambda: bool(w.call("GET", f"/domains/{w.domain()}/aliases/", "people", "Bearer",
                               params={"user_name": local}).json())


@recipe("POST /domains/{domain_name}/aliases/", ("DELETE", "/domains/{domain_name}/aliases/{user_name}/{destination}"))
def _new_alias(w: World, key: str) -> Case:
    local = w.target.name("alias")
    there = _alias_there(w, local)

    def done() -> bool:
        w.created["aliases"] += there()
        return there()
    return Case(f"/domains/{w.domain()}/aliases/", {"user_name": local, "destination": w.email()}, done=done,
                undo=lambda: w.drop(f"/domains/{w.domain()}/aliases/{local}/all", "people"))


@recipe("PATCH /domains/{domain_name}/aliases/{user_name}/{destination}")
def _patch_alias(w: World, key: str) -> Case:
    local, destination = w.alias()
    return Case(f"/domains/{w.domain()}/aliases/{local}/{destination}", {"description": f"authz {key}"})


@recipe("DELETE /domains/{domain_name}/aliases/{user_name}/{destination}", ("POST", "/domains/{domain_name}/aliases/"))
def _delete_alias(w: World, key: str) -> Case:
    local = w.target.name("alias")
    w._expect(w.call("POST", f"/domains/{w.domain()}/aliases/", "people", "Bearer",
                     json={"user_name": local, "destination": w.email()}), 201, "alias")
    w.created["aliases"] += 1
    return Case(f"/domains/{w.domain()}/aliases/{local}/{w.email()}", done=lambda: not _alias_there(w, local)(),
                undo=lambda: w.drop(f"/domains/{w.domain()}/aliases/{local}/all", "people"))


# public aliases: the domain concerned is the destination's, `domain` (and so is the alias's)
def _public(w: World) -> dict[str, str]:
    return {"destination": w.email()}


def _public_aliases(w: World) -> dict[str, str]:
    return {a["alias"]: a["description"] for a in w.call("GET", "/aliases", "people", "Bearer", params=_public(w)).json()}


read("GET /aliases", lambda w: "/aliases", _public)
read("GET /aliases/domains", lambda w: "/aliases/domains", _public)


@recipe("POST /aliases", ("GET", "/aliases"), ("DELETE", "/aliases/{user_name}@{domain_name}/{destination}"))
def _new_public_alias(w: World, key: str) -> Case:
    description, email = f"authz {key}", w.email()

    def made() -> list[str]:
        return [alias for alias, text in _public_aliases(w).items() if text == description]

    def done() -> bool:
        w.created["public aliases"] += len(made())
        return bool(made())

    def undo() -> None:
        for alias in made():
            w.drop(f"/aliases/{alias}/{email}", "people")
    return Case("/aliases", {"domain": w.domain(), "destination": email, "description": description}, done=done,
                undo=undo)


@recipe("PATCH /aliases/{user_name}@{domain_name}/{destination}", ("POST", "/aliases"), ("GET", "/aliases"))
def _patch_public_alias(w: World, key: str) -> Case:
    alias, mark = w.public_alias(), f"authz {key} patched"
    return Case(f"/aliases/{alias}/{w.email()}", {"description": mark},
                done=lambda: _public_aliases(w).get(alias) == mark)


@recipe("DELETE /aliases/{user_name}@{domain_name}/{destination}", ("POST", "/aliases"), ("GET", "/aliases"))
def _delete_public_alias(w: World, key: str) -> Case:
    alias = w.public_alias(f"authz delete {key}")
    w.created["public aliases"] += 1
    path = f"/aliases/{alias}/{w.email()}"
    return Case(path, done=lambda: alias not in _public_aliases(w), undo=lambda: w.drop(path, "people"))


# identities
read("GET /identities", lambda w: "/identities", lambda w: {"identity": w.identity()}, ("POST", "/identities"))


def _linked(w: World, proconnect: str) -> Callable[[], bool]:
    return lambda: w.email() in w.call("GET", "/identities", "people", "Bearer", params={"identity": proconnect}).json()


@recipe("POST /identities", ("GET", "/identities"), ("DELETE", "/identities/{proconnect}/{email}"))
def _new_identity(w: World, key: str) -> Case:
    proconnect, email = f"{w.target.prefix}-idp-{key.replace('_', '-')}", w.email()
    linked = _linked(w, proconnect)

    def done() -> bool:
        w.created["identities"] += linked()
        return linked()
    return Case("/identities", {"proconnect": proconnect, "email": email, "password": w.accounts["box"][1]},
                done=done, undo=lambda: w.drop(f"/identities/{proconnect}/{email}", "people"))


@recipe("DELETE /identities/{proconnect}/{email}", ("POST", "/identities"), ("GET", "/identities"))
def _delete_identity(w: World, key: str) -> Case:
    proconnect = w.identity(f"{w.target.prefix}-del-{key.replace('_', '-')}")
    path = f"/identities/{proconnect}/{w.email()}"
    return Case(path, done=lambda: not _linked(w, proconnect)(), undo=lambda: w.drop(path, "people"))


# my_stuff, codes
for _what in ("domains", "mailboxes", "aliases", "resources"):
    read(f"GET /my/{_what}", lambda w, what=_what: f"/my/{what}")  # type: ignore[misc]
read("GET /code/{code_string}", lambda w: f"/code/{w.code()}", None, ("POST", _BOX + "/code"))

# logs: no crash log can be made on purpose, the admin gets the 404 of an unknown name
read("GET /logs/", lambda w: "/logs/")
read("GET /logs/crashes", lambda w: "/logs/crashes")
read("GET /logs/crashes/{crash_name}", lambda w: f"/logs/crashes/{w.target.prefix}-nocrash.log")
recipe("DELETE /logs/crashes/{crash_name}")(lambda w, key: Case(f"/logs/crashes/{w.target.prefix}-nocrash.log"))

# system
for _path in ("health_check", "version", "tech_domain", "stores_info", "rate_limits"):
    read(f"GET /system/{_path}", lambda w, path=_path: f"/system/{path}")  # type: ignore[misc]
read("GET /system/store_info/{store_name}", lambda w: f"/system/store_info/{w.store()}")
read("GET /system/mailbox_info/{domain_name}/{user_name}", lambda w: f"/system/mailbox_info/{w.domain()}/{w.mailbox()}")
read("GET /system/mailboxes_info/{domain_name}", lambda w: f"/system/mailboxes_info/{w.domain()}")
read("GET /system/mailqueue/{domain_name}/{user_name}", lambda w: f"/system/mailqueue/{w.domain()}/{w.mailbox()}")
read("GET /system/rate_limits/{name}", lambda w: f"/system/rate_limits/{w.rate_limit()}")


def _rate_limit_shows(w: World, name: str) -> bool | None:
    if w.target.admin is None:
        return None
    return w.call("GET", f"/system/rate_limits/{name}", "admin").status_code == 200


@recipe("POST /system/rate_limits/{name}", ("DELETE", "/system/rate_limits/{name}"))
def _new_rate_limit(w: World, key: str) -> Case:
    name = w.target.name("rl")

    def done() -> bool | None:
        there = _rate_limit_shows(w, name)
        w.created["rate limits"] += bool(there)
        return there
    return Case(f"/system/rate_limits/{name}", {"name": name, "limits": []}, done=done,
                undo=lambda: w.drop(f"/system/rate_limits/{name}", "admin", scheme="Basic"))


@recipe("PATCH /system/rate_limits/{name}")
def _patch_rate_limit(w: World, key: str) -> Case:
    name, emails = w.rate_limit(), 100 + [c.key for c in matrix.CALLERS].index(key)

    def done() -> bool | None:
        if w.target.admin is None:
            return None
        limits = w.call("GET", f"/system/rate_limits/{name}", "admin").json()["limits"]
        return limits == [{"seconds": 60, "emails": emails}]
    return Case(f"/system/rate_limits/{name}", {"name": name, "limits": [{"seconds": 60, "emails": emails}]}, done=done)


@recipe("DELETE /system/rate_limits/{name}", ("POST", "/system/rate_limits/{name}"))
def _delete_rate_limit(w: World, key: str) -> Case:
    name = w.rate_limit(w.target.name("rl"))

    def done() -> bool | None:
        there = _rate_limit_shows(w, name)
        return None if there is None else not there
    return Case(f"/system/rate_limits/{name}", done=done,
                undo=lambda: w.drop(f"/system/rate_limits/{name}", "admin", scheme="Basic"))


# platform operations: sent only with --dimail-system-writes, and never as the admin (matrix.Row.platform)
read("GET /system/disconnect/{domain_name}/{user_name}", lambda w: f"/system/disconnect/{w.domain()}/{w.mailbox()}")
read("GET /system/move_mailbox/{domain_name}/{user_name}", lambda w: f"/system/move_mailbox/{w.domain()}/{w.mailbox()}")
read("GET /system/shutdown", lambda w: "/system/shutdown")
recipe("POST /system/check_contexts")(lambda w, key: Case("/system/check_contexts", {"contexts": []}))
recipe("PATCH /system/import_domain/{domain_name}")(lambda w, key: Case(
    f"/system/import_domain/{w.domain()}", {"moving_from": "nowhere", "moving_mailboxes": [], "moving_aliases": [],
                                            "moving_senders": [], "moving_dkim": None}))
recipe("PATCH /system/database/{db_name}")(lambda w, key: Case(f"/system/database/{w.target.prefix}-db",
                                                               {"move_to": "nowhere"}))
recipe("POST /system/database/{db_name}/{schema_name}")(lambda w, key: Case(
    f"/system/database/{w.target.prefix}-db/{w.target.prefix}-schema"))


def needs(row: Row) -> list[tuple[str, str]]:
    """Every operation a row sends: its own, the world's, and what makes the object it acts on."""
    return list(dict.fromkeys([row.operation, *WORLD_NEEDS, *NEEDS.get(row.id, ())]))


# --- judging ------------------------------------------------------------------------------------------------


def _wanted(answer: Answer) -> str:
    status = " or ".join(str(s) for s in answer.status)
    return status + (f" {{\"detail\":\"{answer.detail}\"}}" if answer.detail else "")


def judge_cell(world: World, row: Row, key: str) -> str | None:
    """None when the cell holds, else what broke (one line, naming the class, both answers and the source)."""
    expected = matrix.cell(row, key)
    if row.listing:  # what the listing should show exists before it is asked for
        world.labels(row.listing)
    case = RECIPES[row.id](world, key)
    try:
        answer = world.call(row.method, case.path, key, row.scheme, itself=case.itself, json=case.body,
                            params=case.query)
        problem = _compare(world, row, expected, answer)
        if problem is None and case.done is not None:
            took = case.done()
            if took is not None and took != expected.admitted:
                problem = (f"answered {answer.status_code} as expected, but the write "
                           + ("took effect" if took else "does not show when read back"))
    finally:
        if case.undo is not None:
            case.undo()
    if problem is None:
        return None
    return f"as {key} ({matrix.BY_KEY[key].title}): {problem} — {expected.source}{' (a guess)' if expected.guess else ''}"


def _compare(world: World, row: Row, expected: Answer, answer: httpx.Response) -> str | None:
    text = answer.text[:160]
    if answer.status_code not in expected.status:
        return f"answered {answer.status_code} {text}, expected {_wanted(expected)}"
    try:
        body = answer.json() if answer.content else None
    except ValueError:
        body = None
    if expected.detail is not None and body != {"detail": expected.detail}:
        return f"answered {answer.status_code} {text}, expected {_wanted(expected)}"
    for name, value in expected.headers.items():
        if answer.headers.get(name) != value:
            return f"answered {answer.status_code} without `{name}: {value}` ({name}: {answer.headers.get(name)!r})"
    if expected.sees is not None:
        labels = world.labels(row.listing)
        listed = world.listed(row.listing, body)
        shown = {label for label, ident in labels.items() if ident in listed}
        if shown != expected.sees:
            what = matrix.LISTINGS[row.listing][0]
            extra, missing = sorted(shown - expected.sees), sorted(expected.sees - shown)
            return (f"answered {answer.status_code}, but of the run's {what} it shows "
                    f"{', '.join(sorted(shown)) or 'none'}, expected {', '.join(sorted(expected.sees)) or 'none'}"
                    + (f" (not for it: {', '.join(extra)})" if extra else "")
                    + (f" (missing: {', '.join(missing)})" if missing else ""))
    return None


def judge(world: World, row: Row) -> tuple[dict[str, str], list[str]]:
    """Every cell of a row: what broke (caller class -> one line saying how), and what was not judged, and why."""
    broken, unjudged = {}, []
    for caller in matrix.CALLERS:
        if row.platform and caller.admin:
            unjudged.append("admin: not sent (it would stop or move the run's own objects; the schema family "
                            "sends it with --dimail-system-writes)")
            continue
        try:
            if caller.admin:
                world.basic("admin")
            problem = judge_cell(world, row, caller.key)
        except NoAdmin as exc:
            unjudged.append(f"admin: {exc}")
            continue
        except Unjudged as exc:  # the target refused what People's user needs to set the cell up
            problem = f"as {caller.key}: could not be judged: {exc}"
        if problem:
            broken[caller.key] = problem
    return broken, unjudged
