"""What the fake was asked: one `Exchange` per request, the newest kept within a count and a byte budget."""

from __future__ import annotations

import dataclasses

import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

ENTRIES = 10_000
# Paths are the client's to choose (a 16 KB request line is legal): a count alone let 4,000
# long-path requests hold 59 MB, so the text the journal retains is budgeted too.
TEXT_BYTES = 4 * 1024 * 1024


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


class Journal:
    """The newest exchanges, oldest first, within `entries` and `text_bytes` of path and user text."""

    def __init__(self, entries: int = ENTRIES, text_bytes: int = TEXT_BYTES) -> None:
        self.entries = entries
        self.text_bytes = text_bytes
        self._rows: deque[Exchange] = deque()
        self._weight = 0
        self._next_id = 1
        self._lock = threading.Lock()  # the in-process client runs requests in other threads

    def append(self, exchange: Exchange) -> Exchange:
        """Keep `exchange` under the next id, given out here: ids then increase in journal order, whatever the
        threads (a `since=` poll stops at the first id it has seen)."""
        with self._lock:
            exchange = dataclasses.replace(exchange, id=self._next_id)
            self._next_id += 1
            self._rows.append(exchange)
            self._weight += _weight(exchange)
            # The newest entry always stays, whatever its size.
            while len(self._rows) > 1 and (len(self._rows) > self.entries or self._weight > self.text_bytes):
                self._weight -= _weight(self._rows.popleft())
        return exchange

    def clear(self) -> None:
        """Forget every entry; ids keep increasing, so a poller's `since` stays meaningful."""
        with self._lock:
            self._rows.clear()
            self._weight = 0

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
