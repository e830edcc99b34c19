"""Domain checks, fixes and the records to publish (CHECKS.md); the judging itself is `fake_dimail.checks`."""

from __future__ import annotations

import functools
from dataclasses import replace

from .. import checks as engine
from .. import models
from ..errors import ServerCrash
from ..models import Row
from ..records import CHECK_NAMES, INTERNAL_CHECKS, Caller, CheckResult, DomainRecord
from .base import Base, atomic

FEATURES = {member.value: member.value for member in models.DomainFeature}


def _check_row(result: CheckResult) -> Row:
    return _check_row_of(result.ok, result.internal, tuple(result.errors))


@functools.lru_cache(maxsize=1024)
def _check_row_of(ok: bool, internal: bool, errors: tuple[tuple[str, str], ...]) -> Row:
    """Shared by every domain whose check came out the same (a listing only reads its rows)."""
    return {"ok": ok, "internal": internal, "errors": tuple([{"code": code, "detail": detail} for code, detail in errors])}


def _unchecked(name: str) -> Row:
    """What `Domain` shows for a check the domain holds no result of: its default."""
    return {"ok": True, "internal": name in INTERNAL_CHECKS, "errors": ()}


class DomainChecks(Base):
    def _dkim(self, domain: DomainRecord) -> str:
        if domain.dkim_public is None:
            self.state.domains.modify(domain.name, dkim_public=engine.new_dkim_value())
        assert domain.dkim_public is not None
        return domain.dkim_public

    def _evaluate(self, domain: DomainRecord) -> dict[str, CheckResult]:
        mapped = self.state.context_of(domain.name) is not None
        return engine.evaluate(domain, self.state.dns.resolver(), mapped, lambda: self._dkim(domain))

    def _may_issue_certificate(self, domain: DomainRecord) -> bool:
        return "cert" not in domain.platform.unfixable and engine.cnames_pass(domain, self.state.dns.resolver())

    def _issue_certificate(self, domain: DomainRecord) -> None:
        self.state.domains.modify(
            domain.name, platform=replace(domain.platform, certificate=engine.certificate_hosts(domain))
        )

    def _check(self, domain: DomainRecord) -> None:
        results = self._evaluate(domain)  # a crash (500) happens here, before anything changes
        if domain.platform.certs_on_check and not results["cert"].ok and self._may_issue_certificate(domain):
            self._issue_certificate(domain)
            results = self._evaluate(domain)
        state = "ok" if all(r.ok for r in results.values()) else "broken"
        self.state.domains.modify(
            domain.name,
            checks=results,
            state=state,
            active=domain.active or state == "ok",  # never reset by a later failure
            checked_at=self.clock(),
        )

    def _try_check(self, domain: DomainRecord) -> None:
        # dimail checks once the answer is built (it shows `new`); a crashing check leaves `new`.
        try:
            self._check(domain)
        except ServerCrash:
            pass

    def _require_checker(self, caller: Caller, name: str) -> DomainRecord:
        domain = self._domain(name)
        self._require_allowed(caller, name)
        return domain

    @atomic
    def check_domain(self, caller: Caller, name: str) -> models.Domain:
        domain = self._require_checker(caller, name)
        self._check(domain)
        return self._domain_view(domain)

    @atomic
    def fix_domain(self, caller: Caller, name: str) -> models.Domain:
        """Repair dimail's side only (never the DNS), then check again (CHECKS.md §7)."""
        domain = self._require_checker(caller, name)
        self._evaluate(domain)  # a crashing check crashes /fix before any repair
        platform = domain.platform
        self.state.domains.modify(name, platform=replace(platform, broken=platform.broken & platform.unfixable))
        if self._may_issue_certificate(domain):
            self._issue_certificate(domain)
        self._check(domain)
        return self._domain_view(domain)

    @atomic
    def domain_spec(self, name: str) -> list[models.DomainSpec]:
        domain = self._domain(name)
        return [models.DomainSpec(target=r.target, type=r.type, value=r.value)
                for r in engine.spec(domain, self._dkim(domain))]

    @staticmethod
    def _domain_row(domain: DomainRecord, echo_context: bool = False) -> Row:
        row = {
            "name": domain.name,
            "state": domain.state,
            "valid": domain.state == "ok",
            "active": domain.active,
            "delivery": domain.delivery,
            # A feature no DomainFeature names (none can be stored) would fail the real server's answer: KeyError.
            "features": tuple([FEATURES[f] for f in domain.features]),
            "webmail": domain.webmail,
            "webmail_domain": domain.webmail_domain or None,
            "imap_domain": domain.imap_domain or None,
            "smtp_domain": domain.smtp_domain or None,
            "mx_name": domain.mx_name or "internal",
            "context_name": domain.context_name if echo_context else None,
            "transport": domain.transport or None,
            "public_alias": domain.public_alias,
            "public_alias_rules": tuple(domain.public_alias_rules),
            "store_name": domain.store_name,
        }
        checks = domain.checks
        for name in CHECK_NAMES:
            result = checks.get(name)
            row[name] = _unchecked(name) if result is None else _check_row(result)
        return row

    def _domain_view(self, domain: DomainRecord, echo_context: bool = False) -> models.Domain:
        return models.Domain.model_validate(self._domain_row(domain, echo_context))
