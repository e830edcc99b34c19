"""The two operations without authentication besides `/spec`: `/public/domains/{d}` and the password webhook
(CONTRACT.md §4.18, §4.19)."""

from __future__ import annotations

from typing import Any

from .. import errors, models
from .base import Base, atomic, hash_password


class Public(Base):
    @atomic
    def public_domain(self, name: str) -> dict[str, Any]:
        # The document declares no schema for the 200; guess G-public-domain: the name, as CONTRACT.md §4.18 suggests.
        self._domain(name)
        return {"name": name}

    @atomic
    def change_password(self, change: models.PasswordChange | None) -> str:
        """Set a Dovecot mailbox's password, as the document describes (the OX side is OX's own)."""
        if change is None:
            raise errors.not_found(errors.WEBHOOK_BODY)
        local, at, domain = change.email.rpartition("@")
        key = (domain, local)
        if not at or key not in self.state.mailboxes:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        self.state.mailboxes.modify(key, password_hash=hash_password(change.password))
        return errors.PASSWORD_CHANGED
