"""The domain-check lifecycle through the API alone: what `/spec` promises, each of the eleven checks.

`/spec` is a promise: publish exactly these records and the domain becomes valid. On the fake the
suite keeps it to that word: it publishes the records `/spec` answers through `PUT /_fake/dns/{d}`
(never the fake's own `publish`, which knows the spec from the inside), checks, fixes, and then, for
each check, removes or alters the one record it reads and expects exactly that check to fail, with
dimail's code and French text (CHECKS.md §2-§4), and every other one to pass. Which record feeds
which check comes from the rules (the MX at the apex, the SPF TXT, the DKIM TXT, one CNAME per host),
the expected texts from dimail's real answers, never from the fake.

The lifecycle runs on two domains: one as People creates it (its features make all eleven checks apply) and
one without any feature (`features` may be empty, CONTRACT.md §4.4), where the CNAME and internal checks that
follow `mailbox` and `webmail` do not apply: /spec names no record for them, and they pass whatever the DNS
holds, with no errors (CHECKS §2).

A real dimail's DNS is the Internet's: the suite cannot publish there. What can be judged is: `/spec`'s
shape and self-consistency (one MX, one SPF with the platform's include and a final `all`, one DKIM
record under a selector with a usable RSA key, the CNAMEs the domain's features call for, the same
answer twice) and the check of a domain nobody published (`*.test` never resolves). The rest is
reported as not judged, with the reason.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from provisioner.provisioner import PEOPLE_FEATURES

from .expect import ContractBroken, body, status
from .target import Target

pytestmark = pytest.mark.contract("lifecycle")

EXTERNAL = ("domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim")
INTERNAL = ("webmail_ok", "postfix", "ox", "cert")
CHECKS = EXTERNAL + INTERNAL
CNAME_KINDS = {"cname_imap": "imap", "cname_smtp": "smtp", "cname_webmail": "webmail"}
# Which feature makes a check apply (CHECKS §2); the others always apply.
APPLIES = {"cname_imap": "mailbox", "cname_webmail": "webmail", "webmail_ok": "webmail", "ox": "webmail"}
# The domains the lifecycle runs on: as People creates one, and one without any feature.
FEATURE_SETS = {"people": PEOPLE_FEATURES, "bare": []}
# A DKIM TXT record missing one of these tags crashes dimail's check: 500 (CHECKS §3 [real-2024, code]).
DKIM_CRASHING_TAGS = ("h", "k", "p")
SPEC = ("GET", "/domains/{domain_name}/spec")
CHECK = ("GET", "/domains/{domain_name}/check")
FIX = ("GET", "/domains/{domain_name}/fix")
ELSEWHERE = "elsewhere.contract.test."
LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)

# dimail's texts (CHECKS §3, recorded on the real 2024 server), as functions of what is checked.
TEXTS = {
    "must_exist": "Le domaine {domain} n'existe pas",
    "no_mx": "Il n'y a pas d'enregistrement MX ou CNAME sur le domaine",
    "wrong_mx": "Je veux que le MX du domaine soit {wanted}, or je trouve {found}",
    "no_cname": "Il faut un CNAME '{host}' qui renvoie vers '{wanted}'",
    "wrong_cname": "Le CNAME pour '{host}' n'est pas bon, il renvoie vers '{found}' et je veux '{wanted}'",
    "no_spf": "Il faut un SPF record, et il doit contenir include:{include}",
    "wrong_spf": "Le SPF record ne contient pas include:{include}",
    "no_dkim": "Il faut un DKIM record, avec la bonne clef",
    "wrong_dkim": "Le DKIM record ne contient pas la bonne clef",
}
# The internal checks' codes: only `no_cert` has a source (People's fixtures); their texts none (People never
# shows them), so those are not judged.
INTERNAL_CODES = {"cert": "no_cert"}


DNS_ONLY_ON_THE_FAKE = "needs publishing DNS records, which the suite can do on the fake only (/_fake/dns)"


def _not_judged(dimail_target: Target, whether: str, why: str = DNS_ONLY_ON_THE_FAKE) -> None:
    if not dimail_target.steerable:
        pytest.skip(f"not judged on this dimail: whether {whether} {why}")


@dataclass
class Spec:
    """`/spec`'s records, read by the rules of CHECKS §2: which one each check reads."""

    domain: str
    records: list[dict[str, Any]]

    def find(self, check: str) -> list[dict[str, Any]]:
        """The records check `check` reads, as /spec names them."""
        if check == "mx":
            return [r for r in self.records if r["type"] == "mx" and r["target"] in ("", self.domain + ".")]
        if check == "spf":
            return [r for r in self.records if r["type"] == "txt" and r["target"] in ("", self.domain + ".")
                    and r["value"].startswith("v=spf1 ")]
        if check == "dkim":
            return [r for r in self.records if r["type"] == "txt" and r["value"].startswith("v=DKIM1")]
        kind = CNAME_KINDS[check]
        return [r for r in self.records if r["type"] == "cname" and self.host(r) == f"{kind}.{self.domain}"]

    def host(self, record: dict[str, Any]) -> str:
        target = record["target"]
        if target.endswith("."):
            return target.rstrip(".").lower()
        return f"{target}.{self.domain}".lower() if target else self.domain

    def one(self, check: str) -> dict[str, Any]:
        found = self.find(check)
        if len(found) != 1:
            raise ContractBroken(f"GET /domains/{self.domain}/spec: {len(found)} records for `{check}`, expected "
                                 f"1 (CHECKS §6): {self.records}")
        return found[0]

    def include(self) -> str:
        terms = self.one("spf")["value"].split()[1:]
        return next((t.split(":", 1)[1] for t in terms if t.lstrip("+").startswith("include:")), "")


