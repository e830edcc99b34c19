"""Stands in for `mailbox_manager.models`: People's mail domains, mailboxes and aliases, kept in memory."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar


class MailDomainStatus(str, enum.Enum):
    PENDING = "pending"
    ENABLED = "enabled"
    FAILED = "failed"
    ACTION_REQUIRED = "action_required"
    DISABLED = "disabled"


class MailboxStatus(str, enum.Enum):
    PENDING = "pending"
    ENABLED = "enabled"
    DISABLED = "disabled"


class Model:
    """`save()` and `delete()` on one table per class, emptied between tests (a transaction rolled back)."""

    rows: ClassVar[list[Any]]

    def __init_subclass__(cls) -> None:
        cls.rows = []

    def save(self) -> None:
        if self not in type(self).rows:
            type(self).rows.append(self)

    def delete(self) -> None:
        type(self).rows.remove(self)

    @classmethod
    def filter(cls, **fields: Any) -> list[Any]:
        return [row for row in cls.rows if all(getattr(row, k) == v for k, v in fields.items())]


@dataclass(eq=False)
class MailDomain(Model):
    name: str
    slug: str = ""
    status: MailDomainStatus = MailDomainStatus.PENDING
    support_email: str = ""
    last_check_details: dict[str, Any] | None = None
    expected_config: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class Mailbox(Model):
    domain: MailDomain
    local_part: str
    first_name: str
    last_name: str
    secondary_email: str = ""
    status: MailboxStatus = MailboxStatus.PENDING
    password: str = ""


@dataclass(eq=False)
class Alias(Model):
    domain: MailDomain
    local_part: str
    destination: str


def flush() -> None:
    for model in (MailDomain, Mailbox, Alias):
        model.rows.clear()
