"""`apply`: bring a dimail to a declared state (domains, accesses, mailboxes, aliases), idempotently.

Three steps, each testable alone: `load` reads and validates the file,
`read_state` asks dimail what exists (reads only), `plan` compares the two
and lists the People events still to send, and `execute` sends them through
the `Provisioner`. Because the plan is computed from what dimail says, a
second run finds nothing to do and writes nothing.

Apply only adds and switches mailboxes on or off: nothing absent from the file
is removed (dimail may be shared; removing is an explicit event).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from .client import Call, DimailError
from .provisioner import ENABLED, Provisioner

# People's own checks on a mailbox's local part (PEOPLE.md §6), before any call.
LocalPart = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.-]+$", to_lower=True)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MailboxSpec(Strict):
    local_part: LocalPart
    first_name: Name
    last_name: Name
    active: bool = True


class AliasSpec(Strict):
    local_part: LocalPart
    destinations: list[Name] = Field(min_length=1)


class DomainSpec(Strict):
    name: Name
    owners: list[Name] = Field(min_length=1, description="ProConnect subs; the first one creates the domain")
    administrators: list[Name] = []
    mailboxes: list[MailboxSpec] = []
    aliases: list[AliasSpec] = []

    @model_validator(mode="after")
    def people_uniqueness(self) -> DomainSpec:
        """People refuses these before calling dimail: say so here rather than half-apply."""
        locals_ = [m.local_part for m in self.mailboxes]
        names = [f"{m.first_name} {m.last_name}".casefold() for m in self.mailboxes]
        for what, values in (("mailbox local part", locals_), ("mailbox first+last name", names)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"{what} declared twice: {', '.join(twice)}")
        return self


class Desired(Strict):
    domains: list[DomainSpec] = []

    @model_validator(mode="after")
    def one_entry_per_domain(self) -> Desired:
        names = [d.name for d in self.domains]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"domain declared twice: {', '.join(twice)}")
        return self


class DesiredStateError(ValueError):
    """The file cannot be read or does not describe a valid state."""


def load(path: str | Path) -> Desired:
    """Read a YAML or JSON file (by its suffix; YAML otherwise) and validate it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise DesiredStateError(f"{path}: {exc}") from exc
    try:
        return Desired.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'top level'}: {e['msg']}"
                             for e in exc.errors())
        raise DesiredStateError(f"{path}: {problems}") from exc


@dataclass
class State:
    """What People's user can see of dimail (reads only)."""

    domains: dict[str, str] = field(default_factory=dict)  # name -> dimail state
    users: set[str] = field(default_factory=set)  # itself and the users it manages
    allows: dict[str, set[str]] = field(default_factory=dict)  # domain -> users allowed
    mailboxes: dict[str, dict[str, str]] = field(default_factory=dict)  # domain -> local part -> imap_active
    aliases: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # domain -> (local part, destination)


def read_state(p: Provisioner, desired: Desired) -> State:
    """GET /domains/ and /users/; per declared domain that exists: allows, v2 mailboxes, aliases."""
    state = State()
    state.domains = {d["name"]: d["state"] for d in p.client.basic("GET", "/domains/").json()}
    state.users = {u["name"] for u in p.client.basic("GET", "/users/").json()}
    for spec in desired.domains:
        d = spec.name
        if d not in state.domains:
            continue
        state.allows[d] = {a["user"] for a in p.client.basic("GET", f"/allows/?domain={d}").json()}
        listing = p.client.bearer("GET", f"/v2/domains/{d}/mailboxes/").json()
        state.mailboxes[d] = {m["email"].partition("@")[0]: m["imap_active"] for m in listing
                              if m["email"].partition("@")[2] == d}
        state.aliases[d] = {(a["username"], a["destination"]) for a in p.client.bearer(
            "GET", f"/domains/{d}/aliases/").json()}
    return state


Kind = Literal["domain", "user", "allow", "mailbox", "disable", "enable", "alias"]


@dataclass(frozen=True)
class Action:
    kind: Kind
    domain: str
    target: str  # the user, the local part, or "local -> destination"
    mailbox: MailboxSpec | None = None

    def __str__(self) -> str:
        labels = {"domain": "create domain {d} (owner {t})", "user": "create user {t}",
                  "allow": "allow {t} on {d}", "mailbox": "create mailbox {t}@{d}",
                  "disable": "disable mailbox {t}@{d}", "enable": "enable mailbox {t}@{d}",
                  "alias": "create alias {t} on {d}"}
        return labels[self.kind].format(d=self.domain, t=self.target)


