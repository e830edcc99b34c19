"""Domains and the OX contexts they map to (CONTRACT.md §4.4)."""

from __future__ import annotations

from .. import checks as engine
from .. import errors, models
from ..errors import ApiError
from ..records import Caller, DomainRecord, OxContext
from .base import NEW_DOMAIN, Base, apply_list_change, atomic
from .checks import DomainChecks


class Domains(DomainChecks, Base):
    @atomic
    def list_domains(self, caller: Caller) -> models.Listing[models.Domain]:
        if not (caller.is_admin or caller.perms):
            raise errors.forbidden()
        domains = self.state.domains
        if caller.is_admin:
            return models.Listing(models.Domain, (self._domain_row(d) for d in domains.values()))
        mine = [d for _, d in self.state.allows.keys_by("user", caller.name) if d in domains]
        return models.Listing(models.Domain, (self._domain_row(domains[name]) for name in domains.in_order(mine)))

    @atomic
    def create_domain(self, caller: Caller, body: models.CreateDomain, check: bool = True,
                      answer: bool = True) -> models.Domain | None:
        """`answer=False`: no answer built (None), for seeding, which never shows it."""
        if not self._has(caller, NEW_DOMAIN):
            raise errors.forbidden()
        features = list(dict.fromkeys(f.value for f in body.features))
        wants_webmail = "webmail" in features
        named_context = self.state.contexts.get(body.context_id) if body.context_id is not None else None
        if wants_webmail and body.context_name is None and named_context is None:
            raise errors.conflict(errors.CONTEXT_NAME_MANDATORY)
        if body.name in self.state.domains:
            raise errors.conflict(errors.DOMAIN_EXISTS)
        context = None
        if wants_webmail:
            context = self.state.context_of(body.name)
            wanted = named_context.name if named_context else body.context_name
            if context is not None and context.name != wanted:
                raise errors.conflict(errors.mapped_to_context(context.name))
        domain = DomainRecord(
            name=body.name,
            features=features,
            delivery=body.delivery.value,
            webmail_domain=body.webmail_domain,
            imap_domain=body.imap_domain,
            smtp_domain=body.smtp_domain,
            mx_name=body.mx_name,
            context_name=(named_context.name if named_context else body.context_name) if wants_webmail else None,
            transport=body.transport,
            schema_name=body.schema_name,
            public_alias=bool(body.public_alias),
            public_alias_rules=list(body.public_alias_rules or []),
            webmail=body.webmail,
            store_name=body.store_name,
        )
        domain.platform.certs_on_check = self.certs_on_check
        if wants_webmail and context is None:
            assert domain.context_name is not None
            self._map_to_context(domain.name, domain.context_name, named_context)
        self.state.domains[domain.name] = domain
        if not caller.is_admin:
            self.state.allows[(caller.name, domain.name)] = None
        if self.dns_auto:
            self.state.dns.set_zone(domain.name, engine.spec(domain, self._dkim(domain)))
        # The 201 echoes the OX context name; no later answer does (CONTRACT.md §6 #8).
        created = self._domain_view(domain, echo_context=True) if answer else None
        if check:
            self._try_check(domain)
        return created

    def _map_to_context(self, domain: str, context_name: str, context: OxContext | None) -> None:
        context = context or self.state.context_named(context_name)
        self.state.map_domain(domain, context or self.state.new_context(context_name, domain))

    @atomic
    def get_domain(self, caller: Caller, name: str) -> models.Domain:
        domain = self._domain(name)
        if not self._is_allowed(caller, name):
            raise ApiError(401, errors.NOT_AUTHORIZED)
        self._refuse_moving(name)
        return self._domain_view(domain)

    def _require_domain_manager(self, caller: Caller, name: str) -> DomainRecord:
        domain = self._domain(name)
        if not (caller.is_admin or (NEW_DOMAIN in caller.perms and self._is_allowed(caller, name))):
            raise errors.forbidden()
        self._refuse_moving(name)
        return domain

    @atomic
    def update_domain(self, caller: Caller, name: str, body: models.UpdateDomain) -> models.Domain:
        domain = self._require_domain_manager(caller, name)
        changes = body.model_dump(exclude_none=True)
        features = domain.features
        if "features" in changes:
            features = apply_list_change(domain.features, changes.pop("features"))
            unknown = [f for f in features if f not in models.DomainFeature.__members__]
            if unknown:
                raise errors.unprocessable(errors.unknown_feature(unknown[0]))
        has_mailboxes = self.state.mailboxes.count_by("domain", name) > 0
        for feature in ("mailbox", "webmail"):
            if feature in domain.features and feature not in features and has_mailboxes:
                raise ApiError(418, errors.DOMAIN_HAS_MAILBOXES.format(feature=feature))
        context_name = changes.pop("context_name", domain.context_name)
        current = self.state.context_of(name)
        if current is not None and context_name != current.name and self.state.domain_ox_users(current, name):
            raise ApiError(418, errors.DOMAIN_CONTEXT_IN_USE)
        if "webmail" in features and context_name is None:
            raise errors.conflict(errors.CONTEXT_NAME_MANDATORY)
        # Every refusal is behind us: apply.
        if "webmail" in features and (current is None or current.name != context_name):
            if current is not None:
                self.state.unmap_domain(name, current)
            self._map_to_context(name, context_name, None)
        fields = {key: value.value if hasattr(value, "value") else value for key, value in changes.items()}
        self.state.domains.modify(name, features=features, context_name=context_name, **fields)
        return self._domain_view(domain)

    @atomic
    def delete_domain(self, caller: Caller, name: str) -> None:
        self._require_domain_manager(caller, name)
        state = self.state
        if (
            state.domain_ox_users(state.context_of(name), name)
            or state.mailboxes.count_by("domain", name)
            or state.aliases.count_by("domain", name)
            or state.forwards.count_by("domain", name)
        ):
            raise errors.conflict(errors.DOMAIN_NOT_EMPTY)
        state.delete_by("allows", name, "domain")
        # guess G-domain-delete-public-aliases: public aliases handed out on the domain go with it (their
        # owners are elsewhere, and no listing by domain would let an operator empty it first).
        state.delete_by("public_aliases", name, "domain")
        # The OX context stays, still mapping the name (guess G-domain-delete-ox: dimail does not clean OX up).
        del state.domains[name]
        state.moves.pop(name, None)
