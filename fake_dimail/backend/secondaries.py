"""Secondary accounts (CONTRACT.md §4.13): a master mailbox given access to another existing one.

The two listings follow the document's descriptions, which read the other way round from their
paths: `…/{u}/master_of` lists the mailboxes that can open `{u}`, `…/{u}/mastered_by` the ones
`{u}` can open. A link is stored once and found from both sides through the store's indexes.
"""

from __future__ import annotations

from .. import errors, models
from ..records import Caller, MailboxRecord, SecondaryRecord
from .base import atomic
from .passwords import Passwords


class Secondaries(Passwords):
    @staticmethod
    def _secondary_view(link: SecondaryRecord) -> models.Secondary:
        return models.Secondary(domain_name=link.domain, user_name=link.local, master_of=link.secondary,
                                displayName=link.display_name)

    def _link(self, caller: Caller, domain_name: str, local: str, email: str) -> SecondaryRecord:
        master = self._dovecot_row(caller, domain_name, local)
        secondary_local, _, secondary_domain = email.rpartition("@")
        link = self.state.secondaries.get((master.domain, master.local, secondary_domain, secondary_local))
        if link is None:
            raise errors.not_found(errors.SECONDARY_NOT_FOUND)
        return link

    @atomic
    def list_masters(self, caller: Caller, domain_name: str, local: str) -> list[models.Secondary]:
        row = self._dovecot_row(caller, domain_name, local)
        return [self._secondary_view(s) for s in self.state.secondaries.rows_by("secondary", (row.domain, row.local))]

    @atomic
    def list_mastered(self, caller: Caller, domain_name: str, local: str) -> list[models.Secondary]:
        row = self._dovecot_row(caller, domain_name, local)
        return [self._secondary_view(s) for s in self.state.secondaries.rows_by("master", (row.domain, row.local))]

    @atomic
    def get_secondary(self, caller: Caller, domain_name: str, local: str, email: str) -> models.Secondary:
        return self._secondary_view(self._link(caller, domain_name, local, email))

    @atomic
    def create_secondary(
        self, caller: Caller, domain_name: str, local: str, email: str, body: models.CreateSecondary
    ) -> models.Secondary:
        master = self._dovecot_row(caller, domain_name, local)
        secondary_local, _, secondary_domain = email.rpartition("@")
        # guess G-secondary-rights: giving access to a mailbox needs the rights on its domain too (403 before its 404s).
        secondary: MailboxRecord = self._dovecot_row(caller, secondary_domain, secondary_local)
        if secondary is master:
            raise errors.unprocessable(errors.OWN_SECONDARY)
        # guess G-secondary-again: linking again is no conflict (none is declared): the link stays, with the new displayName.
        link = SecondaryRecord(master.domain, master.local, secondary.domain, secondary.local, body.displayName)
        self.state.secondaries[(link.domain, link.local, link.secondary_domain, link.secondary_local)] = link
        return self._secondary_view(link)

    @atomic
    def delete_secondary(self, caller: Caller, domain_name: str, local: str, email: str) -> None:
        link = self._link(caller, domain_name, local, email)
        del self.state.secondaries[(link.domain, link.local, link.secondary_domain, link.secondary_local)]
