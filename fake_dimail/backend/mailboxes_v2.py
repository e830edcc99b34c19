"""Mailboxes under `/v2/`: features (`ox`, `schedule`) and their extras (CONTRACT.md §4.6)."""

from __future__ import annotations

from typing import Any

from .. import errors, models
from ..models import Row
from ..records import Caller, DomainRecord, MailboxRecord, OxUser
from .base import apply_list_change, atomic
from .mailboxes import Mailboxes

_ACTIVE = {member.value: member.value for member in models.MailboxActive}
# A mailbox's features, by (has an OX user, has a schedule).
_FEATURES = {(False, False): (), (True, False): ("ox",), (False, True): ("schedule",), (True, True): ("ox", "schedule")}


class MailboxesV2(Mailboxes):
    def _mailbox2_row(
        self, email: str, row: MailboxRecord | None, ox: OxUser | None, with_extras: bool
    ) -> Row:
        schedule = row.schedule_max if row else None
        extras = None
        if with_extras:
            extras = {
                "ox": {"given_name": ox.given_name, "sur_name": ox.sur_name, "display_name": ox.display_name}
                if ox else None,
                "schedule": {"max": schedule} if schedule is not None else None,
            }
        return {
            "type": "mailbox",
            # A value an import left that is no MailboxActive: the real server fails to answer (500).
            "imap_active": _ACTIVE[row.imap_active] if row else "unknown",
            "smtp_active": _ACTIVE[row.smtp_active] if row else "unknown",
            "email": email,
            "features": _FEATURES[ox is not None, schedule is not None],
            "extras": extras,
            "dirty_quirks": {"ox-config": {}} if ox else None,
            "additionalSenders": tuple(row.additional_senders) if row else (),
            "rate_limit": row.rate_limit if row else None,
            "quota": row.quota if row else None,
        }

    def _mailbox2_view(self, domain: DomainRecord, email: str, with_extras: bool) -> models.Mailbox2:
        return models.Mailbox2.model_validate(self._mailbox2_row(email, *self._entry(domain, email), with_extras))

    @atomic
    def list_mailboxes_v2(
        self, caller: Caller, domain_name: str, with_extras: bool
    ) -> models.Listing[models.Mailbox2]:
        domain = self._mailbox_scope(caller, domain_name)
        rows = (self._mailbox2_row(*entry, with_extras) for entry in self._listing(domain))
        return models.Listing(models.Mailbox2, rows)

    @atomic
    def get_mailbox_v2(self, caller: Caller, domain_name: str, local: str, with_extras: bool) -> models.Mailbox2:
        domain = self._mailbox_scope(caller, domain_name)
        return self._mailbox2_view(domain, self._existing_email(domain, local), with_extras)

    @atomic
    def create_mailbox_v2(
        self, caller: Caller, domain_name: str, local: str, body: models.CreateMailbox2
    ) -> models.NewMailbox:
        domain = self._mailbox_scope(caller, domain_name)
        features = {f.value for f in body.features}
        names = None
        if "ox" in features:
            if "webmail" not in domain.features:
                raise errors.unprocessable(errors.feature_not_available("webmail"))
            if body.extras is None or body.extras.ox is None:
                raise errors.unprocessable(errors.MISSING_OX_EXTRAS)
            ox = body.extras.ox
            names = (ox.given_name, ox.sur_name, ox.display_name)
        self._refuse_duplicate(domain, local, names[2] if names else "\0")
        schedule = None
        if "schedule" in features:
            schedule = body.extras.schedule.max if body.extras and body.extras.schedule else 12
        return self._add_mailbox(
            domain,
            local,
            names,
            schedule_max=schedule,
            additional_senders=list(body.additionalSenders or []),
            rate_limit=body.rate_limit,
            store=body.store,
            quota=body.quota,
        )

    @atomic
    def update_mailbox_v2(
        self, caller: Caller, domain_name: str, local: str, body: models.UpdateMailbox2
    ) -> models.Mailbox2:
        domain, row, ox = self._v2_editable(caller, domain_name, local, body)
        current = (["ox"] if ox else []) + (["schedule"] if row.schedule_max is not None else [])
        features = current if body.features is None else apply_list_change(current, body.features)
        unknown = [f for f in features if f not in models.MailboxFeature.__members__]
        if unknown:
            raise errors.unprocessable(errors.unknown_feature(unknown[0]))
        extras = body.extras
        new_ox = None
        if "ox" in features and ox is None:
            if "webmail" not in domain.features:
                raise errors.unprocessable(errors.feature_not_available("webmail"))
            names = extras.ox if extras else None
            if names is None or None in (names.given_name, names.sur_name, names.display_name):
                raise errors.unprocessable(errors.MISSING_OX_EXTRAS)
            self._refuse_duplicate_ox(domain, local, names.display_name or "")
            new_ox = OxUser(local, row.email, names.given_name or "", names.sur_name or "", names.display_name or "")
        imap = self._activity(caller, row.imap_active, body.imap_active)
        smtp = self._activity(caller, row.smtp_active, body.smtp_active)
        # Every refusal is behind us: apply.
        context = self.state.context_of(domain_name)
        if new_ox is not None and context is not None:
            context.users[local] = new_ox
        elif "ox" not in features and ox is not None and context is not None:
            del context.users[ox.username]
            self.state.delete_by("app_passwords", (domain_name, local), "mailbox")  # they lived in OX
        elif ox is not None and extras is not None and extras.ox is not None:
            self._rename_ox(domain, ox, extras.ox.given_name, extras.ox.sur_name, extras.ox.display_name)
        changes: dict[str, Any] = {"schedule_max": None}
        if "schedule" in features:
            schedule = extras.schedule.max if extras and extras.schedule else None
            changes["schedule_max"] = schedule if schedule is not None else (row.schedule_max or 12)
        changes.update(imap_active=imap, smtp_active=smtp)
        changes.update(self._dovecot_changes(body.additionalSenders, body.rate_limit, body.store))
        if body.quota is not None:
            changes["quota"] = body.quota or None
        self.state.mailboxes.modify((domain_name, local), **changes)
        return self._mailbox2_view(domain, row.email, True)

    def _v2_editable(
        self, caller: Caller, domain_name: str, local: str, body: models.UpdateMailbox2
    ) -> tuple[DomainRecord, MailboxRecord, OxUser | None]:
        domain = self._mailbox_scope(caller, domain_name)
        if body.domain is not None or body.user_name is not None:
            return self._editable_mailbox(caller, domain_name, local, body.domain, body.user_name)
        if "mailbox" not in domain.features:
            raise errors.unprocessable(errors.feature_not_available("mailbox"))
        row = self.state.mailboxes.get((domain_name, local))
        if row is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return domain, row, self._ox_user(domain, local)
