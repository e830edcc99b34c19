"""Domain checks, fixes and the records to publish (CHECKS.md); the judging itself is `fake_dimail.checks`."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from .. import checks as engine
from .. import models
from .. import people_status as people
from ..errors import ServerCrash
from ..models import Row
from ..records import CHECK_NAMES, INTERNAL_CHECKS, Caller, CheckResult, DomainRecord
from .base import Base, atomic

# What a dry check compares a DKIM record with when the domain has no key yet: a valid record no zone holds.
UNBORN_KEY = "v=DKIM1; h=sha256; k=rsa; p=not-generated-yet"


def _state_of(results: dict[str, CheckResult]) -> str:
    return "ok" if all(r.ok for r in results.values()) else "broken"


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
        # guess G-dkim-key: made when first needed, then kept for the domain's life.
        if domain.dkim_public is None:
            self.state.domains.modify(domain.name, dkim_public=engine.new_dkim_value())
        assert domain.dkim_public is not None
        return domain.dkim_public

    def _evaluate(self, domain: DomainRecord, dry: bool = False) -> dict[str, CheckResult]:
        """Every check of `domain` against the simulated DNS. `dry`: change nothing, not even the DKIM key a
        first check generates (a key not generated yet matches no published record)."""
        mapped = self.state.context_of(domain.name) is not None
        dkim = (lambda: domain.dkim_public or UNBORN_KEY) if dry else (lambda: self._dkim(domain))
        return engine.evaluate(domain, self.state.dns.resolver(), mapped, dkim)

    def _may_issue_certificate(self, domain: DomainRecord) -> bool:
        return "cert" not in domain.platform.unfixable and engine.cnames_pass(domain, self.state.dns.resolver())

    def _issue_certificate(self, domain: DomainRecord) -> None:
        self.state.domains.modify(
            domain.name, platform=replace(domain.platform, certificate=engine.certificate_hosts(domain))
        )

    def _with_certificate(self, domain: DomainRecord) -> DomainRecord:
        """A copy of the domain with the certificate issued (the stored one is not touched)."""
        return replace(domain, platform=replace(domain.platform, certificate=engine.certificate_hosts(domain)))

    def _repaired(self, domain: DomainRecord) -> DomainRecord:
        """A copy of the domain as /fix leaves dimail's side: broken items repaired unless unfixable, the
        certificate issued when it may be (CHECKS.md §7). The stored domain is not touched."""
        platform = domain.platform
        repaired = replace(domain, platform=replace(platform, broken=platform.broken & platform.unfixable))
        return self._with_certificate(repaired) if self._may_issue_certificate(domain) else repaired

    def _would_check(self, domain: DomainRecord) -> tuple[DomainRecord, dict[str, CheckResult]]:
        """What a check would find now, and the domain as it would leave it, without changing anything.
        Raises ServerCrash where the check crashes."""
        return self._issued_on_check(domain, self._evaluate(domain, dry=True), dry=True)

    def _issued_on_check(self, domain: DomainRecord, results: dict[str, CheckResult],
                         dry: bool = False) -> tuple[DomainRecord, dict[str, CheckResult]]:
        """The fake's switch `certs_on_check` (`--certs-on-check`, CHECKS.md §4 [inferred]): a /check that finds
        the certificate missing issues it when it may, and checks again. `dry`: on a copy of the domain."""
        if not (domain.platform.certs_on_check and not results["cert"].ok and self._may_issue_certificate(domain)):
            return domain, results
        if dry:
            domain = self._with_certificate(domain)
        else:
            self._issue_certificate(domain)
        return domain, self._evaluate(domain, dry=dry)

    def _check(self, domain: DomainRecord) -> None:
        results = self._evaluate(domain)  # a crash (500) happens here, before anything changes
        domain, results = self._issued_on_check(domain, results)
        state = _state_of(results)
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
        self.state.domains.modify(name, platform=self._repaired(domain).platform)
        self._check(domain)
        return self._domain_view(domain)

    @atomic
    def people_fetch(self, name: str, before: str = people.PENDING, last: bool = False) -> people.Fetch:
        """What People's next status fetch of the domain would conclude (`fake_dimail.people_status`), changing
        nothing: /check answered as it would be now (`last`: as dimail last answered, the stored results),
        /fix/ predicted by running its repair and check on a copy of the domain."""
        domain = self._domain(name)
        checked = domain if last else self._dry_checked(domain)
        if checked is None:
            return people.fetch(None, dict, before)

        def fix() -> dict[str, Any] | None:
            fixed = self._dry_fixed(checked)
            return None if fixed is None else self._answer(fixed)

        return people.fetch(self._answer(checked), fix, before)

    @atomic
    def people_view(self, name: str, before: str = people.PENDING) -> models.PeopleView:
        """`people_fetch` with its reasons, for the control plane and the dashboard."""
        domain = self._domain(name)
        now = self.people_fetch(name, before)
        last = self.people_fetch(name, before, last=True)
        checked = self._dry_checked(domain)
        fixed = self._dry_fixed(checked) if checked is not None else None
        failing = []
        for check, result in (checked.checks if checked is not None else {}).items():
            if not result.ok:
                code, detail = result.errors[0] if result.errors else (None, None)
                repaired = fixed is not None and fixed.checks[check].ok
                failing.append(models.PeopleFailing(check=check, internal=result.internal, fixable=repaired,
                                                    code=code, detail=detail))
        return models.PeopleView(
            domain=name, status=now.status, changed=now.changed, before=before, branch=now.branch, why=now.why,
            calls=[call.replace("{d}", name) for call in now.calls],
            pending_mailboxes=now.pending_mailboxes.replace("{d}", name),
            state=checked.state if checked is not None else None, failing=failing,
            fix_state=fixed.state if now.fixed and fixed is not None else None, last_status=last.status,
            stale=checked is None or (checked.state, checked.checks) != (domain.state, domain.checks),
        )

    def _dry_checked(self, domain: DomainRecord) -> DomainRecord | None:
        """A copy of the domain as a /check now would leave it; None where the check crashes (500)."""
        try:
            checked, results = self._would_check(domain)
        except ServerCrash:
            return None
        return replace(checked, checks=results, state=_state_of(results))

    def _dry_fixed(self, domain: DomainRecord) -> DomainRecord | None:
        """A copy of the domain as a /fix now would leave it; None where it crashes."""
        return self._dry_checked(self._repaired(domain))

    def _answer(self, domain: DomainRecord) -> dict[str, Any]:
        """The JSON body a check of `domain` answers, as People reads it."""
        return self._domain_view(domain).model_dump(mode="json")

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
