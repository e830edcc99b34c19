"""`/my/…`: what a token's API user can see, read from its allows (CONTRACT.md §4.17).

The document words them for "a user who is not an admin or a manager" and
says "this API user": they are about the API user the token names, not about
a mailbox. Admins see everything (guess G-my-whose, as on every other listing);
anyone else, managers included, sees the domains it is allowed on (the
document does not say what a manager gets), their mailboxes and aliases,
and the mailboxes its ProConnect identities are linked to.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import models
from ..records import Caller
from .base import Base, atomic


class MyStuff(Base):
    def _visible_domains(self, caller: Caller) -> list[str]:
        domains = self.state.domains
        if caller.is_admin:
            return list(domains)
        mine = [d for _, d in self.state.allows.keys_by("user", caller.name) if d in domains]
        return domains.in_order(mine)

    def _visible_mailboxes(self, caller: Caller, domains: list[str]) -> list[str]:
        # guess G-my-lists: the Dovecot mailboxes (what a user logs into), not OX-only users such as oxadmin
        state = self.state
        found = dict.fromkeys(row.email for domain in domains for row in state.mailboxes.rows_by("domain", domain))
        # Then those its ProConnect identities may open (CONTRACT.md §4.17); guess G-my-lists: its `identities`
        # and its name, People's convention (name = sub), as `GET /users/identity/{p}` reads them.
        user = state.users.get(caller.name)
        subs = dict.fromkeys([*(user.identities if user else ()), caller.name])
        for sub in subs:
            found.update(dict.fromkeys(link.email for link in state.identities.rows_by("proconnect", sub)))
        return list(found)

    def _visible_aliases(self, domains: list[str]) -> Iterator[str]:
        # guess G-my-lists: one address per alias name, however many destinations it has; the domain's public
        # aliases after its own (the user may read both)
        state = self.state
        for domain in domains:
            aliases = [*state.aliases.rows_by("domain", domain), *state.public_aliases.rows_by("domain", domain)]
            yield from dict.fromkeys(f"{alias.local}@{domain}" for alias in aliases)

    @atomic
    def my_domains(self, caller: Caller) -> list[str]:
        return self._visible_domains(caller)

    @atomic
    def my_mailboxes(self, caller: Caller) -> list[str]:
        return self._visible_mailboxes(caller, self._visible_domains(caller))

    @atomic
    def my_aliases(self, caller: Caller) -> list[str]:
        return list(self._visible_aliases(self._visible_domains(caller)))

    @atomic
    def my_resources(self, caller: Caller) -> models.VisibleResources:
        domains = self._visible_domains(caller)
        return models.VisibleResources(
            aliases=list(self._visible_aliases(domains)),
            domains=domains,
            mailboxes=self._visible_mailboxes(caller, domains),
        )
