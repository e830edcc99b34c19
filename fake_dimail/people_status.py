"""People's domain status from dimail's check answer: the one copy of the rule (CHECKS.md §8).

People (suitenumerique/people, `mailbox_manager`: the domain status fetch) reads `GET
/domains/{d}/check/` this way, and everything here that needs the rule uses this module:
the provisioner (`Provisioner.domain_status`, which calls `/fix/` for real), the fake's
seeding (`people_status=`: does People already show a domain so?), the control plane's
`GET /_fake/domains/{d}/people` and the dashboard (which predict `/fix/`'s answer by
running the fake's repair on a copy, changing nothing), and the docs' table of People's
statuses, generated from the examples below (`python -m fake_dimail.people_status`).

1. `state == "ok"`: unless People already shows the domain enabled, it first sends its pending
   mailboxes (token + mailbox POST each), then shows it `enabled`.
2. `state == "broken"`: the object-valued entries whose `internal` is exactly `False` are the
   external checks, exactly `True` the internal ones; a check passes when `ok` is truthy.
   Some external check fails: `action_required` (the domain page lists `errors[0].detail` of each).
   Else some internal check fails: People calls `/fix/` and reads its answer the same way:
   everything passes: `enabled` (pending mailboxes are *not* sent on this path); internal checks
   still failing: `failed`; else unchanged. Else (nothing fails): unchanged.
3. Any other `state` (`new`): unchanged. No 200 answer (a 500, a fault): unchanged, logged.

Standard library only: the provisioner and the pytest plugin's users import it for nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import generated

PENDING, ENABLED, ACTION_REQUIRED, FAILED, DISABLED = "pending", "enabled", "action_required", "failed", "disabled"
PEOPLE_STATUSES = (PENDING, ENABLED, ACTION_REQUIRED, FAILED, DISABLED)
# How People's interface words them.
LABELS = {PENDING: "pending", ENABLED: "enabled", ACTION_REQUIRED: "action required", FAILED: "failed",
          DISABLED: "disabled"}

# The branch a status fetch takes: what the docs' table and the dashboard name.
OK, EXTERNAL, FIXED, UNFIXED, NOTHING, OTHER, ERROR = (
    "ok", "external", "fixed", "unfixed", "nothing", "other", "error")


@dataclass(frozen=True)
class Reading:
    """People's reading of one check (or fix) answer."""

    state: Any  # the answer's `state`, as sent
    external: tuple[str, ...]  # the failing external checks, in the answer's order
    internal: tuple[str, ...]  # the failing internal checks
    details: tuple[str, ...]  # `errors[0].detail` of each failing external check (People's domain page)

    @property
    def failing(self) -> tuple[str, ...]:
        return self.external + self.internal


def read(answer: Mapping[str, Any]) -> Reading:
    """Split an answer as People does: `internal` compared by identity, `ok` by truthiness."""
    external, internal, details = [], [], []
    for name, block in answer.items():
        if not isinstance(block, Mapping) or block.get("ok", False):
            continue
        if block.get("internal") is False:
            external.append(name)
            errors = block.get("errors") or []
            first = errors[0] if isinstance(errors, list) and errors else None
            details.append(str(first.get("detail", "")) if isinstance(first, Mapping) else "")
        elif block.get("internal") is True:
            internal.append(name)
    return Reading(answer.get("state"), tuple(external), tuple(internal), tuple(details))


@dataclass(frozen=True)
class Fetch:
    """What one People status fetch concludes from dimail's answers."""

    status: str  # People's status afterwards (`before` when unchanged)
    before: str  # what People showed before the fetch
    branch: str  # OK, EXTERNAL, FIXED, UNFIXED, NOTHING, OTHER or ERROR
    check: Reading | None  # None: /check gave no 200 answer
    fix: Reading | None = None  # People's reading of /fix/'s answer, when it called it
    answer: Mapping[str, Any] | None = None  # the last body People read (fix's, else check's)
    send_pending: bool = False  # People sends its pending mailboxes before showing the domain enabled
    calls: tuple[str, ...] = field(default=())  # the calls People sends, in order

    @property
    def changed(self) -> bool:
        return self.branch in (OK, EXTERNAL, FIXED, UNFIXED)

    @property
    def fixed(self) -> bool:
        """Whether People called /fix/."""
        return self.fix is not None

    @property
    def details(self) -> tuple[str, ...]:
        """What People's domain page lists: the failing external checks' first errors."""
        return self.check.details if self.branch == EXTERNAL and self.check is not None else ()

    @property
    def pending_mailboxes(self) -> str:
        """What becomes of People's pending mailboxes (created in People, not yet in dimail)."""
        if self.send_pending:
            return "sent, each: a token, then POST /domains/{d}/mailboxes/{local}; enabled once dimail answers 201"
        if self.branch == OK:
            return "none: People sends a mailbox at once to a domain it shows enabled"
        if self.branch == FIXED:
            return "kept pending: not sent on the /fix/ path (People's admin action sends them)"
        return "kept pending: People sends mailboxes only to a domain it shows enabled"

    @property
    def why(self) -> str:
        """The reason, in one line."""
        check = self.check
        if self.branch == ERROR:
            failed = "/check" if check is None else "/fix/"
            return f"{failed} gives no 200 answer: People logs the HTTP error and changes nothing"
        assert check is not None
        if self.branch == OK:
            return "dimail's check answers ok"
        if self.branch == EXTERNAL:
            return f"external checks fail ({', '.join(check.external)}): the DNS is the domain owner's to fix, " \
                   "/fix/ cannot"
        if self.branch in (FIXED, UNFIXED):
            assert self.fix is not None
            if self.branch == FIXED:
                return f"only internal checks fail ({', '.join(check.internal)}): /fix/ repairs them"
            return f"only internal checks fail ({', '.join(check.internal)}): /fix/ leaves " \
                   f"{', '.join(self.fix.internal)} failing, for dimail's operators to repair"
        if self.branch == NOTHING:
            if self.fix is not None:
                return "/fix/'s answer shows an external check failing again: People changes nothing"
            return "state broken but no check with a boolean `internal` fails: People changes nothing"
        return f"state {check.state!r}: dimail has not checked the domain yet, People changes nothing"


