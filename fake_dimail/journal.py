"""What the fake was asked: one `Exchange` per request, the newest kept within a count and byte budgets.

Each exchange keeps the request's and the answer's bodies: `fake.calls` shows them as
sent (a test may assert a password it sent), `GET /_fake/requests?bodies=1` with the
secrets in them redacted.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import parse_qsl

from .guard import is_control

ENTRIES = 10_000
# Paths are the client's to choose (a 16 KB request line is legal): a count alone let 4,000
# long-path requests hold 59 MB, so the text the journal retains is budgeted too.
TEXT_BYTES = 4 * 1024 * 1024
# Bodies, requests' and answers' together: a listing of 10,000 mailboxes is ~3 MB.
BODY_BYTES = 16 * 1024 * 1024
# What `?bodies=1` never shows: the keys of dimail's bodies that carry a secret.
SECRET_KEYS = frozenset({"password", "access_token"})
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    user: str | None
    status: int | None  # None: no answer (an injected connection error or timeout)
    duration_ms: float
    fault: str | None = None  # what was injected instead of dimail's answer
    id: int = 0  # increasing over the server's life, never reused: `since=<id>` polls what came after
    time: float = 0.0  # epoch seconds when the request arrived
    query: str = ""  # the query string (also at the end of `path`)
    auth: str | None = None  # how `user` authenticated: "basic" or "bearer"
    operation: str | None = None  # the path template of the operation that answered, if one did
    request_body: bytes = b""
    request_type: str | None = None  # the request's Content-Type
    response_body: bytes = b""
    response_type: str | None = None

    ENTRY_FIELDS = ("id", "time", "method", "path", "user", "status", "duration_ms", "fault")

    def entry(self, bodies: bool = False) -> dict[str, Any]:
        """The JSON object `GET /_fake/requests` shows; with `bodies`, what was sent and answered too,
        secrets redacted."""
        shown: dict[str, Any] = {name: getattr(self, name) for name in self.ENTRY_FIELDS}
        if bodies:
            shown.update(
                query=self.query, auth=self.auth, operation=self.operation,
                request=_shown_body(self.request_body, self.request_type),
                response=_shown_body(self.response_body, self.response_type),
            )
        return shown

    def line(self) -> str:
        """The request's log line (also what `GET /logs/` shows): it cannot forge another one."""
        status = "-" if self.status is None else self.status
        fault = f" fault={self.fault}" if self.fault else ""
        return (f"{self.method} {printable(self.path)} {status} user={printable(self.user or '-')} "
                f"{self.duration_ms:.1f}ms{fault}")


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def printable(text: str) -> str:
    """A log field that cannot forge a line: control characters (and the backslash) escaped."""
    return _UNPRINTABLE.sub(lambda m: "\\x%02x" % ord(m.group()), text)


def _weight(exchange: Exchange) -> int:
    return len(exchange.path) + len(exchange.user or "")


def _body_weight(exchange: Exchange) -> int:
    return len(exchange.request_body) + len(exchange.response_body)


def _is_json(body: bytes, content_type: str | None) -> bool:
    if content_type is not None:
        return "json" in content_type.lower()
    return body[:1] in (b"{", b"[")  # dimail reads a body sent without Content-Type as JSON


