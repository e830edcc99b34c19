"""ProConnect identities allowed to open mailboxes (CONTRACT.md §4.9, §4.16): one relation, read from both ends.

`/identities` links an identity to a mailbox whose password the caller knows; the per-mailbox
operations list and add identities without it. Rights are those of the mailbox's domain.
"""

from __future__ import annotations

from typing import Any

from .. import errors, models
from ..records import Caller, IdentityRecord
from .base import atomic, verify_password
from .passwords import Passwords


class Identities(Passwords):
    @atomic
    def list_identity_emails(self, caller: Caller, proconnect: str) -> list[str]:
        # guess G-identities-listing: an unknown identity lists nothing (200 []); a non-admin sees only its
        # domains' mailboxes.
        return [link.email for link in self.state.identities.rows_by("proconnect", proconnect)
                if self._is_allowed(caller, link.domain)]

    @atomic
    def create_identity(self, caller: Caller, body: models.CreateIdentity) -> dict[str, Any]:
        local, _, domain = body.email.rpartition("@")
        row = self._dovecot_row(caller, domain, local)
        # guess G-identity-password: the mailbox's own password, not one of its app passwords, proves the link.
        if not verify_password(body.password, row.password_hash):
            raise errors.forbidden()
        key = (body.proconnect, row.domain, row.local)
        if key in self.state.identities:
            raise errors.conflict(errors.IDENTITY_EXISTS)
        self.state.identities[key] = IdentityRecord(*key)
        return {}

    @atomic
    def delete_identity(self, caller: Caller, proconnect: str, email: str) -> None:
        local, _, domain = email.rpartition("@")
        self._require_allowed(caller, domain)
        key = (proconnect, domain, local)
        if key not in self.state.identities:
            raise errors.not_found(errors.IDENTITY_NOT_FOUND)
        del self.state.identities[key]

    @atomic
    def list_mailbox_identities(self, caller: Caller, domain_name: str, local: str) -> list[str]:
        row = self._dovecot_row(caller, domain_name, local)
        return [link.proconnect for link in self.state.identities.rows_by("mailbox", (row.domain, row.local))]

    @atomic
    def add_mailbox_identity(self, caller: Caller, domain_name: str, local: str, identity: str) -> dict[str, Any]:
        row = self._dovecot_row(caller, domain_name, local)
        # guess G-identity-again (§4.9): adding an identity the mailbox already has changes nothing and still answers 201.
        key = (identity, row.domain, row.local)
        self.state.identities.setdefault(key, IdentityRecord(*key))
        return {}
