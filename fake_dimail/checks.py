"""The domain check engine: what dimail expects in DNS, and how it judges what it finds.

`evaluate` is a pure function of a domain (its fields and its platform side)
and of the simulated DNS: no clock, no network, so a check answers in
microseconds and always the same way. The rules and texts are those of
dimail's CHECKS.md §2–§5 (see reference/dimail/README.md); where the fake had to choose, it says so.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from . import errors
from .errors import ServerCrash
from .records import EXTERNAL_CHECKS, INTERNAL_CHECKS, CheckResult, DomainRecord
from .zones import Record, Resolver, absolute, normalise

PLATFORM_MX = "mx.ox.numerique.gouv.fr."
SPF_INCLUDE = "_spf.ox.numerique.gouv.fr"
SPF_RECORD = f"v=spf1 include:{SPF_INCLUDE} -all"
CNAME_TARGETS = {
    "imap": "imap.ox.numerique.gouv.fr.",
    "smtp": "smtp.ox.numerique.gouv.fr.",
    "webmail": "webmail.ox.numerique.gouv.fr.",
}
DKIM_SELECTOR = "dimail"  # guess G-dkim-selector: the one /spec publishes
DKIM_TAGS = ("v", "h", "k", "p")
# The mechanisms dimail's SPF reader knows; any other one crashes it (CHECKS.md §3).
SPF_MECHANISMS = {"all", "mx", "include", "ip4", "ip6", "a", "ptr", "exists"}


def new_dkim_value() -> str:
    """A real 2048-bit RSA public key in DKIM TXT form, from the process's set (`dkim.py`): never generated
    during a request or a seeding call (a generation costs ~70 ms)."""
    from .dkim import new_dkim_value as next_key

    return next_key()


# --- what applies to a domain ------------------------------------------------


def host(domain: DomainRecord, kind: str) -> str:
    """The host a CNAME check looks at: the custom one, else `<kind>.<domain>`; named without the final dot."""
    custom = getattr(domain, f"{kind}_domain").rstrip(".")
    return custom or f"{kind}.{domain.name}"


def cname_kinds(domain: DomainRecord) -> list[str]:
    """The CNAME checks that apply, in /spec order: IMAP with `mailbox`, SMTP always, webmail with `webmail`."""
    return (["imap"] if "mailbox" in domain.features else []) + ["smtp"] + (
        ["webmail"] if "webmail" in domain.features else []
    )


def applies(domain: DomainRecord, check: str) -> bool:
    if check in ("cname_webmail", "webmail_ok", "ox"):
        return "webmail" in domain.features
    if check == "cname_imap":
        return "mailbox" in domain.features
    return True


def expected_mx(domain: DomainRecord) -> str:
    # guess G-mx-name: a custom `mx_name` replaces the platform MX (the 2024 code only knew the latter).
    return PLATFORM_MX if domain.mx_name in ("", "internal") else absolute(domain.mx_name)


def certificate_hosts(domain: DomainRecord) -> frozenset[str]:
    """The names a certificate must cover: every host a CNAME check looks at."""
    return frozenset(normalise(host(domain, kind)) for kind in cname_kinds(domain))


# --- /spec --------------------------------------------------------------------


def _relative(domain: DomainRecord, name: str) -> str:
    name = normalise(name)
    if name == domain.name:
        return ""
    if name.endswith("." + domain.name):
        return name[: -len(domain.name) - 1]
    return absolute(name)


def spec(domain: DomainRecord, dkim_value: str) -> list[Record]:
    """What to publish, in dimail's order: MX, DKIM, IMAP, SMTP, SPF, webmail (CHECKS.md §6)."""
    records = [Record("", "mx", expected_mx(domain)), Record(f"{DKIM_SELECTOR}._domainkey", "txt", dkim_value)]
    for kind in ("imap", "smtp"):
        if kind in cname_kinds(domain):
            records.append(Record(_relative(domain, host(domain, kind)), "cname", CNAME_TARGETS[kind]))
    records.append(Record("", "txt", SPF_RECORD))
    if "webmail" in cname_kinds(domain):
        records.append(Record(_relative(domain, host(domain, "webmail")), "cname", CNAME_TARGETS["webmail"]))
    return records


def wrong_records() -> list[Record]:
    """A zone set up for another provider: the 'broken, external failures' example of CHECKS.md §10.3."""
    return [
        Record("", "mx", "mx.other-provider.net."),
        Record("webmail", "cname", "webmail.other-provider.net."),
        Record("", "txt", "v=spf1 include:_spf.other-provider.net -all"),
    ]


def existing_records() -> list[Record]:
    """A registered domain with nothing published yet but its name servers."""
    return [Record("", "ns", "ns1.registrar.example.")]


# --- the record readers, with dimail's crashes ----------------------------------


def spf_includes_platform(text: str) -> bool:
    """Read one `v=spf1 ` record as dimail does: an unreadable one crashes the check (500)."""
    terms = text[len("v=spf1 "):].split()
    seen: list[tuple[str, str, str]] = []
    for term in terms:
        qualifier = term[0] if term[:1] in ("+", "-", "~", "?") else ""
        rest = term[len(qualifier):]
        name = ""
        while rest[len(name):len(name) + 1].isalnum() or rest[len(name):len(name) + 1] == "_":
            name += rest[len(name)]
        argument = rest[len(name):]
        if name not in SPF_MECHANISMS:
            raise ServerCrash(f"invalid SPF mechanism {term!r}")
        if name == "all" and argument:
            raise ServerCrash(f"invalid SPF 'all' term {term!r}")
        if name not in ("all", "mx"):
            if not argument.startswith(":") or len(argument) < 2:
                raise ServerCrash(f"SPF {name!r} without ':<value>'")
            argument = argument[1:]
        seen.append((qualifier or "+", name, argument))
        if name == "all":
            break  # what follows `all` is never read
    if not seen or seen[-1][1] != "all":
        raise ServerCrash("SPF record without a final 'all'")
    return ("+", "include", SPF_INCLUDE) in seen


