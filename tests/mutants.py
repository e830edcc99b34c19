"""Deliberately wrong fakes, for checking that the contract suite notices (`--dimail-app tests.mutants:NAME`)."""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fake_dimail.fake import FakeDimail


def _fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


def allow_not_removed() -> Any:
    """DELETE /allows/{d}/{u} answers 204 and removes nothing."""
    fake = _fake()
    real = fake.backend.delete_allow

    def keep(caller: Any, domain: str, user: str) -> None:
        saved = dict(fake.backend.allows)
        real(caller, domain, user)
        fake.backend.allows.clear()
        fake.backend.allows.update(saved)

    fake.backend.delete_allow = keep  # type: ignore[method-assign]
    return fake.app


def my_domains_ignore_allows() -> Any:
    """GET /my/domains lists every domain, whatever the caller's allows."""
    fake = _fake()
    fake.backend.my_domains = lambda caller: list(fake.backend.domains)  # type: ignore[method-assign]
    return fake.app


class _Rewrite:
    """Rewrites the answers to paths containing `path_part` (or matching `method` and the regex `path`):
    `status` maps an answer's status to a new one; `rename` renames JSON keys; `drop` removes a key from
    the JSON object answered (or from each object of the list answered)."""

    def __init__(self, app: ASGIApp, status: dict[int, int] | None = None, path_part: str = "",
                 rename: dict[str, str] | None = None, method: str = "", path: str = "", drop: str = "") -> None:
        self.app, self.status, self.path_part, self.rename = app, status or {}, path_part, rename or {}
        self.method, self.path, self.drop = method, re.compile(path) if path else None, drop

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http" or self.path_part not in scope["path"]:
            return False
        if self.method and scope["method"] != self.method:
            return False
        return self.path is None or self.path.fullmatch(scope["path"]) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            payload = b"".join(chunks)
            if self.rename and payload[:1] in (b"{", b"["):
                text = payload.decode()
                for old, new in self.rename.items():
                    text = text.replace(json.dumps(old) + ":", json.dumps(new) + ":")
                payload = text.encode()
            if self.drop and payload[:1] in (b"{", b"["):
                answered = json.loads(payload)
                for item in answered if isinstance(answered, list) else [answered]:
                    if isinstance(item, dict):
                        item.pop(self.drop, None)
                payload = json.dumps(answered).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(payload)).encode()))
            await send({**start, "status": self.status.get(start["status"], start["status"]), "headers": headers})
            await send({"type": "http.response.body", "body": payload})

        await self.app(scope, receive, capture)


def refusal_answers_200() -> Any:
    """A user without an allow reads a domain's mailboxes: the 403 becomes a 200."""
    return _Rewrite(_fake().app, status={403: 200}, path_part="/mailboxes/")


def renamed_field() -> Any:
    """The address probe says `primary_email` instead of `ox_primary_email` (People reads the latter)."""
    return _Rewrite(_fake().app, path_part="/address/", rename={"ox_primary_email": "primary_email"})


def v2_creation_misses_field() -> Any:
    """A v2 mailbox creation answers `secret` for the required `password`: only a chain of calls reaches
    it (a generated domain is not People's to fill; People itself creates through v1)."""
    return _Rewrite(_fake().app, method="POST", path=r"/v2/domains/[^/]+/mailboxes/[^/]+",
                    rename={"password": "secret"})


def mailbox_crash_on_unknown_domain() -> Any:
    """A v1 mailbox created on an unknown domain answers a bare 500, as dimail's 2024 server crashed there: the
    duplicate-mailbox quirk (also a 500) must not excuse it."""
    return _Rewrite(_fake().app, status={404: 500}, method="POST", path=r"/domains/[^/]+/mailboxes/[^/]+")


def users_without_perms() -> Any:
    """Users without `perms`, in answers and in the document, as dimail's 2024 server had them (before People's
    user could create domains); every other rule is the fake's."""
    fake = _fake()
    document = copy.deepcopy(fake.app.openapi())
    user = document["components"]["schemas"]["User"]
    del user["properties"]["perms"]
    user["required"].remove("perms")
    return _Documented(_Rewrite(fake.app, path_part="/users/", drop="perms"), document)


class _Documented:
    """Serves `document` as its /openapi.json, the app for the rest."""

    def __init__(self, app: ASGIApp, document: dict[str, Any]) -> None:
        self.app, self.document = app, json.dumps(document).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/openapi.json":
            await _answer(send, 200, self.document)
        else:
            await self.app(scope, receive, send)


class _Without(_Documented):
    """Drops one operation: gone from /openapi.json, and the path answers 405 like an undeclared method."""

    def __init__(self, fake: FakeDimail, method: str, template: str, pattern: str) -> None:
        document = copy.deepcopy(fake.app.openapi())
        del document["paths"][template][method.lower()]
        super().__init__(fake.app, document)
        self.method, self.pattern = method, re.compile(pattern)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == self.method and self.pattern.fullmatch(scope["path"]):
            await _answer(send, 405, b'{"detail":"Method Not Allowed"}')
        else:
            await super().__call__(scope, receive, send)


async def _answer(send: Send, status: int, payload: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def missing_operation() -> Any:
    """No DELETE /allows/{domain_name}/{user_name} at all."""
    return _Without(_fake(), "DELETE", "/allows/{domain_name}/{user_name}", r"/allows/[^/]+/[^/]+")


class _Unsteerable(_Documented):
    """A fake that looks like a real dimail: no `/_fake/` in its document, 404 there."""

    def __init__(self, fake: FakeDimail) -> None:
        document = copy.deepcopy(fake.app.openapi())
        document["paths"] = {p: v for p, v in document["paths"].items() if not p.startswith("/_fake/")}
        super().__init__(fake.app, document)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_fake/"):
            await _answer(send, 404, b'{"detail":"Not Found"}')
        else:
            await super().__call__(scope, receive, send)


def without_steering() -> Any:
    """Not a mutant: the fake as a real dimail looks to the suite (no steering)."""
    return _Unsteerable(_fake())


def without_domain_deletion(fake: FakeDimail | None = None) -> Any:
    """No DELETE /domains/{domain_name}, as dimail's 2024 server: the clean-up can only empty the run's domains."""
    return _Without(fake or _fake(), "DELETE", "/domains/{domain_name}", r"/domains/[^/]+")


class _AdminsReadUsers:
    """GET /users/{name} refused (403) to anyone but `admin`, as dimail's 2024 server did."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and re.fullmatch(r"/users/[^/]+", scope["path"]):
            authorization = dict(scope["headers"]).get(b"authorization", b"")
            user = base64.b64decode(authorization.removeprefix(b"Basic ")).partition(b":")[0]
            if user != b"admin":
                await _answer(send, 403, b'{"detail":"Permission denied"}')
                return
        await self.app(scope, receive, send)


def users_read_by_admins_only() -> Any:
    return _AdminsReadUsers(_fake().app)
