"""Mailboxes, v1 paths, and what v1 and v2 share: creation, views, edit checks, address (CONTRACT.md §4.5, §4.10).

A mailbox is a Dovecot row (`state.mailboxes`) and, in a webmail domain, an
OX user in the domain's context; listings show both sides, matched by e-mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import errors, models
from ..errors import ServerCrash
from ..models import Row
from ..records import Caller, DomainRecord, MailboxRecord, OxContext, OxUser
from .base import Base, atomic, hash_password, new_password



class Mailboxes(Base):
    def _ox_context_of(self, domain: DomainRecord) -> OxContext | None:
        return self.state.context_of(domain.name) if "webmail" in domain.features else None

    def _ox_user(self, domain: DomainRecord, local: str) -> OxUser | None:
        context = self._ox_context_of(domain)
        return context.user_by_email(f"{local}@{domain.name}") if context else None

    def _refuse_duplicate(self, domain: DomainRecord, local: str, display_name: str) -> None:
        """A duplicate crashes the real server: People relies on that bare 500 (§6 #3)."""
        if (domain.name, local) in self.state.mailboxes:
            raise ServerCrash("dovecot mailbox already exists")
        self._refuse_duplicate_ox(domain, local, display_name)

    def _refuse_duplicate_ox(self, domain: DomainRecord, local: str, display_name: str) -> None:
        """OX usernames are unique per context; People found display names are too, case aside."""
        context = self._ox_context_of(domain)
        if context is None:
            return
        if local in context.users:
            raise ServerCrash("OX username already used in the context")
        if context.users.count_by("display_name", display_name.casefold()):
            raise ServerCrash("OX display name already used in the context")

    def _add_mailbox(
        self, domain: DomainRecord, local: str, names: tuple[str, str, str] | None, **dovecot: Any
    ) -> models.NewMailbox:
        password = new_password()
        if names is not None:
            context = self._ox_context_of(domain)
            assert context is not None
            given, sur, display = names
            context.users[local] = OxUser(local, f"{local}@{domain.name}", given, sur, display)
        self.state.mailboxes[(domain.name, local)] = MailboxRecord(domain.name, local, hash_password(password), **dovecot)
        return models.NewMailbox(email=f"{local}@{domain.name}", password=password)

    @atomic
    def create_mailbox(self, caller: Caller, domain_name: str, local: str, body: models.CreateMailbox) -> models.NewMailbox:
        self._require_allowed(caller, domain_name, errors.PERMISSION_DENIED_TYPO)
        # guess G-mailbox-unknown-domain: an admin's unknown domain is v0.8.2's declared 404 (2024 crashed).
        domain = self._domain(domain_name)
        given, sur = body.givenName or "", body.surName or ""
        # The display name sent is ignored: OX gets "given sur" (§6 #7); guess G-display-name: blank falls back
        # to the local part.
        display = f"{given} {sur}".strip() or local
        self._refuse_duplicate(domain, local, display)
        names = (given, sur, display) if self._ox_context_of(domain) else None
        return self._add_mailbox(
            domain,
            local,
            names,
            additional_senders=list(body.additionalSenders or []),
            rate_limit=body.rate_limit,
            store=body.store,
        )

    def _mailbox_scope(self, caller: Caller, domain_name: str) -> DomainRecord:
        self._require_allowed(caller, domain_name)
        return self._domain(domain_name)

    def _listing(self, domain: DomainRecord) -> Iterator[tuple[str, MailboxRecord | None, OxUser | None]]:
        """A domain's listing, by e-mail: each entry's Dovecot row and OX user, either possibly missing.
        A webmail domain lists its whole OX context: the other domains' users and oxadmin too."""
        rows = {row.email: row for row in self.state.mailboxes.rows_by("domain", domain.name)}
        context = self._ox_context_of(domain)
        users = dict(context.users.first_rows("email")) if context is not None else {}
        for email in sorted(rows.keys() | users.keys()):
            yield email, rows.get(email), users.get(email)

    def _entry(self, domain: DomainRecord, email: str) -> tuple[MailboxRecord | None, OxUser | None]:
        local, _, host = email.rpartition("@")
        row = self.state.mailboxes.get((domain.name, local)) if host == domain.name else None
        context = self._ox_context_of(domain)
        return row, context.user_by_email(email) if context else None

    @staticmethod
    def _status(domain: DomainRecord, row: MailboxRecord | None, ox: OxUser | None) -> str:
        if "webmail" in domain.features:
            return "ok" if row and ox else "broken"
        return "ok" if row and not ox else "broken"

    @staticmethod
    def _v1_active(row: MailboxRecord | None) -> str:
        if row is None:
            return "unknown"
        imap, smtp = row.imap_active, row.smtp_active
        if imap == "wait" or smtp == "wait":
            return "wait"
        return "yes" if imap == smtp == "yes" else "no"

    def _mailbox_row(self, domain: DomainRecord, email: str, row: MailboxRecord | None, ox: OxUser | None) -> Row:
        return {
            "type": "mailbox",
            "status": self._status(domain, row, ox),
            "active": self._v1_active(row),
            "email": email,
            "givenName": ox.given_name if ox else None,
            "surName": ox.sur_name if ox else None,
            "displayName": ox.display_name if ox else None,
            "additionalSenders": tuple(row.additional_senders) if row else (),
            "rate_limit": row.rate_limit if row else None,
        }

    def _mailbox_view(self, domain: DomainRecord, email: str) -> models.Mailbox:
        return models.Mailbox.model_validate(self._mailbox_row(domain, email, *self._entry(domain, email)))

    @atomic
    def list_mailboxes(self, caller: Caller, domain_name: str) -> models.Listing[models.Mailbox]:
        domain = self._mailbox_scope(caller, domain_name)
        rows = (self._mailbox_row(domain, *entry) for entry in self._listing(domain))
        return models.Listing(models.Mailbox, rows)

    def _existing_email(self, domain: DomainRecord, local: str) -> str:
        email = f"{local}@{domain.name}"
        row, ox = self._entry(domain, email)
        if row is None and ox is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return email

    @atomic
    def get_mailbox(self, caller: Caller, domain_name: str, local: str) -> models.Mailbox:
        domain = self._mailbox_scope(caller, domain_name)
        return self._mailbox_view(domain, self._existing_email(domain, local))

    def _editable_mailbox(
        self, caller: Caller, domain_name: str, local: str, target_domain: str | None, user_name: str | None
    ) -> tuple[DomainRecord, MailboxRecord, OxUser | None]:
        """The checks PATCH v1 and v2 share, in the real server's order (§4.5)."""
        domain = self._mailbox_scope(caller, domain_name)
        if target_domain is not None:
            self._require_allowed(caller, target_domain)
            if target_domain not in self.state.domains:
                raise errors.not_found(errors.TARGET_DOMAIN_NOT_FOUND)
            raise errors.unprocessable(errors.NOT_YET_IMPLEMENTED)
        if "mailbox" not in domain.features:
            raise errors.unprocessable(errors.feature_not_available("mailbox"))
        row = self.state.mailboxes.get((domain_name, local))
        if row is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        if user_name is not None:
            raise errors.unprocessable(errors.NOT_YET_IMPLEMENTED)
        ox = None
        if "webmail" in domain.features:
            context = self.state.context_of(domain_name)
            if context is None:
                raise errors.not_found(errors.OX_DOMAIN_NOT_FOUND)
            ox = context.user_by_email(row.email)
            if ox is None:
                raise errors.not_found(errors.OX_MAILBOX_NOT_FOUND)
        return domain, row, ox

    @staticmethod
    def _activity(caller: Caller, current: str, wanted: models.MailboxActive | None) -> str:
        if wanted is None or wanted is models.MailboxActive.unknown:
            return current
        if models.MailboxActive.wait in (wanted, current) and wanted.value != current and not caller.is_admin:
            raise errors.forbidden()  # only admins set or clear "wait" [spec]
        return wanted.value

    def _rename_ox(self, domain: DomainRecord, ox: OxUser, given: str | None, sur: str | None, display: str | None) -> None:
        """Names are written as sent, an absent one kept; the display name is not recomputed (§6 #7)."""
        context = self.state.context_of(domain.name)
        assert context is not None
        names = {"given_name": given, "sur_name": sur, "display_name": display}
        context.users.modify(ox.username, **{k: v for k, v in names.items() if v is not None})

    @atomic
    def update_mailbox(self, caller: Caller, domain_name: str, local: str, body: models.UpdateMailbox) -> models.Mailbox:
        domain, row, ox = self._editable_mailbox(caller, domain_name, local, body.domain, body.user_name)
        active = self._activity(caller, self._v1_active(row), body.active)
        if ox is not None:
            self._rename_ox(domain, ox, body.givenName, body.surName, body.displayName)
        changes = self._dovecot_changes(body.additionalSenders, body.rate_limit, body.store)
        if body.active not in (None, models.MailboxActive.unknown):
            changes.update(imap_active=active, smtp_active=active)
        self.state.mailboxes.modify((domain_name, local), **changes)
        return self._mailbox_view(domain, row.email)

    @staticmethod
    def _dovecot_changes(senders: list[str] | None, rate_limit: str | None, store: str | None) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if senders is not None:
            changes["additional_senders"] = list(senders)
        if rate_limit is not None:
            changes["rate_limit"] = rate_limit
        if store is not None:
            changes["store"] = store
        return changes

    @atomic
    def delete_mailbox(self, caller: Caller, domain_name: str, local: str) -> None:
        domain, row, ox = self._editable_mailbox(caller, domain_name, local, None, None)
        if ox is not None:
            context = self.state.context_of(domain_name)
            assert context is not None
            del context.users[ox.username]
        self.state.delete_mailbox(domain_name, local)

    # --- address (CONTRACT.md §4.10) ---------------------------------------

    @atomic
    def address(self, caller: Caller, domain_name: str, local: str) -> models.Address:
        domain = self._mailbox_scope(caller, domain_name)
        context = self._ox_context_of(domain)
        ox = None
        if context is not None:
            ox = context.users.get(local) or context.user_by_email(f"{local}@{domain_name}")
        return models.Address.model_construct(
            domain_name=domain_name,
            user_name=local,
            is_alias=self.state.aliases.count_by("name", (domain_name, local)) > 0
            or (domain_name, local) in self.state.public_aliases,
            is_mailbox=(domain_name, local) in self.state.mailboxes,
            is_forward=(domain_name, local) in self.state.forwards,
            is_ox=ox is not None,
            ox_primary_email=ox.email if ox else None,
            ox_senders=list(ox.senders) if ox else None,
        )