def applies(check: str, features: list[str]) -> bool:
    return check not in APPLIES or APPLIES[check] in features


@pytest.fixture(scope="module", params=list(FEATURE_SETS), ids=lambda key: f"{key}-domain")
def features(request: pytest.FixtureRequest) -> list[str]:
    return list(FEATURE_SETS[request.param])


@pytest.fixture(scope="module")
def domain(dimail_target: Target, features: list[str]) -> str:
    """A domain as People creates it (its features make all eleven checks apply), or one without features."""
    if dimail_target.lacks(("POST", "/domains/"), SPEC, CHECK):
        pytest.skip(f"the target does not declare {', '.join(dimail_target.lacks(('POST', '/domains/'), SPEC, CHECK))}")
    name = dimail_target.name("domain")
    answer = dimail_target.call("POST", "/domains/", auth=dimail_target.people, json={
        "name": name, "context_name": name, "features": features, "delivery": "virtual"})
    status(answer, 201, "POST /domains/ as People sends it")
    dimail_target.created_domains.append(name)
    return name


@pytest.fixture(scope="module")
def spec(dimail_target: Target, domain: str) -> Spec:
    answer = dimail_target.call("GET", f"/domains/{domain}/spec")
    status(answer, 200, f"GET /domains/{domain}/spec (no credentials)")
    records = body(answer, "GET /domains/{d}/spec")
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("target", "type", "value")) for r in records):
        raise ContractBroken(f"GET /domains/{domain}/spec: expected a list of {{target, type, value}} strings, "
                             f"got {records!r:.300}")
    return Spec(domain, records)


