"""App passwords of an OX mailbox (CONTRACT.md §4.14): the secret is shown once, at creation."""

from __future__ import annotations

import uuid

from .. import errors, models
from ..records import AppPasswordRecord, Caller, MailboxRecord
from .base import atomic, hash_password, new_password
from .passwords import Passwords


class AppPasswords(Passwords):
    def _ox_mailbox(self, caller: Caller, domain_name: str, local: str) -> MailboxRecord:
        row = self._dovecot_row(caller, domain_name, local)
        # guess G-app-passwords (§4.14): app passwords live in OX, so a mailbox without its OX user is not found.
        if self._ox_user(self.state.domains[domain_name], local) is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return row

    @staticmethod
    def _app_password_view(app: AppPasswordRecord) -> models.AppPassword:
        return models.AppPassword(
            uuid=uuid.UUID(app.uuid), name=app.name, type=models.AppPasswordType(app.type),
            login=f"{app.local}@{app.domain}", last_use=app.last_use, client=app.client,
            user_agent=app.user_agent, ip_address=app.ip_address,
        )

    def _app_password(self, caller: Caller, domain_name: str, local: str, key: str) -> AppPasswordRecord:
        row = self._ox_mailbox(caller, domain_name, local)
        app = self.state.app_passwords.get(key)
        if app is None or (app.domain, app.local) != (row.domain, row.local):
            raise errors.not_found(errors.APP_PASSWORD_NOT_FOUND)
        return app

    @atomic
    def list_app_passwords(self, caller: Caller, domain_name: str, local: str) -> list[models.AppPassword]:
        row = self._ox_mailbox(caller, domain_name, local)
        return [self._app_password_view(a) for a in self.state.app_passwords.rows_by("mailbox", (row.domain, row.local))]

    @atomic
    def create_app_password(
        self, caller: Caller, domain_name: str, local: str, body: models.CreateAppPassword
    ) -> models.NewAppPassword:
        row = self._ox_mailbox(caller, domain_name, local)
        password = new_password()
        # guess G-app-passwords: names need not be unique (no 409 is declared); each creation is a new uuid.
        app = AppPasswordRecord(str(uuid.uuid4()), row.domain, row.local, body.name, body.type.value,
                                hash_password(password))
        self.state.app_passwords[app.uuid] = app
        return models.NewAppPassword(uuid=uuid.UUID(app.uuid), password=password)

    @atomic
    def get_app_password(self, caller: Caller, domain_name: str, local: str, key: str) -> models.AppPassword:
        return self._app_password_view(self._app_password(caller, domain_name, local, key))

    @atomic
    def delete_app_password(self, caller: Caller, domain_name: str, local: str, key: str) -> None:
        del self.state.app_passwords[self._app_password(caller, domain_name, local, key).uuid]
