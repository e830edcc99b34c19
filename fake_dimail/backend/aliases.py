"""Aliases (CONTRACT.md §4.11)."""

from __future__ import annotations

from .. import errors, models
from ..errors import ApiError
from ..models import Row
from ..records import AliasRecord, Caller
from .base import Base, atomic


class Aliases(Base):
    @staticmethod
    def _alias_row(alias: AliasRecord) -> Row:
        return {"username": alias.local, "domain": alias.domain, "destination": alias.destination,
                "allow_to_send": alias.allow_to_send}

    def _alias_view(self, alias: AliasRecord) -> models.Alias:
        return models.Alias.model_validate(self._alias_row(alias))

    @atomic
    def list_aliases(
        self, caller: Caller, domain: str, user_name: str, destination: str
    ) -> models.Listing[models.Alias]:
        self._require_allowed(caller, domain)
        if destination and not user_name:
            raise ApiError(412, errors.ONLY_DESTINATION)
        aliases = self.state.aliases
        if user_name and destination:
            found = [aliases[k] for k in [(domain, user_name, destination)] if k in aliases]
        elif user_name:
            found = aliases.rows_by("name", (domain, user_name))
        else:
            found = aliases.rows_by("domain", domain)
        if user_name and destination and not found:
            raise errors.not_found(errors.ALIAS_NOT_FOUND)
        return models.Listing(models.Alias, (self._alias_row(a) for a in found))

    @atomic
    def create_alias(self, caller: Caller, domain: str, body: models.CreateAlias) -> models.Alias:
        # Neither the domain's existence nor its `alias` feature is checked (§6 #15).
        self._require_allowed(caller, domain)
        key = (domain, body.user_name, body.destination)
        if key in self.state.aliases:
            raise errors.conflict(errors.ALIAS_EXISTS)
        alias = AliasRecord(domain, body.user_name, body.destination, bool(body.allow_to_send), body.description)
        self.state.aliases[key] = alias
        return self._alias_view(alias)

    @atomic
    def update_alias(
        self, caller: Caller, domain: str, local: str, destination: str, body: models.UpdateAlias
    ) -> models.Alias:
        self._require_allowed(caller, domain)
        key = (domain, local, destination)
        if key not in self.state.aliases:
            raise errors.not_found(errors.ALIAS_NOT_FOUND)
        changes = {"allow_to_send": body.allow_to_send, "description": body.description}
        alias = self.state.aliases.modify(key, **{k: v for k, v in changes.items() if v is not None})
        return self._alias_view(alias)

    @atomic
    def delete_alias(self, caller: Caller, domain: str, local: str, destination: str) -> None:
        self._require_allowed(caller, domain)
        aliases = self.state.aliases
        if destination == "all":
            keys = aliases.keys_by("name", (domain, local))
        else:
            keys = [k for k in [(domain, local, destination)] if k in aliases]
        if not keys:
            raise errors.not_found(errors.NOT_FOUND)
        for key in keys:
            del aliases[key]
