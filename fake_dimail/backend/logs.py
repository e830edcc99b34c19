"""Crash logs: the fake's deliberate 500s, kept as dimail keeps a file per crash (CONTRACT.md §4.20)."""

from __future__ import annotations

import secrets
import time

from .. import errors, models
from ..records import Caller, CrashRecord
from .base import Base, atomic

# guess G-crash-logs: dimail keeps every file until deleted; a fake serving a long test run must not grow without end.
MAX_CRASHES = 100


def crash_lines(crash: CrashRecord) -> list[str]:
    """The crash's log file, line by line: when, the request that caused it, and why (guess G-crash-logs: dimail's
    files hold the traceback of the exception; the fake's reason stands in for it)."""
    return [
        f"{log_date(crash.time)} ERROR Exception in ASGI application",
        f"request: {crash.method} {crash.path}",
        f"user: {crash.user or '-'}",
        f"fake_dimail.errors.ServerCrash: {crash.reason}",
    ]


def log_date(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


class Logs(Base):
    @atomic
    def record_crash(self, method: str, path: str, user: str | None, reason: str) -> CrashRecord:
        crashes = self.state.crashes
        now = self.clock()
        # guess G-crash-logs: a name like a log file's, dated, with a random tail so that two crashes in a second differ
        name = time.strftime("crash-%Y%m%d-%H%M%S-", time.gmtime(now)) + secrets.token_hex(3) + ".log"
        crash = CrashRecord(name, now, method, path, user, reason)
        crashes[name] = crash
        while len(crashes) > MAX_CRASHES:
            del crashes[next(iter(crashes))]  # the oldest: a store keeps insertion order
        return crash

    @atomic
    def list_crashes(self, caller: Caller) -> list[models.CrashInfo]:
        self._require_admin(caller)
        return [self._crash_info(crash) for crash in self.state.crashes.values()]

    @staticmethod
    def _crash_info(crash: CrashRecord) -> models.CrashInfo:
        size = len("".join(line + "\n" for line in crash_lines(crash)).encode())
        return models.CrashInfo(name=crash.name, size=size, date=log_date(crash.time))

    @atomic
    def get_crash(self, caller: Caller, name: str) -> models.ServerLogs:
        self._require_admin(caller)
        crash = self.state.crashes.get(name)
        if crash is None:
            raise errors.not_found(errors.NOT_FOUND)
        return models.ServerLogs(logs=crash_lines(crash))

    @atomic
    def delete_crash(self, caller: Caller, name: str) -> None:
        self._require_admin(caller)
        if name not in self.state.crashes:
            raise errors.not_found(errors.NOT_FOUND)
        del self.state.crashes[name]