def decode_body(body: bytes, content_type: str | None) -> Any:
    """A body as a test reads it: its JSON value when it is JSON, else its text; None when empty."""
    if not body:
        return None
    text = body.decode("utf-8", "replace")
    if _is_json(body, content_type):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def redacted(value: Any) -> Any:
    """`value` with the secrets of dimail's bodies replaced: passwords, tokens, login codes."""
    if isinstance(value, dict):
        login_code = "code" in value and "expires_at" in value
        return {k: REDACTED if (k in SECRET_KEYS or (login_code and k == "code")) and v is not None
                else redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def _shown_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    return {"content_type": content_type, "size": len(body), "body": redacted(decode_body(body, content_type))}


class Journal:
    """The newest exchanges, oldest first, within `entries` and `text_bytes` of path and user text."""

    def __init__(self, entries: int = ENTRIES, text_bytes: int = TEXT_BYTES, body_bytes: int = BODY_BYTES) -> None:
        self.entries = entries
        self.text_bytes = text_bytes
        self.body_bytes = body_bytes
        self._rows: deque[Exchange] = deque()
        self._weight = 0
        self._body_weight = 0
        self._next_id = 1
        self._lock = threading.Lock()  # the in-process client runs requests in other threads

    def append(self, exchange: Exchange) -> Exchange:
        """Keep `exchange` under the next id, given out here: ids then increase in journal order, whatever the
        threads (a `since=` poll stops at the first id it has seen)."""
        return self.add(**{f.name: getattr(exchange, f.name) for f in dataclasses.fields(exchange) if f.name != "id"})

    def add(self, *args: Any, **fields: Any) -> Exchange:
        """`append(Exchange(*args, **fields))`, the exchange made once, with its id."""
        with self._lock:
            exchange = Exchange(*args, id=self._next_id, **fields)
            self._next_id += 1
            self._rows.append(exchange)
            self._weight += _weight(exchange)
            self._body_weight += _body_weight(exchange)
            # The newest entry always stays, whatever its size.
            while len(self._rows) > 1 and (len(self._rows) > self.entries or self._weight > self.text_bytes
                                           or self._body_weight > self.body_bytes):
                oldest = self._rows.popleft()
                self._weight -= _weight(oldest)
                self._body_weight -= _body_weight(oldest)
        return exchange

    def clear(self) -> None:
        """Forget every entry; ids keep increasing, so a poller's `since` stays meaningful."""
        with self._lock:
            self._rows.clear()
            self._weight = 0
            self._body_weight = 0

    def __iter__(self) -> Iterator[Exchange]:
        with self._lock:
            return iter(list(self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    def select(self, limit: int, since: int | None = None, path: str | None = None) -> list[Exchange]:
        """At most `limit` entries, oldest first: the first ones after `since` (so polling never skips
        one), else the newest; `path` keeps those whose path starts with it."""
        with self._lock:
            rows = self._rows
            if since is not None:
                # Ids are consecutive in the deque (only the oldest are dropped): the first one after
                # `since` is found by reading backwards over the new entries only.
                newer: list[Exchange] = []
                for row in reversed(rows):
                    if row.id <= since:
                        break
                    newer.append(row)
                newer.reverse()
                picked = [row for row in newer if path is None or row.path.startswith(path)]
                return picked[:limit]
            picked = []
            for row in reversed(rows):
                if path is None or row.path.startswith(path):
                    picked.append(row)
                    if len(picked) == limit:
                        break
            picked.reverse()
            return picked

    @property
    def text_weight(self) -> int:
        """The path and user characters retained (what `text_bytes` bounds)."""
        return self._weight


class Call:
    """One exchange with dimail as a test asserts it, like `responses.calls[i]`: what was sent, what came back.

    `.body` is the request's body as sent (passwords included), `.json()` its JSON value, `.response`
    the answer's JSON value (or text; None without an answer).
    """

    __slots__ = ("exchange",)

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    @property
    def method(self) -> str:
        return self.exchange.method

    @property
    def path(self) -> str:
        """The path as requested, without the query string."""
        exchange = self.exchange
        return exchange.path[: len(exchange.path) - len(exchange.query) - 1] if exchange.query else exchange.path

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (the last value of a repeated one); `.exchange.query` has the raw string."""
        return dict(parse_qsl(self.exchange.query, keep_blank_values=True))

    @property
    def operation(self) -> str | None:
        """The path template of the operation that answered (`/domains/{domain_name}/mailboxes/{user_name}`);
        None for a slash redirect, a 404 or a dropped connection."""
        return self.exchange.operation

    @property
    def user(self) -> str | None:
        """Who the request acted as once authenticated (None: it was not); `.auth` says how."""
        return self.exchange.user

    @property
    def auth(self) -> str | None:
        """"basic" or "bearer": how `user` authenticated. The secret itself is never kept."""
        return self.exchange.auth

    @property
    def body(self) -> bytes:
        return self.exchange.request_body

    def json(self) -> Any:
        """The request's JSON value (ValueError when it sent none)."""
        return json.loads(self.exchange.request_body)

    @property
    def status(self) -> int | None:
        """The status answered; None when the connection was dropped (an injected fault)."""
        return self.exchange.status

    @property
    def response(self) -> Any:
        """The answer's JSON value, else its text; None when nothing was answered or the body was empty."""
        return decode_body(self.exchange.response_body, self.exchange.response_type)

    @property
    def fault(self) -> str | None:
        return self.exchange.fault

    def __repr__(self) -> str:
        return f"<Call {self.method} {printable(self.exchange.path)} {self.status}>"


class Calls(Sequence[Call]):
    """The exchanges with dimail's operations, oldest first (`/_fake/` requests left out): `fake.calls`.

    Bounded like the journal it reads; `filter(method=, path=)` picks some (a concrete path, or an
    operation's template), `reset()` empties the journal.
    """

    def __init__(self, journal: Journal, spelled: Callable[[str], str] | None = None) -> None:
        self._journal = journal
        self._spelled = spelled  # a path as the operations spell it (`Faults.spelled`): filter's trailing slash

    def _calls(self) -> list[Call]:
        return [call for call in map(Call, self._journal) if not is_control(call.path)]

    @overload
    def __getitem__(self, index: int) -> Call: ...

    @overload
    def __getitem__(self, index: slice) -> list[Call]: ...

    def __getitem__(self, index: int | slice) -> Call | list[Call]:
        return self._calls()[index]

    def __len__(self) -> int:
        return len(self._calls())

    def __iter__(self) -> Iterator[Call]:
        return iter(self._calls())

    def __repr__(self) -> str:
        return f"Calls({self._calls()!r})"

    def filter(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """The calls with this method and this path: a concrete one (`/domains/d.fr/mailboxes/jean`)
        or the operation's template (`/domains/{domain_name}/mailboxes/{user_name}`). A path spelled with the
        other trailing slash than its operation's (People's `/domains/d.fr/address/jean/`) is the operation's:
        the calls it answered, not the 307 that led there."""
        wanted = method.upper() if method is not None else None
        if path is not None and self._spelled is not None:
            path = self._spelled(path)
        return [c for c in self._calls()
                if (wanted is None or c.method == wanted) and (path is None or path in (c.path, c.operation))]

    def reset(self) -> None:
        """Forget every call (the whole journal), as `responses.calls.reset()` does."""
        self._journal.clear()
