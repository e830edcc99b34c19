"""Public aliases: random addresses on a shared domain that deliver to one mailbox ("hide my address";
CONTRACT.md §4.15).

A domain takes them when its `public_alias` setting is on; its `public_alias_rules`, when there are
any, say which destinations may have one. Rights are judged on the destination's domain: the
mailbox's owner asks, the public domain is nobody's in particular.
"""

from __future__ import annotations

import secrets
import string
from fnmatch import fnmatchcase

from .. import errors, models
from ..records import Caller, DomainRecord, PublicAliasRecord
from .base import Base, atomic

# 12 characters of [a-z0-9], starting with a letter: a valid UserName, and 36**11 names per domain.
_NAME_LENGTH = 12
_ALPHABET = string.ascii_lowercase + string.digits


def _random_local() -> str:
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(_ALPHABET) for _ in range(_NAME_LENGTH - 1))


def accepts(domain: DomainRecord, destination: str) -> bool:
    """guess G-public-alias-rules: each rule is a shell pattern (`*.gouv.fr`) on the destination's domain;
    no rule accepts all."""
    if not domain.public_alias:
        return False
    host = destination.rpartition("@")[2]
    return not domain.public_alias_rules or any(fnmatchcase(host, rule) for rule in domain.public_alias_rules)


class PublicAliases(Base):
    @staticmethod
    def _public_alias_row(alias: PublicAliasRecord) -> Row:
        return {"alias": f"{alias.local}@{alias.domain}", "description": alias.description}

    def _public_alias_view(self, alias: PublicAliasRecord) -> models.PubAlias:
        return models.PubAlias.model_validate(self._public_alias_row(alias))

    def _require_destination_rights(self, caller: Caller, destination: str) -> None:
        # guess G-public-alias-rights: the destination's domain decides, for all five operations.
        self._require_allowed(caller, destination.rpartition("@")[2] if "@" in destination else "")

    @atomic
    def create_public_alias(self, caller: Caller, body: models.CreatePubAlias) -> models.PubAlias:
        self._require_destination_rights(caller, body.destination)
        domain = self._domain(body.domain)
        if not accepts(domain, body.destination):
            raise errors.forbidden(errors.PUBLIC_ALIAS_FORBIDDEN)
        # guess G-public-alias-destination: the destination is not looked up (CONTRACT.md §4.15 lists only the
        # 403s); a mailbox's deletion still takes the public aliases to it.
        local = _random_local()
        while self.state.address_taken(domain.name, local):
            local = _random_local()
        alias = PublicAliasRecord(domain.name, local, body.destination, body.description)
        self.state.public_aliases[(domain.name, local)] = alias
        return self._public_alias_view(alias)

    @atomic
    def list_public_aliases(self, caller: Caller, destination: str) -> models.Listing[models.PubAlias]:
        self._require_destination_rights(caller, destination)
        aliases = self.state.public_aliases.rows_by("destination", destination)
        return models.Listing(models.PubAlias, (self._public_alias_row(a) for a in aliases))

    @atomic
    def public_alias_domains(self, caller: Caller, destination: str) -> list[str]:
        self._require_destination_rights(caller, destination)
        domains = self.state.domains.rows_by("public_alias", True)
        return sorted(d.name for d in domains if accepts(d, destination))

    def _public_alias(self, domain: str, local: str, destination: str) -> PublicAliasRecord:
        alias = self.state.public_aliases.get((domain, local))
        if alias is None or alias.destination != destination:
            raise errors.not_found(errors.ALIAS_NOT_FOUND)
        return alias

    @atomic
    def update_public_alias(
        self, caller: Caller, domain: str, local: str, destination: str, body: models.UpdatePubAlias
    ) -> models.PubAlias:
        self._require_destination_rights(caller, destination)
        self._public_alias(domain, local, destination)
        return self._public_alias_view(self.state.public_aliases.modify((domain, local), description=body.description))

    @atomic
    def delete_public_alias(self, caller: Caller, domain: str, local: str, destination: str) -> None:
        self._require_destination_rights(caller, destination)
        self._public_alias(domain, local, destination)
        del self.state.public_aliases[(domain, local)]
