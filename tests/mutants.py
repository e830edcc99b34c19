"""Deliberately wrong fakes, for checking that the contract suite notices (`--dimail-app tests.mutants:NAME`)."""

from __future__ import annotations

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


class _Rewrite:
    """Rewrites the answers to paths containing `path_part` (or matching `method` and the regex `path`):
    `status` maps an answer's status to a new one; `rename` renames JSON keys."""

    def __init__(self, app: ASGIApp, status: dict[int, int] | None = None, path_part: str = "",
                 rename: dict[str, str] | None = None, method: str = "", path: str = "") -> None:
        self.app, self.status, self.path_part, self.rename = app, status or {}, path_part, rename or {}
        self.method, self.path = method, re.compile(path) if path else None

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


def users_without_perms() -> Any:
    """Users answered without `perms`, as dimail's 2024 server did (before People's user could create domains)."""
    return _Rewrite(_fake().app, path_part="/users/", rename={"perms": "acls_of_old"})


class _Without:
    """Drops one operation: gone from /openapi.json, and the path answers 405 like an undeclared method."""

    def __init__(self, fake: FakeDimail, method: str, template: str, pattern: str) -> None:
        self.app, self.method, self.pattern = fake.app, method, re.compile(pattern)
        document = copy.deepcopy(fake.app.openapi())
        del document["paths"][template][method.lower()]
        self.document = json.dumps(document).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/openapi.json":
            await _answer(send, 200, self.document)
        elif scope["type"] == "http" and scope["method"] == self.method and self.pattern.fullmatch(scope["path"]):
            await _answer(send, 405, b'{"detail":"Method Not Allowed"}')
        else:
            await self.app(scope, receive, send)


async def _answer(send: Send, status: int, payload: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def missing_operation() -> Any:
    """No DELETE /allows/{domain_name}/{user_name} at all."""
    return _Without(_fake(), "DELETE", "/allows/{domain_name}/{user_name}", r"/allows/[^/]+/[^/]+")


class _Unsteerable:
    """A fake that looks like a real dimail: no `/_fake/` in its document, 404 there."""

    def __init__(self, fake: FakeDimail) -> None:
        self.app = fake.app
        document = copy.deepcopy(fake.app.openapi())
        document["paths"] = {p: v for p, v in document["paths"].items() if not p.startswith("/_fake/")}
        self.document = json.dumps(document).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/openapi.json":
            await _answer(send, 200, self.document)
        elif scope["type"] == "http" and scope["path"].startswith("/_fake/"):
            await _answer(send, 404, b'{"detail":"Not Found"}')
        else:
            await self.app(scope, receive, send)


def without_steering() -> Any:
    """Not a mutant: the fake as a real dimail looks to the suite (no steering)."""
    return _Unsteerable(_fake())
