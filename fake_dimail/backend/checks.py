"""Domain checks, fixes and the records to publish (CHECKS.md); the judging itself is `fake_dimail.checks`."""

from __future__ import annotations

from dataclasses import replace

from .. import checks as engine
from .. import models
from ..errors import ServerCrash
from ..records import Caller, CheckResult, DomainRecord
from .base import Base, atomic


class DomainChecks(Base):
    def _dkim(self, domain: DomainRecord) -> str:
        # guess G-dkim-key: made when first needed, then kept for the domain's life.
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
        # guess G-creation-check: dimail checks once the answer is built (it shows `new`); a crashing check leaves `new`.
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

    def _domain_view(self, domain: DomainRecord, echo_context: bool = False) -> models.Domain:
        checks = {
            name: models.TestResult(
                ok=r.ok, internal=r.internal, errors=[models.TestErr(code=c, detail=d) for c, d in r.errors]
            )
            for name, r in domain.checks.items()
        }
        return models.Domain(
            name=domain.name,
            state=domain.state,
            valid=domain.state == "ok",
            active=domain.active,
            delivery=domain.delivery,
            features=domain.features,
            webmail=domain.webmail,
            webmail_domain=domain.webmail_domain or None,
            imap_domain=domain.imap_domain or None,
            smtp_domain=domain.smtp_domain or None,
            mx_name=domain.mx_name or "internal",
            context_name=domain.context_name if echo_context else None,
            transport=domain.transport or None,
            public_alias=domain.public_alias,
            public_alias_rules=list(domain.public_alias_rules),
            store_name=domain.store_name,
            **checks,
        )