def plan(desired: Desired, state: State) -> list[Action]:
    """The events still to send, in People's order: domain, users and allows, mailboxes, aliases."""
    actions: list[Action] = []
    users = set(state.users)
    for spec in desired.domains:
        d = spec.name
        allowed = set(state.allows.get(d, ()))
        if d not in state.domains:
            owner = spec.owners[0]
            actions.append(Action("domain", d, owner))  # creates the owner and allows it too
            users.add(owner)
            allowed.add(owner)
        for sub in dict.fromkeys(spec.owners + spec.administrators):
            if sub in allowed:
                continue
            if sub not in users:
                actions.append(Action("user", d, sub))
                users.add(sub)
            actions.append(Action("allow", d, sub))
        existing = state.mailboxes.get(d, {})
        for mailbox in spec.mailboxes:
            current = existing.get(mailbox.local_part)
            if current is None:
                actions.append(Action("mailbox", d, mailbox.local_part, mailbox))
                if not mailbox.active:
                    actions.append(Action("disable", d, mailbox.local_part, mailbox))
            elif mailbox.active and current == "no":
                actions.append(Action("enable", d, mailbox.local_part, mailbox))
            elif not mailbox.active and current == "yes":
                actions.append(Action("disable", d, mailbox.local_part, mailbox))
        present = state.aliases.get(d, set())
        for alias in spec.aliases:
            for destination in alias.destinations:
                if (alias.local_part, destination) not in present:
                    actions.append(Action("alias", d, f"{alias.local_part} -> {destination}"))
    return actions


# done: sent and accepted; pending: kept until the domain is enabled; failed: dimail refused or
# failed it; skipped: not sent because what it needs failed; planned: a dry run's.
Result = Literal["done", "pending", "failed", "skipped", "planned"]


@dataclass
class Outcome:
    action: Action
    result: Result
    calls: list[Call]
    error: DimailError | None = None


@dataclass
class Report:
    reads: list[Call]
    outcomes: list[Outcome]
    calls: int
    writes: int

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def converged(self) -> bool:
        return all(o.result == "done" for o in self.outcomes)

    def summary(self) -> str:
        if not self.outcomes:
            return f"nothing to change: {self.calls} calls, {self.writes} writes"
        parts = [f"{self.count(r)} {r}" for r in ("done", "pending", "failed", "skipped", "planned") if self.count(r)]
        n = len(self.outcomes)
        return f"{n} change{'s' if n > 1 else ''}: {', '.join(parts)}; {self.calls} calls, {self.writes} writes"


def execute(p: Provisioner, actions: list[Action], state: State,
            progress: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
    """Send each action; a failure is recorded and the next actions still run (except on a failed domain)."""
    for d, dimail_state in state.domains.items():
        if dimail_state == "ok":
            p.statuses[d] = ENABLED  # dimail's word now beats what this provisioner concluded before
    outcomes: list[Outcome] = []
    failed_domains: set[str] = set()
    not_created: set[tuple[str, str]] = set()
    waiting: set[tuple[str, str]] = set()  # mailboxes kept pending: what follows them waits too
    for action in actions:
        mark = len(p.journal)
        result: Result = "done"
        error = None
        if action.domain in failed_domains or (action.domain, action.target) in not_created:
            result = "skipped"
        elif (action.domain, action.target) in waiting:
            result = "pending"
        else:
            try:
                result = _send(p, action)
            except DimailError as exc:
                result, error = "failed", exc
        if result != "done" and action.kind == "domain":
            failed_domains.add(action.domain)
        if action.kind == "mailbox" and result in ("failed", "skipped"):
            not_created.add((action.domain, action.target))
        if action.kind == "mailbox" and result == "pending":
            waiting.add((action.domain, action.target))
        outcome = Outcome(action, result, p.journal[mark:], error)
        outcomes.append(outcome)
        progress(outcome)
    return outcomes


def _send(p: Provisioner, action: Action) -> Literal["done", "pending"]:
    d, t, m = action.domain, action.target, action.mailbox
    if action.kind == "domain":
        p.domain_created(d, t)
    elif action.kind == "user":
        p.user_created(t)
    elif action.kind == "allow":
        p.allow(t, d)
    elif action.kind == "mailbox" and m is not None:
        if p.mailbox_created(d, m.local_part, m.first_name, m.last_name) is None:
            return "pending"
    elif action.kind == "disable":
        p.mailbox_disabled(d, t)
    elif action.kind == "enable" and m is not None:
        p.mailbox_enabled(d, t, m.first_name, m.last_name)
    elif action.kind == "alias":
        local, _, destination = t.partition(" -> ")
        p.alias_created(d, local, destination)
    return "done"


def apply(p: Provisioner, desired: Desired, progress: Callable[[Outcome], None] = lambda outcome: None,
          dry_run: bool = False, on_read: Callable[[list[Call]], None] = lambda calls: None) -> Report:
    """Read (`on_read` gets those calls), plan, execute (`progress` gets each outcome) unless `dry_run`:
    every action is then `planned`. The report counts every call made, reads included."""
    mark = len(p.journal)
    state = read_state(p, desired)
    reads = p.journal[mark:]
    on_read(reads)
    actions = plan(desired, state)
    if dry_run:
        outcomes = [Outcome(a, "planned", []) for a in actions]
        for outcome in outcomes:
            progress(outcome)
    else:
        outcomes = execute(p, actions, state, progress)
    return Report(reads, outcomes, len(p.journal) - mark, len(p.client.writes(since=mark)))
