"""What a state document must satisfy before `load` puts it in place: the references the backend keeps.

The backend never holds a mailbox of a missing domain, a login code of a
missing mailbox or an allow on a missing domain (each deletion takes them
along, each creation checks); a document that holds one would make later
answers lie, so it is refused, naming the first such reference. What the
backend itself can hold is accepted, so every snapshot loads back.
"""

from __future__ import annotations

from typing import Any

from .. import errors


def first_problem(document: dict[str, Any], stores: dict[str, Any]) -> str | None:
    domains, mailboxes = stores["domains"], stores["mailboxes"]
    for user, domain in stores["allows"]:
        if domain not in domains:
            return errors.state_problem(f"allows ({user!r}, {domain!r})", f"{domain!r} is not a domain")
    for domain, local in mailboxes:
        if domain not in domains:
            return errors.state_problem(f"mailboxes {local}@{domain}", f"{domain!r} is not a domain")
    for code in stores["codes"].values():
        if (code.domain, code.local) not in mailboxes:
            return errors.state_problem(f"codes {code.code!r}", f"{code.local}@{code.domain} is not a mailbox")
    # Not checked, as the backend can hold them: an allow or a manager naming a deleted user (a caller
    # deleted mid-session may still create), aliases of a missing domain (aliases.py, §6 #15), a context
    # still mapping a deleted domain (domains.py: dimail leaves OX as it is).
    if len(stores["contexts"]) < len(document.get("contexts", [])):
        return errors.state_problem("contexts", "two contexts with the same id")
    return None
