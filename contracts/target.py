"""The dimail the contracts run against: the in-process fake, an ASGI app, or a server given its URL.

A `Target` knows how to reach it (URL, optional in-process transport), the
credentials to use, what it can do (its own `/openapi.json`), the run's
random name prefix, and what the run created so that `cleanup()` removes it.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from provisioner import Provisioner
from provisioner.client import tls

from . import cleanup as clean
from .options import TargetError, credentials, is_loopback  # noqa: F401 (the target's errors and checks)

IN_PROCESS_URL = "http://dimail"
# The fake's control plane: present in its OpenAPI, never in a real dimail's.
STEERING = {("PUT", "/_fake/dns/{name}"), ("POST", "/_fake/dns/{name}/publish"),
            ("PATCH", "/_fake/domains/{domain_name}/platform")}
DOMAIN_DELETION = ("DELETE", "/domains/{domain_name}")
DOMAIN_READ = ("GET", "/domains/{domain_name}")


def load_app(spec: str) -> Any:
    """`module:callable` returning an ASGI app or a `FakeDimail` (for mutants and custom fakes)."""
    module, sep, name = spec.partition(":")
    if not sep:
        raise TargetError(f"--dimail-app expects MODULE:CALLABLE, got {spec!r}")
    from fake_dimail.fake import FakeDimail

    made = getattr(importlib.import_module(module), name)()
    return made.app if isinstance(made, FakeDimail) else made


@dataclass
class Target:
    url: str
    admin: tuple[str, str] | None
    people: tuple[str, str]
    transport: httpx.BaseTransport | None = None
    label: str = ""
    prefix: str = field(default_factory=lambda: "ct" + secrets.token_hex(3))
    openapi: dict[str, Any] = field(default_factory=dict)
    created_domains: list[str] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)
    cleanup_problems: list[str] = field(default_factory=list)
    # Emptied but kept: the target has no domain deletion (dimail's 2024 server).
    left_behind: list[str] = field(default_factory=list)
    # What no operation removes, or the run keeps on purpose, named (`cleanup.Leftover`).
    leftovers: list[clean.Leftover] = field(default_factory=list)
    contexts: dict[str, str] = field(default_factory=dict)  # domain -> the OX context it was created in
    contexts_left: list[str] = field(default_factory=list)  # those of deleted webmail domains: they stay
    undo: list[clean.Undo] = field(default_factory=list)  # deletions of what generated bodies made elsewhere
    users_before: set[str] | None = None  # before the bootstrap (admin credentials only)
    crashes_before: set[str] | None = None
    server_errors: int = 0  # 500s answered to `call`: dimail writes a crash log for each
    _cleaned: bool = False
    # The admin's credentials are in `people`: People's user could not be given its perms.
    standing_in: bool = False
    # An in-process fake, gone with the run: nothing of it is left anywhere to name.
    ephemeral: bool = False
    _counter: int = 0
    _shared: httpx.Client | None = field(default=None, repr=False)

    # --- reaching it ------------------------------------------------------------

    def http(self, auth: tuple[str, str] | None = None, bearer: str | None = None,
             follow_redirects: bool = True) -> httpx.Client:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return httpx.Client(base_url=self.url, transport=self.transport, auth=auth, headers=headers,
                            follow_redirects=follow_redirects, timeout=30, verify=tls())

    def call(self, method: str, path: str, auth: tuple[str, str] | None = None, bearer: str | None = None,
             **kwargs: Any) -> httpx.Response:
        """One request on a kept connection (invariants make many: a new socket each would dominate)."""
        if self._shared is None:
            self._shared = httpx.Client(base_url=self.url, transport=self.transport, follow_redirects=True,
                                        timeout=30, verify=tls())
        headers = dict(kwargs.pop("headers", None) or {})
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        answer = self._shared.request(method, path, auth=auth, headers=headers, **kwargs)
        clean.note(self, method, path, kwargs.get("json"), answer)
        if answer.status_code == 500:
            self.server_errors += 1
        if answer.status_code >= 500:
            # uvicorn closes the connection after an unhandled exception without saying so: reused, the next
            # request would meet a reset and be blamed for the previous one's crash (the body is read already).
            self.close()
        return answer

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def provisioner(self, **kwargs: Any) -> Provisioner:
        user, password = self.people
        return Provisioner(self.url, user, password, transport=self.transport, **kwargs)

    def token(self, user: str | None = None) -> str:
        """A token for People's user, or for `user` by impersonation (People's user manages it)."""
        params = {"username": user} if user else {}
        answer = self.call("GET", "/token/", auth=self.people, params=params)
        answer.raise_for_status()
        return answer.json()["access_token"]

    # --- what it can do ------------------------------------------------------------

    def load_openapi(self) -> None:
        with self.http() as http:
            answer = http.get("/openapi.json")
        if answer.status_code != 200:
            raise TargetError(f"{self.url}/openapi.json answered {answer.status_code}: cannot discover operations")
        self.openapi = answer.json()

    @property
    def operations(self) -> set[tuple[str, str]]:
        return {(method.upper(), path) for path, item in self.openapi.get("paths", {}).items()
                for method in item if method in ("get", "post", "put", "patch", "delete")}

    def lacks(self, *needed: tuple[str, str]) -> list[str]:
        """The needed operations (method, path template) the target does not declare."""
        have = self.operations
        return [f"{m} {p}" for m, p in needed if (m, p) not in have]

    @property
    def steerable(self) -> bool:
        return STEERING <= self.operations

    @property
    def version(self) -> str:
        return str(self.openapi.get("info", {}).get("version", "?"))

    # --- names and clean-up ---------------------------------------------------------

    def name(self, kind: str) -> str:
        """A fresh name carrying the run's prefix: domains `<prefix>-d1.contract.test`, users `<prefix>-u1`."""
        self._counter += 1
        if kind == "domain":
            return f"{self.prefix}-d{self._counter}.contract.test"
        return f"{self.prefix}-{kind[0]}{self._counter}"

    def cleanup(self) -> list[str]:
        """Delete every domain and user this run created, and what hangs on them; what could not be deleted,
        described. What no operation removes is named in `leftovers`."""
        # A clean-up already ran and nothing was made since: no call, so it also works once the target has stopped.
        if self._cleaned and not (self.created_domains or self.created_users or self.undo):
            return list(self.cleanup_problems)
        domains, users = self.created_domains, self.created_users
        if not self._cleaned:  # what an interrupted call made without the run knowing, found by its prefix
            self.close()  # a call interrupted (Ctrl-C) may have left the kept connection half-used
            found = clean.swept(self)
            domains, users = [*domains, *found[0]], [*users, *found[1]]
        self.cleanup_problems += clean.undone(self)
        self.cleanup_problems += self.remove(list(dict.fromkeys(domains)), list(dict.fromkeys(users)))
        self.created_domains.clear()
        self.created_users.clear()
        if not self._cleaned:
            problems, kept = clean.crash_logs(self)
            self.cleanup_problems += problems
            self.leftovers = [] if self.ephemeral else [*clean.leftovers(self), *kept]
        self._cleaned = True
        return list(self.cleanup_problems)

    def remove(self, domains: list[str], users: list[str]) -> list[str]:
        """Delete these domains (their aliases, forwards and mailboxes first), then these users.

        On a target that cannot delete domains, they are emptied and named in `left_behind`: what a run
        cannot avoid leaving is no incompatibility (People never deletes a domain).
        """
        problems: list[str] = []
        if not (domains or users):
            return problems
        deletable = not self.lacks(DOMAIN_DELETION)
        auth = self.admin or self.people
        with self.http(auth=auth) as basic:
            token = basic.get("/token/").json().get("access_token")
        with self.http(bearer=token) as bearer, self.http(auth=auth) as basic:
            for name in reversed(domains):
                domain = quote(name, safe="")
                clean.zone_removed(self, name)
                aliases = bearer.get(f"/domains/{domain}/aliases/")  # dimail keeps them even without the domain
                for local in {a["username"] for a in (aliases.json() if aliases.status_code == 200 else [])}:
                    bearer.delete(f"/domains/{domain}/aliases/{quote(local, safe='')}/all")
                held = None if self.lacks(DOMAIN_READ) else bearer.get(f"/domains/{domain}")
                if held is not None and held.status_code == 404:  # never made (its creation failed), or gone
                    continue
                forwards = bearer.get(f"/domains/{domain}/forwards/")
                for forward in forwards.json() if forwards.status_code == 200 else []:
                    bearer.delete(f"/domains/{domain}/forwards/{quote(forward['username'], safe='')}")
                mailboxes = bearer.get(f"/domains/{domain}/mailboxes/")
                for mailbox in mailboxes.json() if mailboxes.status_code == 200 else []:
                    local, _, at = mailbox["email"].partition("@")
                    if at == name and local != "oxadmin":
                        self._delete_public_aliases(bearer, mailbox["email"])
                        problem = self._delete_mailbox(basic, bearer, domain, quote(local, safe=""))
                        if problem:
                            problems.append(problem)
                if not deletable:
                    self.left_behind.append(name)
                    # People's user loses its allow on it (the run's users take theirs when they go)
                    basic.delete(f"/allows/{domain}/{quote(self.people[0], safe='')}")
                    continue
                answer = basic.delete(f"/domains/{domain}")
                if answer.status_code not in (204, 404):
                    problems.append(f"DELETE /domains/{domain} answered {answer.status_code}: {answer.text[:120]}")
                elif answer.status_code == 204 and held is not None and _webmail(held):
                    self.contexts_left.append(self.contexts.get(name, name))  # People names it after the domain
            for user in reversed(users):
                answer = basic.delete(f"/users/{quote(user, safe='')}")
                if answer.status_code not in (204, 404):
                    problems.append(f"DELETE /users/{user} answered {answer.status_code}: {answer.text[:120]}")
        return problems

    def begin(self) -> None:
        """Before the bootstrap: what exists already, so that the end of the run can tell what it made."""
        clean.begin(self)

    @staticmethod
    def _delete_public_aliases(bearer: httpx.Client, email: str) -> None:
        """A mailbox's public aliases live on other domains, perhaps not the run's: they go before it."""
        received = bearer.get("/aliases", params={"destination": email})
        for alias in received.json() if received.status_code == 200 else []:
            bearer.delete(f"/aliases/{quote(alias['alias'], safe='@')}/{quote(email, safe='@')}")

    @staticmethod
    def _delete_mailbox(basic: httpx.Client, bearer: httpx.Client, domain: str, local: str) -> str | None:
        """Delete one mailbox through v1, out of the two dead ends generated data can reach first."""
        path = f"/domains/{domain}/mailboxes/{local}"
        answer = bearer.delete(path)
        if answer.status_code == 422:
            # Creation does not need the `mailbox` feature, deletion does (CONTRACT §6 #15-16).
            basic.patch(f"/domains/{domain}", json={"features": ["+mailbox"]})
            answer = bearer.delete(path)
        if answer.status_code == 404 and "open-xchange" in answer.text:
            # A Dovecot-only mailbox in a webmail domain: v1 deletes OX users only, so give it one.
            names = {"given_name": "Contract", "sur_name": "Cleanup", "display_name": "Contract Cleanup"}
            bearer.patch(f"/v2{path}", json={"features": ["+ox"], "extras": {"ox": names}})
            answer = bearer.delete(path)
        if answer.status_code == 204 or (answer.status_code == 404 and "open-xchange" not in answer.text):
            return None
        return f"DELETE {path} answered {answer.status_code}: {answer.text[:120]}"


def _webmail(answer: httpx.Response) -> bool:
    try:
        return "webmail" in (answer.json().get("features") or [])
    except (ValueError, AttributeError, TypeError):
        return False


@contextmanager
def in_process(factory: Callable[[], Any] | None = None) -> Iterator[tuple[str, httpx.BaseTransport, str]]:
    """The default target: a fresh fake in this process, seeded like People's dev setup."""
    from fake_dimail.fake import FakeDimail
    from fake_dimail.transport import ASGISyncTransport

    app = factory() if factory is not None else FakeDimail(seed="people-dev").app
    transport = ASGISyncTransport(app)
    try:
        yield IN_PROCESS_URL, transport, "in-process fake"
    finally:
        transport.close()
