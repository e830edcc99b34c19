"""Fakes whose authorization rule is wrong in one place, or whose list edits are (`--dimail-app
tests.mutants_matrix:NAME`): each is a plausible bug of a dimail version, written after the matrix, to check
that the `authz` and `edits` families catch it and name the cell. `CAUGHT` says, for each, the cells
(row id, caller class) the authz family must report broken — no more, no fewer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fake_dimail import errors
from fake_dimail.errors import ApiError
from fake_dimail.fake import FakeDimail
from fake_dimail.records import Caller

MANAGE_USERS = "manage_users"
_BOX = "POST /domains/{domain_name}/mailboxes/{user_name}"


def _fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


def _as_admin(caller: Caller) -> Caller:
    return replace(caller, is_admin=True)


def mailbox_on_any_allowed_domain() -> Any:
    """A token user allowed on some domain creates mailboxes on every domain: the allow's domain is not compared
    (the 201 instead of dimail's 403 `Permisison denied` that People met in production)."""
    fake = _fake()
    backend, real = fake.backend, fake.backend.create_mailbox

    def create(caller: Caller, domain: str, local: str, body: Any) -> Any:
        if backend.allows.keys_by("user", caller.name):
            caller = _as_admin(caller)
        return real(caller, domain, local, body)

    backend.create_mailbox = create  # type: ignore[method-assign]
    return fake.app


def managers_list_every_user() -> Any:
    """A user holding manage_users, not an admin, lists every API user (not only itself and its own users)."""
    fake = _fake()
    real = fake.backend.list_users
    fake.backend.list_users = lambda caller: real(  # type: ignore[method-assign]
        _as_admin(caller) if MANAGE_USERS in caller.perms else caller)
    return fake.app


def domain_read_refused_with_403() -> Any:
    """GET /domains/{d} refuses a user who is not allowed with 403 `Permission denied`, not dimail's 401
    `Not authorized.` (People's status fetch reads the status)."""
    fake = _fake()
    real = fake.backend.get_domain

    def get(caller: Caller, name: str) -> Any:
        try:
            return real(caller, name)
        except ApiError as exc:
            if exc.status == 401:
                raise errors.forbidden() from None
            raise

    fake.backend.get_domain = get  # type: ignore[method-assign]
    return fake.app


def check_by_new_domain() -> Any:
    """`/check` is allowed to any holder of new_domain, allowed on the domain or not."""
    fake = _fake()
    real = fake.backend.check_domain
    fake.backend.check_domain = lambda caller, name: real(  # type: ignore[method-assign]
        _as_admin(caller) if "new_domain" in caller.perms else caller, name)
    return fake.app


def grant_without_manage_users() -> Any:
    """A user allowed on a domain grants allows on it without holding manage_users."""
    fake = _fake()
    real = fake.backend.create_allow
    fake.backend.create_allow = lambda caller, body: real(  # type: ignore[method-assign]
        replace(caller, perms=caller.perms | {MANAGE_USERS}), body)
    return fake.app


def users_manage_themselves() -> Any:
    """A user counts as its own manager: it may edit (and delete) itself."""
    fake = _fake()
    real = fake.backend._manages
    fake.backend._manages = lambda caller, user: (  # type: ignore[method-assign]
        real(caller, user) or caller.name == user.name)
    return fake.app


def refused_mailbox_deletion_deletes() -> Any:
    """DELETE of a mailbox by a user who is not allowed answers dimail's 403, after deleting it."""
    fake = _fake()
    backend, real = fake.backend, fake.backend.delete_mailbox

    def delete(caller: Caller, domain: str, local: str) -> None:
        allowed = caller.is_admin or (caller.name, domain) in backend.allows
        real(_as_admin(caller), domain, local)
        if not allowed:
            raise errors.forbidden()

    backend.delete_mailbox = delete  # type: ignore[method-assign]
    return fake.app


def minus_perm_ignored() -> Any:
    """PATCH /users/{name}: `-perm` items are ignored (the `+perm` ones and plain sets work)."""
    fake = _fake()
    real = fake.backend.update_user

    def update(caller: Caller, name: str, body: Any) -> Any:
        if body.perms:
            kept = [item for item in body.perms if not item.startswith("-")]
            body = body.model_copy(update={"perms": kept or None})
        return real(caller, name, body)

    fake.backend.update_user = update  # type: ignore[method-assign]
    return fake.app


_NOT_ALLOWED = ("perm_no_allow", "other_domain", "manager", "not_manager", "itself")
CAUGHT: dict[str, set[tuple[str, str]]] = {
    "mailbox_on_any_allowed_domain": {(_BOX, "other_domain")},
    "managers_list_every_user": {("GET /users/", k) for k in ("people", "perm_no_allow", "manager", "not_manager")},
    "domain_read_refused_with_403": {("GET /domains/{domain_name}", k) for k in _NOT_ALLOWED},
    "check_by_new_domain": {("GET /domains/{domain_name}/check", "perm_no_allow")},
    "grant_without_manage_users": {("POST /allows/", "allowed")},
    "users_manage_themselves": {("PATCH /users/{user} (acls: +x)", "itself"), ("DELETE /users/{user_name}", "itself")},
    "refused_mailbox_deletion_deletes": {("DELETE /domains/{domain_name}/mailboxes/{user_name}", k)
                                         for k in _NOT_ALLOWED},
}
