"""Thin routes, one module per resource family: parse, call the backend, format."""

from . import (
    aliases, allows, app_passwords, control, control_state, docs, domains, forwards, identities, mailboxes,
    mailboxes_v2, public_aliases, secondaries, system, token, ui, users,
)
from . import logs, my_stuff, public  # my/, public, webhook, logs

ROUTERS = [
    token.router,
    users.router,
    allows.router,
    domains.router,
    mailboxes.router,
    mailboxes.code_router,
    mailboxes.address_router,
    mailboxes_v2.router,
    aliases.router,
    forwards.router,
    public_aliases.router,
    system.router,
    app_passwords.router,
    secondaries.router,
    identities.router,
    identities.mailbox_router,
    my_stuff.router,
    public.router,
    public.webhook_router,
    logs.router,
    control.router,
    control_state.router,
    ui.router,
    docs.router,
]
