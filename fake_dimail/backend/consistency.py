"""What a state document must satisfy before `load` puts it in place: every reference names a row.

The HTTP API can never produce an allow for a missing user or a mailbox of
a missing domain; a document that holds one would make later answers crash
or lie, so it is refused, naming the first such reference.
"""

from __future__ import annotations

from typing import Any

from .. import errors


def first_problem(document: dict[str, Any], stores: dict[str, Any]) -> str | None:
    users, domains, mailboxes = stores["users"], stores["domains"], stores["mailboxes"]
    for user in users.values():
        if user.manager is not None and user.manager not in users:
            return errors.state_problem(f"users {user.name!r}", f"manager {user.manager!r} is not a user")
    for user, domain in stores["allows"]:
        if user not in users:
            return errors.state_problem(f"allows ({user!r}, {domain!r})", f"{user!r} is not a user")
        if domain not in domains:
            return errors.state_problem(f"allows ({user!r}, {domain!r})", f"{domain!r} is not a domain")
    for domain, local in mailboxes:
        if domain not in domains:
            return errors.state_problem(f"mailboxes {local}@{domain}", f"{domain!r} is not a domain")
    for domain, local, destination in stores["aliases"]:
        if domain not in domains:
            return errors.state_problem(f"aliases {local}@{domain} -> {destination}", f"{domain!r} is not a domain")
    for code in stores["codes"].values():
        if (code.domain, code.local) not in mailboxes:
            return errors.state_problem(f"codes {code.code!r}", f"{code.local}@{code.domain} is not a mailbox")
    if len(stores["contexts"]) < len(document.get("contexts", [])):
        return errors.state_problem("contexts", "two contexts with the same id")
    mapped: dict[str, int] = {}
    for context in stores["contexts"].values():
        for domain in context.domains:
            if domain not in domains:
                return errors.state_problem(f"contexts {context.id}", f"{domain!r} is not a domain")
            if domain in mapped:
                return errors.state_problem(f"contexts {context.id}", f"{domain!r} is in context {mapped[domain]} too")
            mapped[domain] = context.id
    return None
