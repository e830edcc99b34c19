"""Mailbox passwords and login codes (CONTRACT.md §4.7, §4.8)."""

from __future__ import annotations

import secrets

from .. import errors, models
from ..records import Caller, CodeRecord, MailboxRecord
from .base import atomic, hash_password, new_password, verify_password
from .mailboxes import Mailboxes


class Passwords(Mailboxes):
    def _dovecot_row(self, caller: Caller, domain_name: str, local: str) -> MailboxRecord:
        self._mailbox_scope(caller, domain_name)
        row = self.state.mailboxes.get((domain_name, local))
        if row is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return row

    def _set_hashes(self, row: MailboxRecord, password_hash: str | None, saved_hash: str | None) -> None:
        self.state.mailboxes.modify((row.domain, row.local), password_hash=password_hash, saved_hash=saved_hash)

    @atomic
    def reset_password(self, caller: Caller, domain_name: str, local: str) -> models.NewMailbox:
        row = self._dovecot_row(caller, domain_name, local)
        password = new_password()
        self._set_hashes(row, hash_password(password), row.saved_hash)
        return models.NewMailbox(email=row.email, password=password)

    @atomic
    def force_password(
        self, caller: Caller, domain_name: str, local: str, body: models.MailboxForcePassword
    ) -> models.NewMailbox:
        row = self._dovecot_row(caller, domain_name, local)
        if body.restore_password:
            if row.saved_hash is None:
                raise errors.not_found(errors.NO_SAVED_PASSWORD)
            # Only a hash was kept: the clear password cannot be shown (guess G-force-password: "").
            self._set_hashes(row, row.saved_hash, None)
            return models.NewMailbox(email=row.email, password="")
        password = body.password if body.password is not None else new_password()  # guess G-force-password: null generates
        self._set_hashes(row, hash_password(password), row.password_hash if body.save_password else row.saved_hash)
        return models.NewMailbox(email=row.email, password=password)

    @atomic
    def check_password(self, caller: Caller, domain_name: str, local: str, password: str) -> bool:
        row = self._dovecot_row(caller, domain_name, local)
        # guess G-check-password-app: the document is silent; an app password opens the mailbox too, so it checks as true.
        apps = self.state.app_passwords.rows_by("mailbox", (domain_name, local))
        return any(verify_password(password, stored) for stored in [row.password_hash, *(a.password_hash for a in apps)])

    # --- login codes (CONTRACT.md §4.7) ------------------------------------

    @atomic
    def create_code(
        self, caller: Caller, domain_name: str, local: str, body: models.CreateMailboxCode
    ) -> models.MailboxCode:
        row = self._dovecot_row(caller, domain_name, local)
        now = int(self.clock())
        expires_at = None if body.expires_in is None else now + body.expires_in
        record = CodeRecord(secrets.token_urlsafe(24), row.domain, row.local, expires_at, body.maxuse)
        self.state.codes[record.code] = record
        return self._code_view(record)

    @atomic
    def use_code(self, caller: Caller, code: str) -> models.MailboxCode:
        record = self.state.codes.get(code)
        now = self.clock()
        usable = record is not None and (
            (record.expires_at is None or now < record.expires_at)
            and (record.maxuse is None or record.nbuse < record.maxuse)
            and (record.domain, record.local) in self.state.mailboxes
        )
        if not usable:
            raise errors.not_found(errors.CODE_NOT_FOUND)
        assert record is not None
        self._refuse_moving(record.domain)
        return self._code_view(self.state.codes.modify(code, nbuse=record.nbuse + 1))

    def _code_view(self, record: CodeRecord) -> models.MailboxCode:
        # "time left" is computed as the answer is built: 3600 reads 3599 (People's fixture).
        left = None if record.expires_at is None else max(0, int(record.expires_at - self.clock() - 1e-9))
        return models.MailboxCode(
            email=f"{record.local}@{record.domain}",
            code=record.code,
            expires_at=record.expires_at,
            expires_in=left,
            maxuse=record.maxuse,
            nbuse=record.nbuse,
        )
