"""The fake dimail's state and every rule that decides an answer, one module per family.

Routes parse and format; everything else is here: who may do what, in which
order the checks run (the order decides which error a client sees first),
and what each operation changes. Each public method either raises before it
changes anything or completes its whole change, so a refused request never
leaves half-written state.

Composition, as fakeredis composes its command families: each family is a
mixin over `Base` (the `State`, its lock, the rights helpers), and `Backend`
is their sum; the routes see one object with every operation. Mixins rather
than collaborators because every family reads the same stores and the same
rights helpers, and some rules cross families (a domain's creation checks it,
a mailbox reads its domain's OX context): one `self` keeps those calls plain.
Where a rule is decided:

- `users.py`: authentication, tokens, API users and their allows;
- `domains.py`: domains and their OX contexts; `checks.py`: check, fix, spec;
- `mailboxes.py`: mailbox creation, v1 paths, views, address;
  `mailboxes_v2.py`: `/v2/` mailboxes; `passwords.py`: passwords, login codes;
- `aliases.py`: aliases; `forwards.py`: forwards; `public_aliases.py`: public aliases;
  `steering.py`: what `/_fake/` drives;
- `my_stuff.py`: `/my/…`; `public.py`: `/public/domains/{d}`, the password webhook;
  `logs.py`: crash logs (the fake's deliberate 500s);
- `system.py`: `/system/…` (rate limits, stores, moves) and the steering of moves and the mail queue;
- `app_passwords.py`, `secondaries.py`, `identities.py`: what hangs on a mailbox besides its password;
- `state.py`: the stores and their indexes; `snapshot.py`: the state as a document.

A new family (forwards, say) is one more mixin here and one routes module.
Rows change only through the stores' own methods (`fake_dimail.store`), which
keep every index and are the one place a persistence layer needs to watch.

Facts come from dimail's CONTRACT.md (see reference/dimail/README.md); the section is named where a
rule is not obvious, and choices the sources leave open name their entry in fake_dimail/guesses.py.
"""

from __future__ import annotations

from .aliases import Aliases
from .app_passwords import AppPasswords
from .base import (
    BOOTSTRAP_USER,
    CREATE_USERS,
    MANAGE_USERS,
    NEW_DOMAIN,
    NO_PASSWORD,
    apply_list_change,
    new_password,
)
from .domains import Domains
from .forwards import Forwards
from .identities import Identities
from .logs import Logs
from .mailboxes_v2 import MailboxesV2
from .my_stuff import MyStuff
from .passwords import Passwords
from .public import Public
from .public_aliases import PublicAliases
from .secondaries import Secondaries
from .state import State
from .steering import PRESETS, Steering
from .system import System
from .users import Users


class Backend(
    Users, Domains, MailboxesV2, AppPasswords, Secondaries, Identities, Passwords, Aliases, Forwards, PublicAliases,
    MyStuff, Public, Logs, Steering, System,
):
    """Every family's rules over one `State`: the object the routes and `FakeDimail` use."""


__all__ = [
    "BOOTSTRAP_USER",
    "CREATE_USERS",
    "MANAGE_USERS",
    "NEW_DOMAIN",
    "NO_PASSWORD",
    "PRESETS",
    "Backend",
    "State",
    "apply_list_change",
    "new_password",
]