def dkim_tags(text: str) -> dict[str, str]:
    """The tags of a DKIM TXT record; one without v, h, k or p crashes the check (500)."""
    tags = {}
    for part in text.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key and value:
            tags[key] = value
    missing = [tag for tag in DKIM_TAGS if tag not in tags]
    if missing:
        raise ServerCrash(f"DKIM record without {missing}")
    return tags


# --- the checks -------------------------------------------------------------------


def _ok(check: str) -> CheckResult:
    return CheckResult(True, check in INTERNAL_CHECKS, [])


def _failed(check: str, code: str, detail: str) -> CheckResult:
    return CheckResult(False, check in INTERNAL_CHECKS, [(code, detail)])


def _check_mx(domain: DomainRecord, dns: Resolver) -> CheckResult:
    hosts = dns.mx(domain.name)
    if hosts is None:
        return _failed("mx", "no_mx", errors.NO_MX_NXDOMAIN)
    if not hosts:
        return _failed("mx", "no_mx", errors.NO_MX)
    wanted = expected_mx(domain)
    # guess G-mx-lowest: only the first MX counts; the fake takes the lowest preference (publication order on ties).
    if hosts[0] != wanted:
        return _failed("mx", "wrong_mx", errors.wrong_mx(wanted, hosts[0]))
    return _ok("mx")


def _check_cname(domain: DomainRecord, dns: Resolver, kind: str) -> CheckResult:
    check, name, target = f"cname_{kind}", host(domain, kind), CNAME_TARGETS[kind]
    found = dns.cname(name)
    if found is None:
        return _failed(check, f"no_cname_{kind}", errors.no_cname(name, target))
    if found != target:
        return _failed(check, f"wrong_cname_{kind}", errors.wrong_cname(name, found, target))
    return _ok(check)


def _check_spf(domain: DomainRecord, dns: Resolver) -> CheckResult:
    records = [v for v in dns.values(domain.name, "txt") if v.startswith("v=spf1 ")]
    if not records:
        return _failed("spf", "no_spf", errors.NO_SPF.format(include=SPF_INCLUDE))
    # Every SPF record is read (and may crash the check); the last one decides.
    verdicts = [spf_includes_platform(text) for text in records]
    if not verdicts[-1]:
        return _failed("spf", "wrong_spf", errors.WRONG_SPF.format(include=SPF_INCLUDE))
    return _ok("spf")


def _check_dkim(domain: DomainRecord, dns: Resolver, dkim_value: Callable[[], str]) -> CheckResult:
    name = f"{DKIM_SELECTOR}._domainkey.{domain.name}"
    records = [v for v in dns.values(name, "txt") if v.startswith("v=DKIM1; ")]
    if not records:
        return _failed("dkim", "no_dkim", errors.NO_DKIM)
    # guess G-dkim-compare: the whole tag set must match the key dimail generated, as the real reader compares.
    wanted = dkim_tags(dkim_value())
    if not any(dkim_tags(text) == wanted for text in records):
        return _failed("dkim", "wrong_dkim", errors.WRONG_DKIM)
    return _ok("dkim")


def _check_internal(domain: DomainRecord, check: str, ox_mapped: bool) -> CheckResult:
    # guess G-internal-checks: `cert` until issued, the others fine unless broken through /_fake/.
    platform = domain.platform
    if check == "cert":
        working = platform.certificate is not None and certificate_hosts(domain) <= platform.certificate
    elif check == "ox":
        working = ox_mapped and "ox" not in platform.broken
    else:
        working = check not in platform.broken
    return _ok(check) if working else _failed(check, *errors.INTERNAL_FAILURES[check])


def evaluate(
    domain: DomainRecord, dns: Resolver, ox_mapped: bool, dkim_value: Callable[[], str]
) -> dict[str, CheckResult]:
    """Every check, in the Domain body's order. Raises ServerCrash where dimail crashes."""
    results = {check: _ok(check) for check in EXTERNAL_CHECKS + INTERNAL_CHECKS}
    if not dns.exists(domain.name):
        # A name nobody registered shows that one error: every other test is skipped.
        results["domain_exist"] = _failed("domain_exist", "must_exist", errors.must_exist(domain.name))
        return results
    results["mx"] = _check_mx(domain, dns)
    for kind in cname_kinds(domain):
        results[f"cname_{kind}"] = _check_cname(domain, dns, kind)
    results["spf"] = _check_spf(domain, dns)
    results["dkim"] = _check_dkim(domain, dns, dkim_value)
    for check in INTERNAL_CHECKS:
        if applies(domain, check):
            results[check] = _check_internal(domain, check, ox_mapped)
    return results


def cnames_pass(domain: DomainRecord, dns: Resolver) -> bool:
    """What a certificate authority needs before it issues: the domain exists and every CNAME is right."""
    return dns.exists(domain.name) and all(_check_cname(domain, dns, kind).ok for kind in cname_kinds(domain))