class Zone:
    """The domain's simulated zone on the fake, and its checks."""

    def __init__(self, target: Target, spec: Spec) -> None:
        self.target, self.spec, self.domain = target, spec, spec.domain
        self.invalid: str | None = None  # why exactly /spec's records do not make the domain valid

    def publish(self, records: list[dict[str, Any]], why: str) -> None:
        answer = self.target.call("PUT", f"/_fake/dns/{self.domain}", json=records)
        status(answer, 200, f"PUT /_fake/dns/{self.domain} ({why})")

    def run(self, what: str = "check") -> dict[str, Any]:
        answer = self.target.call("GET", f"/domains/{self.domain}/{what}", auth=self.target.people)
        status(answer, 200, f"GET /domains/{self.domain}/{what}")
        return body(answer, f"GET /domains/{{d}}/{what}")

    def all_pass(self, why: str) -> None:
        """Publish exactly /spec's records, check, and fix: every check passes (the baseline of each test).

        Where it does not, that one failure is the contract broken: the tests after it are not judged."""
        if self.invalid:
            pytest.skip(f"not judged: {self.invalid}")
        self.publish(self.spec.records, "exactly the records /spec answers")
        self.run("check")
        fixed = self.run("fix")
        failing = {name: _block(fixed, name).get("errors") for name in CHECKS if not _block(fixed, name).get("ok")}
        if failing or fixed.get("state") != "ok" or fixed.get("valid") is not True:
            self.invalid = (f"with exactly the records GET /domains/{self.domain}/spec answers published, /check "
                            f"then /fix leave state {fixed.get('state')!r}, valid {fixed.get('valid')!r}, failing "
                            f"{failing}: /spec promises what dimail does not check")
            raise ContractBroken(f"{why}: {self.invalid}")


def _block(answer: dict[str, Any], name: str) -> dict[str, Any]:
    block = answer.get(name)
    if not isinstance(block, dict):
        raise ContractBroken(f"the check answer has no block `{name}`: keys {sorted(answer)}")
    return block


def only_failing(answer: dict[str, Any], check: str, code: str | None, detail: str | None, why: str) -> None:
    """Exactly `check` fails (with this code and text when given); every other check passes."""
    others = [name for name in CHECKS if name != check and not _block(answer, name).get("ok")]
    block = _block(answer, check)
    problems = []
    if block.get("ok") is not False:
        problems.append(f"`{check}` is ok={block.get('ok')!r}, expected false")
    if block.get("internal") is not (check in INTERNAL):
        problems.append(f"`{check}`.internal is {block.get('internal')!r}, expected {check in INTERNAL}")
    errors = block.get("errors") or []
    got = [(e.get("code"), e.get("detail")) for e in errors if isinstance(e, dict)]
    if not got:
        if block.get("ok") is False:
            problems.append(f"`{check}` fails without errors (People reads errors[0].detail)")
    elif code is not None and got[0][0] != code:
        problems.append(f"`{check}` fails with code {got[0][0]!r}, expected {code!r}")
    elif detail is not None and got[0][1] != detail:
        problems.append(f"`{check}` says {got[0][1]!r}, expected {detail!r}")
    if others:
        listed = ", ".join(f"{name} {_block(answer, name).get('errors')}" for name in others)
        problems.append(f"other checks fail too: {listed}")
    problems += _errors_of_passing(answer)
    if answer.get("state") != "broken" or answer.get("valid") is not False:
        problems.append(f"state {answer.get('state')!r}, valid {answer.get('valid')!r}, expected 'broken', false")
    if problems:
        raise ContractBroken(f"{why}: {'; '.join(problems)}")


def _errors_of_passing(answer: dict[str, Any]) -> list[str]:
    """A passing check (applicable or not) shows no errors (CHECKS §2, §5)."""
    return [f"`{name}` passes with errors {_block(answer, name).get('errors')} (CHECKS §5: none)" for name in CHECKS
            if _block(answer, name).get("ok") and _block(answer, name).get("errors")]


def all_passing(answer: dict[str, Any], why: str) -> None:
    """Every check passes, with no errors: the domain is valid."""
    failing = [f"{name} {_block(answer, name).get('errors')}" for name in CHECKS if not _block(answer, name).get("ok")]
    problems = [f"checks fail: {', '.join(failing)}"] if failing else []
    problems += _errors_of_passing(answer)
    if answer.get("state") != "ok" or answer.get("valid") is not True:
        problems.append(f"state {answer.get('state')!r}, valid {answer.get('valid')!r}, expected 'ok', true")
    if problems:
        raise ContractBroken(f"{why}: {'; '.join(problems)}")


@pytest.fixture(scope="module")
def zone(dimail_target: Target, spec: Spec) -> Iterator[Zone]:
    if dimail_target.lacks(FIX):
        pytest.skip("the target does not declare GET /domains/{domain_name}/fix")
    yield Zone(dimail_target, spec)


