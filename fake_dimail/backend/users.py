"""API users, their allows, authentication and tokens (CONTRACT.md §2, §4.1 to §4.3)."""

from __future__ import annotations

from .. import errors, models
from ..models import Row
from ..records import Caller, UserRecord
from .base import (
    BOOTSTRAP_USER,
    CREATE_USERS,
    MANAGE_USERS,
    NO_PASSWORD,
    Base,
    apply_list_change,
    atomic,
    hash_password,
    verify_password,
)


class Users(Base):
    # --- authentication (CONTRACT.md §2) ----------------------------------

    @atomic
    def authenticate_basic(self, name: str, password: str) -> Caller:
        if not self.state.users:
            return Caller(BOOTSTRAP_USER, is_admin=True)
        user = self.state.users.get(name)
        if user is None or not verify_password(password, user.password_hash):
            raise errors.forbidden()
        return self._caller(user)

    @atomic
    def caller_for_token(self, subject: str) -> Caller:
        """Tokens carry only a name: rights are read again at every request."""
        user = self.state.users.get(subject)
        if user is None:
            raise errors.forbidden()
        return self._caller(user)

    @atomic
    def token_subject(self, caller: Caller, username: str | None) -> str:
        """Whose token `GET /token/` may issue (CONTRACT.md §4.1)."""
        if not username or username == caller.name:
            return caller.name
        target = self.state.users.get(username)
        if target is None:
            raise errors.not_found(errors.USER_NOT_FOUND)
        if not (caller.is_admin or self._manages(caller, target)):
            raise errors.forbidden()
        return username

    @staticmethod
    def _caller(user: UserRecord) -> Caller:
        return Caller(user.name, user.is_admin, frozenset(user.perms))

    # --- users (CONTRACT.md §4.2) ------------------------------------------

    @atomic
    def list_users(self, caller: Caller) -> models.Listing[models.User]:
        users = self.state.users
        if caller.is_admin:
            return models.Listing(models.User, (self._user_row(u) for u in users.values()))
        if not self._has(caller, MANAGE_USERS):
            raise errors.forbidden()
        names = {*users.keys_by("manager", caller.name), *([caller.name] if caller.name in users else [])}
        return models.Listing(models.User, (self._user_row(users[n]) for n in users.in_order(names)))

    @atomic
    def create_user(self, caller: Caller, body: models.CreateUser) -> models.User:
        return self._user_view(self.new_user(caller, body))

    @atomic
    def new_user(self, caller: Caller, body: models.CreateUser) -> UserRecord:
        """`create_user` without its answer: the stored user (seeding's way in)."""
        if not caller.is_admin:
            may = (
                CREATE_USERS in caller.perms
                and not body.is_admin
                and set(body.perms) <= caller.perms
            )
            if not may:
                raise errors.forbidden()
        if body.name in self.state.users:
            raise errors.conflict(errors.USER_EXISTS)
        user = UserRecord(
            name=body.name,
            password_hash=None if body.password == NO_PASSWORD else hash_password(body.password),
            is_admin=body.is_admin,
            perms=list(dict.fromkeys(body.perms)),
            acls=list(body.acls),
            identities=list(body.identities),
            manager=None if caller.is_admin else caller.name,
        )
        self.state.users[user.name] = user
        return user

    @atomic
    def get_user(self, caller: Caller, name: str) -> models.User:
        user = self.state.users.get(name)
        if user is None:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._require_may_read(caller, user)
        return self._user_view(user)

    @atomic
    def get_user_by_identity(self, caller: Caller, identity: str) -> models.User:
        # guess G-user-by-identity: an explicit identity wins, then People's convention (name = ProConnect sub).
        users = self.state.users
        holders = users.keys_by("identity", identity)
        user = users[users.in_order(holders)[0]] if holders else users.get(identity)
        if user is None:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._require_may_read(caller, user)
        return self._user_view(user)

    def _require_may_read(self, caller: Caller, user: UserRecord) -> None:
        if not (caller.is_admin or caller.name == user.name or self._manages(caller, user)):
            raise errors.forbidden()

    @atomic
    def update_user(self, caller: Caller, name: str, body: models.UpdateUser) -> models.User:
        user = self.state.users.get(name)
        if user is None:
            raise errors.not_found(errors.NOT_FOUND)
        if not (caller.is_admin or self._manages(caller, user)):
            raise errors.forbidden()
        perms = user.perms if body.perms is None else apply_list_change(user.perms, body.perms)
        acls = user.acls if body.acls is None else apply_list_change(user.acls, body.acls)
        identities = (
            user.identities if body.identities is None else apply_list_change(user.identities, body.identities)
        )
        if not caller.is_admin and (body.is_admin or not set(perms) - set(user.perms) <= caller.perms):
            raise errors.forbidden()
        changes = {"perms": perms, "acls": acls, "identities": identities}
        if body.password is not None:
            changes["password_hash"] = None if body.password == NO_PASSWORD else hash_password(body.password)
        if body.is_admin is not None:
            changes["is_admin"] = body.is_admin
        return self._user_view(self.state.users.modify(name, **changes))

    @atomic
    def delete_user(self, caller: Caller, name: str) -> None:
        user = self.state.users.get(name)
        if user is None:
            raise errors.not_found(errors.NOT_FOUND)
        if not (caller.is_admin or self._manages(caller, user)):
            raise errors.forbidden()
        self.state.delete_user(name)

    @staticmethod
    def _user_row(user: UserRecord) -> Row:
        return {
            "name": user.name,
            "is_admin": user.is_admin,
            "uuid": str(user.uuid),
            "perms": tuple(user.perms),
            "acls": tuple(user.acls),
            "identities": tuple(user.identities),
        }

    def _user_view(self, user: UserRecord) -> models.User:
        return models.User.model_validate(self._user_row(user))

    # --- allows (CONTRACT.md §4.3) -----------------------------------------

    @atomic
    def list_allows(self, caller: Caller, username: str, domain: str) -> models.Listing[models.Allowed]:
        if not self._has(caller, MANAGE_USERS):
            raise errors.forbidden()
        allows = self.state.allows
        if username and domain:
            keys = [(username, domain)] if (username, domain) in allows else []
        elif username:
            keys = allows.keys_by("user", username)
        elif domain:
            keys = allows.keys_by("domain", domain)
        elif caller.is_admin:
            keys = list(allows)
        else:
            # Only the domains the caller is allowed on can show up: gather theirs, in store order.
            mine = [d for _, d in allows.keys_by("user", caller.name)]
            keys = allows.in_order(k for d in mine for k in allows.keys_by("domain", d))
        rows = ({"user": u, "domain": d} for (u, d) in keys if self._is_allowed(caller, d))
        return models.Listing(models.Allowed, rows)

    def _require_may_grant(self, caller: Caller, domain: str) -> None:
        if not (caller.is_admin or (MANAGE_USERS in caller.perms and self._is_allowed(caller, domain))):
            raise errors.forbidden()

    @atomic
    def create_allow(self, caller: Caller, body: models.Allowed) -> models.Allowed:
        self._require_may_grant(caller, body.domain)
        if body.user not in self.state.users:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._domain(body.domain)
        if (body.user, body.domain) in self.state.allows:
            raise errors.conflict(errors.ALLOW_EXISTS)
        self.state.allows[(body.user, body.domain)] = None
        return models.Allowed(user=body.user, domain=body.domain)

    @atomic
    def delete_allow(self, caller: Caller, domain: str, user: str) -> None:
        self._require_may_grant(caller, domain)
        if user not in self.state.users:
            raise errors.not_found(errors.USER_NOT_FOUND)
        self._domain(domain)
        if (user, domain) not in self.state.allows:
            raise errors.not_found(errors.ALLOW_NOT_FOUND)
        del self.state.allows[(user, domain)]
