"""What the `/_fake/` control plane steers: the simulated DNS and dimail's side of a domain."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from .. import checks as engine
from .. import models
from ..records import DomainRecord, Platform, unchecked_results
from ..zones import Record
from .checks import DomainChecks
from .base import atomic

# What `/_fake/dns/{d}/publish` can put in a zone.
PRESETS: dict[str, Callable[[], list[Record]]] = {
    "wrong": engine.wrong_records,
    "exists": engine.existing_records,
}


class Steering(DomainChecks):
    @staticmethod
    def _zone_view(records: Iterable[Record]) -> list[models.DnsRecord]:
        return [models.DnsRecord(target=r.target, type=models.DnsRecordType(r.type), value=r.value) for r in records]

    @atomic
    def dns_zone(self, name: str) -> list[models.DnsRecord]:
        return self._zone_view(self.state.dns.zone(name))

    @atomic
    def set_dns_zone(self, name: str, records: Iterable[models.DnsRecord]) -> list[models.DnsRecord]:
        return self._zone_view(self.state.dns.set_zone(name, [Record(r.target, r.type.value, r.value) for r in records]))

    @atomic
    def clear_dns_zone(self, name: str) -> None:
        self.state.dns.clear(name)

    @atomic
    def publish(self, name: str, preset: models.DnsPreset = models.DnsPreset.spec) -> list[models.DnsRecord]:
        """Fill a zone: what dimail asks for (`spec`), another provider's records (`wrong`), or NS only (`exists`)."""
        if preset is models.DnsPreset.spec:
            domain = self._domain(name)
            return self._zone_view(self.state.dns.set_zone(name, engine.spec(domain, self._dkim(domain))))
        return self._zone_view(self.state.dns.set_zone(name, PRESETS[preset.value]()))

    @atomic
    def forget_checks(self, name: str) -> None:
        """Back to before any check: state `new`, results `no_test`, dimail's side as created, the zone empty.
        `active` stays (dimail never resets it); the DKIM key stays (the domain's own, for its life)."""
        domain = self._domain(name)
        self.state.domains.modify(name, state="new", checks=unchecked_results(), checked_at=None,
                                  platform=Platform(certs_on_check=domain.platform.certs_on_check))
        self.state.dns.clear(name)

    @staticmethod
    def _platform_view(domain: DomainRecord) -> models.PlatformState:
        platform = domain.platform
        covered = platform.certificate is not None and engine.certificate_hosts(domain) <= platform.certificate
        return models.PlatformState(
            broken=sorted(platform.broken),
            unfixable=sorted(platform.unfixable),
            certificate=covered,
            certificate_hosts=sorted(platform.certificate or ()),
            certs_on_check=platform.certs_on_check,
        )

    @atomic
    def platform(self, name: str) -> models.PlatformState:
        return self._platform_view(self._domain(name))

    @atomic
    def set_platform(self, name: str, change: models.PlatformChange) -> models.PlatformState:
        """Change dimail's side of a domain; what the change leaves out stays as it is."""
        domain = self._domain(name)
        platform = domain.platform
        if change.broken is not None:
            platform = replace(platform, broken={c.value for c in change.broken})
        if change.unfixable is not None:
            platform = replace(platform, unfixable={c.value for c in change.unfixable})
        if change.certificate is not None:
            platform = replace(platform, certificate=engine.certificate_hosts(domain) if change.certificate else None)
        if change.certs_on_check is not None:
            platform = replace(platform, certs_on_check=change.certs_on_check)
        return self._platform_view(self.state.domains.modify(name, platform=platform))