CHECK_CALL, FIX_CALL = "GET /domains/{d}/check/", "GET /domains/{d}/fix/"
SEND_CALLS = "per pending mailbox: GET /token/, POST /domains/{d}/mailboxes/{local}"


def fetch(check: Mapping[str, Any] | None, fix: Callable[[], Mapping[str, Any] | None],
          before: str = PENDING) -> Fetch:
    """People's status fetch of a domain it shows `before`, given /check's answer (None: no 200 answer).

    `fix` gives /fix/'s answer (None: no 200 answer); it is called, once, only where People calls
    /fix/: the provisioner sends the request, the fake's prediction runs its repair on a copy.
    """
    if check is None:
        return Fetch(before, before, ERROR, None, calls=(CHECK_CALL,))
    reading = read(check)
    if reading.state == "ok":
        send = before != ENABLED
        return Fetch(ENABLED, before, OK, reading, answer=check, send_pending=send,
                     calls=(CHECK_CALL, SEND_CALLS) if send else (CHECK_CALL,))
    if reading.state != "broken":
        return Fetch(before, before, OTHER, reading, answer=check, calls=(CHECK_CALL,))
    if reading.external:
        return Fetch(ACTION_REQUIRED, before, EXTERNAL, reading, answer=check, calls=(CHECK_CALL,))
    if not reading.internal:
        return Fetch(before, before, NOTHING, reading, answer=check, calls=(CHECK_CALL,))
    fixed = fix()
    calls = (CHECK_CALL, FIX_CALL)
    if fixed is None:
        return Fetch(before, before, ERROR, reading, calls=calls)
    after = read(fixed)
    if after.external:
        return Fetch(before, before, NOTHING, reading, after, fixed, calls=calls)
    if after.internal:
        return Fetch(FAILED, before, UNFIXED, reading, after, fixed, calls=calls)
    return Fetch(ENABLED, before, FIXED, reading, after, fixed, calls=calls)


# --- the docs' table: the rule run on one example answer per branch ----------------------------------


def _answer(state: str, failing: tuple[str, ...] = (), internal: tuple[str, ...] = ()) -> dict[str, Any]:
    checks = {name: {"ok": name not in failing, "internal": name in internal,
                     "errors": [{"code": f"no_{name}", "detail": "…"}] if name in failing else []}
              for name in ("mx", "spf", "cert")}
    return {"state": state, **checks}


# (what dimail answers, in words; /check's answer; /fix/'s answer or None; what People showed before)
EXAMPLES: tuple[tuple[str, dict[str, Any] | None, dict[str, Any] | None, str], ...] = (
    ("`ok`", _answer("ok"), None, PENDING),
    ("`ok`, People shows it enabled already", _answer("ok"), None, ENABLED),
    ("`broken`, an external check fails (`mx`; nothing published: `domain_exist`)",
     _answer("broken", ("mx", "cert"), ("cert",)), None, PENDING),
    ("`broken`, internal checks only (`cert`); `/fix/` repairs them",
     _answer("broken", ("cert",), ("cert",)), _answer("ok"), PENDING),
    ("`broken`, internal checks only; `/fix/` leaves `cert` failing",
     _answer("broken", ("cert",), ("cert",)), _answer("broken", ("cert",), ("cert",)), PENDING),
    ("`broken`, no failing check with a boolean `internal`", {"state": "broken"}, None, PENDING),
    ("`new` (never checked), or any other state", _answer("new"), None, PENDING),
    ("no 200 answer (a 500, a fault, no connection)", None, None, PENDING),
)

BEGIN = "<!-- people-statuses: generated by `python -m fake_dimail.people_status --write FILE` -->"
END = "<!-- /people-statuses -->"


def table() -> str:
    """People's statuses, one row per branch of the rule, each computed by `fetch` on its example."""
    rows = ["| dimail's `/check/` answers | People calls | People's status | its pending mailboxes |",
            "|---|---|---|---|"]
    for words, check, fixed, before in EXAMPLES:
        outcome = fetch(check, lambda fixed=fixed: fixed or {}, before)
        status = LABELS[outcome.status] if outcome.changed else f"unchanged ({LABELS[before]} at creation)"
        calls = " → ".join(f"`{call}`" for call in outcome.calls)
        rows.append(f"| {words} | {calls} | **{status}** | {outcome.pending_mailboxes} |")
    return "\n".join(rows) + "\n"


def section(text: str) -> str | None:
    """A document's copy of the table (None without the markers)."""
    return generated.section(text, BEGIN, END)


def write(path: Path) -> bool:
    """Replace the document's copy of the table; True when it changed."""
    return generated.write(path, BEGIN, END, table())


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, "python -m fake_dimail.people_status",
                          "Print the table of People's statuses, or write it into a document.", "FILE", BEGIN, END, table)

if __name__ == "__main__":
    sys.exit(main())