# --- on any dimail ---------------------------------------------------------------------------------


def test_spec_is_self_consistent(dimail_target: Target, domain: str, spec: Spec, features: list[str]) -> None:
    """One record per external check that reads one and applies to the domain's features, none for a check that
    does not apply, each usable as written (CHECKS §2, §6)."""
    for record in spec.records:
        if record["type"] not in ("mx", "txt", "cname"):
            raise ContractBroken(f"/spec of {domain}: record type {record['type']!r}, expected mx, txt or cname "
                                 "(lower case)")
    for check in ("mx", "spf", "dkim", *CNAME_KINDS):
        if applies(check, features):
            spec.one(check)
        elif spec.find(check):
            raise ContractBroken(f"/spec of {domain} names a record for `{check}`, which does not apply to it")
    mx = spec.one("mx")["value"]
    if not mx.endswith(".") or not all(LABEL.fullmatch(label) for label in mx[:-1].split(".")):
        raise ContractBroken(f"/spec of {domain}: the MX value {mx!r} is not a host name with its final dot")
    for check in CNAME_KINDS:
        for record in spec.find(check):
            if not record["value"].endswith("."):
                raise ContractBroken(f"/spec of {domain}: the CNAME for {spec.host(record)} points to "
                                     f"{record['value']!r}, without its final dot")
    terms = spec.one("spf")["value"].split()[1:]
    if not spec.include() or not terms or not re.fullmatch(r"[-~?+]?all", terms[-1]):
        raise ContractBroken(f"/spec of {domain}: the SPF record {spec.one('spf')['value']!r} needs an include "
                             "(with no qualifier or `+`) and a final `all`")
    _dkim_is_usable(domain, spec.one("dkim"))
    again = dimail_target.call("GET", f"/domains/{domain}/spec")
    if again.status_code != 200 or again.json() != spec.records:
        raise ContractBroken(f"/spec of {domain} changed between two reads: {spec.records} then {again.text[:300]}")


