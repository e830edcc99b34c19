"""Named sets of API users a fake can start with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserSeed:
    name: str
    password: str
    is_admin: bool = False
    perms: tuple[str, ...] = ()


# What People's `setup_dimail_db` leaves in a fresh dimail (PEOPLE.md §3, steps 1-2):
# People's default credentials (base64 of la_regie:password) work unchanged.
PEOPLE_DEV = (
    UserSeed("admin", "admin", is_admin=True),
    UserSeed("la_regie", "password", perms=("new_domain", "create_users", "manage_users")),
)

SEEDS: dict[str, tuple[UserSeed, ...]] = {"people-dev": PEOPLE_DEV, "empty": ()}
