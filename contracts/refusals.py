"""Why dimail refused the bootstrap's credentials, said so that the user knows what to give.

dimail answers the same `403 Permission denied` to an unknown user and to a wrong
password (CONTRACT.md §2.2), so a refusal of People's credentials can only be told
apart with an admin: without one, both causes are named, with the option that
settles the first (`--dimail-admin`: the suite then creates People's user).
"""

from __future__ import annotations

from provisioner.client import Call, DimailRefused


def refused(admin: tuple[str, str] | None, people: tuple[str, str], journal: list[Call], exc: DimailRefused) -> str:
    """The NOT USABLE line for a refusal met while setting People's user up."""
    call = exc.call
    said = f"{call.method} {call.path} answered {call.status}: {exc.detail!r}"
    if admin is not None and call.user == admin[0]:
        return (f"dimail refused the admin credentials (--dimail-admin) of {admin[0]!r}: {said}: {admin[0]!r} is "
                "unknown there, its password is wrong, or it is no administrator (dimail answers them alike; a "
                "dimail that has users is past its empty-database bootstrap, where any credentials would do); "
                "give an administrator's USER:PASSWORD, or no --dimail-admin if People's user is set up already")
    # Good credentials, a missing right: dimail's 2024 server lets only admins read users.
    accepted = next((c for c in journal if c.user == call.user and c.status == 200), None)
    if accepted is not None:
        return (f"People's user cannot be set up: dimail accepts the credentials of {call.user!r} "
                f"({accepted.method} {accepted.path} answered 200) but refused {call.method} {call.path} "
                f"({call.status}: {exc.detail!r}), so its perms cannot be checked; give --dimail-admin USER:PASSWORD")
    if admin is not None:  # the admin created People's user, or saw it there: only the password can be wrong
        return (f"dimail refused People's credentials (--dimail-people) of {call.user!r}: {said}: the user exists "
                "there (the admin found it), so its password is wrong, or it has none (created with `no`); "
                "give its password with --dimail-people USER:PASSWORD")
    return (f"dimail refused People's credentials (--dimail-people) of {people[0]!r}: {said}: People's user is "
            "unknown there, or its password is wrong (dimail answers both alike); if it is unknown, give "
            "--dimail-admin USER:PASSWORD and the suite will create it, else give its password with --dimail-people")