def _dkim_is_usable(domain: str, record: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    selector, _, rest = record["target"].partition(".")
    if rest not in ("_domainkey", f"_domainkey.{domain}.") or not LABEL.fullmatch(selector):
        raise ContractBroken(f"/spec of {domain}: the DKIM record is named {record['target']!r}, expected "
                             "<selector>._domainkey")
    tags = dict(part.strip().partition("=")[::2] for part in record["value"].split(";") if "=" in part)
    if tags.get("v") != "DKIM1" or tags.get("k", "rsa") != "rsa" or not tags.get("p"):
        raise ContractBroken(f"/spec of {domain}: the DKIM record {record['value'][:80]!r} lacks v=DKIM1, k=rsa or p=")
    try:
        key = load_der_public_key(base64.b64decode(tags["p"], validate=True))
    except ValueError as exc:
        raise ContractBroken(f"/spec of {domain}: the DKIM key p= is not a base64 DER public key ({exc})") from None
    if not isinstance(key, RSAPublicKey) or key.key_size < 1024:
        raise ContractBroken(f"/spec of {domain}: the DKIM key is not an RSA key of 1024 bits or more")


def test_an_unpublished_domain_fails_domain_exist_alone(dimail_target: Target, domain: str) -> None:
    """A name nobody published shows one error, `must_exist`; every other check is skipped as ok (CHECKS §3)."""
    if dimail_target.steerable:
        status(dimail_target.call("PUT", f"/_fake/dns/{domain}", json=[]), 200, "empty the zone")
    answer = dimail_target.call("GET", f"/domains/{domain}/check", auth=dimail_target.people)
    status(answer, 200, f"GET /domains/{domain}/check")
    checked = body(answer, "GET /domains/{d}/check")
    only_failing(checked, "domain_exist", "must_exist", TEXTS["must_exist"].format(domain=domain),
                 f"GET /domains/{domain}/check, the name unpublished")
    skipped = {n: _block(checked, n) for n in CHECKS if n != "domain_exist" and _block(checked, n).get("errors")}
    if skipped:
        raise ContractBroken(f"GET /domains/{domain}/check, the name unpublished: the other checks are skipped with "
                             f"no errors, got {skipped}")


# --- on the fake: each check, through the API alone -------------------------------------------------


def test_publishing_exactly_the_spec_makes_the_domain_valid(dimail_target: Target, spec: Spec,
                                                           zone: Zone) -> None:
    """/spec's records make every external check pass at /check, and the internal ones after /fix."""
    _not_judged(dimail_target, "publishing exactly /spec's records makes the domain valid")
    zone.publish(spec.records, "exactly the records /spec answers")
    checked = zone.run("check")
    failing = {n: _block(checked, n).get("errors") for n in EXTERNAL if not _block(checked, n).get("ok")}
    if failing:
        zone.invalid = (f"with exactly the records GET /domains/{spec.domain}/spec answers published, /check fails "
                        f"external checks: {failing}: /spec promises what dimail does not check")
        raise ContractBroken(f"GET /domains/{spec.domain}/check: {zone.invalid}")
    zone.all_pass(f"GET /domains/{spec.domain}/fix")


@dataclass(frozen=True)
class Change:
    """One way to break a check: remove its record, or alter it to this value (its code and text follow)."""

    check: str
    altered: str | None  # None: removed


def _changes() -> list[Change]:
    out = [Change("domain_exist", None)]
    for check in ("mx", *CNAME_KINDS, "spf", "dkim"):
        out += [Change(check, None), Change(check, "altered")]
    return out


def _altered(check: str, value: str) -> str:
    if check == "mx":
        return "mx." + ELSEWHERE
    if check == "spf":
        return "v=spf1 include:_spf." + ELSEWHERE.rstrip(".") + " -all"
    if check == "dkim":  # the same tags, another key
        head, _, key = value.partition("p=")
        middle = len(key) // 2
        return f"{head}p={key[:middle]}{'B' if key[middle] == 'A' else 'A'}{key[middle + 1:]}"
    return ELSEWHERE


def _expected(spec: Spec, change: Change, published: str) -> tuple[str, str]:
    """dimail's code and text for this change (CHECKS §3)."""
    check, removed = change.check, change.altered is None
    if check == "domain_exist":
        return "must_exist", TEXTS["must_exist"].format(domain=spec.domain)
    if check == "mx":
        wanted = spec.one("mx")["value"]
        return ("no_mx", TEXTS["no_mx"]) if removed else ("wrong_mx", TEXTS["wrong_mx"].format(wanted=wanted,
                                                                                               found=published))
    if check in ("spf", "dkim"):
        code = f"{'no' if removed else 'wrong'}_{check}"
        return code, TEXTS[code].format(include=spec.include())
    record, kind = spec.one(check), CNAME_KINDS[check]
    text = TEXTS["no_cname" if removed else "wrong_cname"].format(host=spec.host(record), wanted=record["value"],
                                                                  found=published)
    return f"{'no' if removed else 'wrong'}_cname_{kind}", text


@pytest.mark.parametrize("change", _changes(), ids=lambda c: f"{c.check}-{'removed' if c.altered is None else 'altered'}")
def test_one_record_changed_fails_exactly_its_check(dimail_target: Target, spec: Spec, zone: Zone,
                                                    change: Change, features: list[str]) -> None:
    """Exactly the changed record's check fails, with dimail's code and text; for a check that does not apply to
    the domain's features, a CNAME published elsewhere (or none) changes nothing (CHECKS §2)."""
    _not_judged(dimail_target, f"`{change.check}` fails alone, with dimail's code and text, once its record is "
                               f"{'removed' if change.altered is None else 'altered'}")
    zone.all_pass(f"before changing the record of `{change.check}`")
    if not applies(change.check, features):
        kind = CNAME_KINDS[change.check]
        records = spec.records + ([] if change.altered is None else
                                  [{"target": kind, "type": "cname", "value": ELSEWHERE}])
        how = (f"no CNAME at {kind}.{spec.domain}" if change.altered is None
               else f"a CNAME at {kind}.{spec.domain} to {ELSEWHERE}")
        zone.publish(records, how)
        all_passing(zone.run("check"), f"GET /domains/{spec.domain}/check on a domain with features {features}, "
                                       f"{how}: `{change.check}` does not apply (CHECKS §2)")
        return
    if change.check == "domain_exist":
        records, published, how = [], "", "every record removed"
    else:
        record = spec.one(change.check)
        named = f"the {record['type'].upper()} record at {spec.host(record)}"
        if change.altered is None:
            records, published, how = [r for r in spec.records if r is not record], "", f"{named} removed"
        else:
            published = _altered(change.check, record["value"])
            records = [{**r, "value": published} if r is record else r for r in spec.records]
            how = f"{named} set to {published!r}"
    zone.publish(records, how)
    code, text = _expected(spec, change, published)
    only_failing(zone.run("check"), change.check, code, text, f"GET /domains/{spec.domain}/check, {how}")


@pytest.mark.parametrize("tag", DKIM_CRASHING_TAGS)
def test_a_dkim_record_without_a_tag_crashes_the_check(dimail_target: Target, spec: Spec, zone: Zone,
                                                       tag: str) -> None:
    """A DKIM TXT record at the selector that starts as one (`v=DKIM1; `) but lacks its `h`, `k` or `p` tag makes
    dimail's reader fail: `/check` answers 500 (CHECKS §3, crashes [real-2024, code]; a customer can publish
    such a record)."""
    _not_judged(dimail_target, f"a DKIM record without `{tag}=` makes /check answer 500")
    zone.all_pass(f"before publishing a DKIM record without `{tag}=`")
    record = spec.one("dkim")
    value = "; ".join(part.strip() for part in record["value"].split(";") if part.strip().partition("=")[0] != tag)
    zone.publish([{**r, "value": value} if r is record else r for r in spec.records],
                 f"the DKIM record without `{tag}=`")
    answer = dimail_target.call("GET", f"/domains/{spec.domain}/check", auth=dimail_target.people)
    status(answer, 500, f"GET /domains/{spec.domain}/check, the DKIM record published as {value[:40]!r}…",
           "dimail's DKIM reader fails on a record without one of its tags, CHECKS §3")


@pytest.mark.parametrize("check", INTERNAL)
def test_an_internal_failure_is_exactly_its_check_and_fix_repairs_it(dimail_target: Target, spec: Spec, zone: Zone,
                                                                     check: str, features: list[str]) -> None:
    """dimail's own side, broken through the fake's platform switch: exactly that check fails; /fix repairs it.
    A check that does not apply to the domain's features stays passing (CHECKS §2)."""
    _not_judged(dimail_target, f"`{check}` fails alone when dimail's side of the domain breaks, and /fix repairs it",
                "needs breaking that side, which only the fake lets a client do (/_fake/domains/{d}/platform)")
    zone.all_pass(f"before breaking `{check}`")
    change = {"certificate": False} if check == "cert" else {"broken": [check]}
    answer = dimail_target.call("PATCH", f"/_fake/domains/{spec.domain}/platform", json=change)
    status(answer, 200, f"PATCH /_fake/domains/{spec.domain}/platform {change}")
    checked = zone.run("check")
    if not applies(check, features):
        all_passing(checked, f"GET /domains/{spec.domain}/check on a domain with features {features}, `{check}` "
                             "broken on dimail's side: it does not apply (CHECKS §2)")
    elif check == "cert" and answer.json().get("certs_on_check"):  # a fake run with --certs-on-check
        if not _block(checked, "cert").get("ok"):
            raise ContractBroken(f"GET /domains/{spec.domain}/check, the certificate revoked on a fake that issues "
                                 f"them during /check: `cert` {_block(checked, 'cert')}, expected it issued again")
    else:
        only_failing(checked, check, INTERNAL_CODES.get(check), None,
                     f"GET /domains/{spec.domain}/check, `{check}` broken on dimail's side")
    zone.all_pass(f"GET /domains/{spec.domain}/fix after `{check}` broke")
