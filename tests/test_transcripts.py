"""Replay of the 222 exchanges recorded against the real 2024 dimail, on the fake.

Source: reference/dimail/transcripts/ (format in its README.md). Files 01–09 are
one continuous run and are replayed in order on ONE fake; 10, 11 and 13 each
start on a fresh fake; 12 is another server version and is skipped.

Each exchange is one test, named `<file>:<line> <METHOD> <path>`. The fake
reproduces dimail v0.8.2, the recordings are of 2024 code: every difference
is handled by a named entry of the tables below, with its reason, and shows up
in pytest's output (`pytest -ra` lists the skips with their reasons) and in the
summary the last test writes to reports/transcript-replay.txt (printed too under -v).
A row is

- **replayed** when the recorded request is sent and every recorded value is
  compared: status, the kept headers (`location` by its path), the body —
  generated values (uuids, passwords, tokens) by shape, and objects that gained
  fields in v0.8.2 on the recorded keys (the comparison rules of RULES);
- **adapted** when the request or the expectation had to change, or recorded
  keys are left uncompared (an ADAPTATION, or a rule marked `adapts=True`);
- **skipped** when it cannot be replayed yet or at all (SKIP_*).

State carries over: replaying row N first replays every earlier row of its run
(lazily), so `-k` on a single exchange still gives the right answer.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from fake_dimail import FakeDimail, Settings, create_app, replay
from fake_dimail.transcript import mint_token, parse_label
from tests.conftest import REFERENCE

TRANSCRIPTS = REFERENCE / "transcripts"
# The replay summary: a file (reports/ is git-ignored), printed as well only under -v.
SUMMARY = REFERENCE.parents[1] / "reports" / "transcript-replay.txt"
OPENAPI = REFERENCE / "openapi-v0.8.2.json"

_SCHEMAS = json.loads(OPENAPI.read_text())["components"]["schemas"]

KEEP: Any = object()  # "unchanged" marker of Adapt fields


# =============================================================================
# 1. The table: every skip and adaptation, each with its reason
# =============================================================================

SKIP_FILES = {
    "12": "recorded against dimail main@73f4223, another server version (no checks, other Domain shape): "
          "not evidence for v0.8.2",
}

_FAULT = ("the fake does not inject a DKIM-manager failure (CONTRACT.md §6 #35: fault injection, off); "
          "this row only exists because of that failure")
SKIP_ROWS = {
    "11:02": _FAULT + " (500 after the OX context was made)",
    "11:03": _FAULT + " (empty listing after the failed creation)",
    "11:04": _FAULT + " (409 'currently mapped to OX context' left by the half-created context)",
    "11:05": _FAULT + " (500 again)",
}

# The recording's DNS server (transcripts/README.md: example.fr and split.fr correct, broken.fr
# wrong records, bare.fr and custom.fr name servers only, every other name NXDOMAIN), rebuilt in
# the fake's simulated DNS. A correct zone holds the DKIM key dimail makes at domain creation, so
# it can only be written once the domain exists: each step runs just before the row it names.
OTHER_DKIM = ("v=DKIM1; h=sha256; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3"
              "/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxWqKMP2DIKhX9NswkyXbqBOx9WLEz4dyINNwx2MSw1jk2ho4Gq3zJyh3C")
BROKEN_FR_ZONE = [
    {"target": "", "type": "mx", "value": "10 mx.other-provider.net."},
    {"target": "webmail", "type": "cname", "value": "webmail.other-provider.net."},
    {"target": "", "type": "txt", "value": "v=spf1 include:_spf.other-provider.net -all"},
    {"target": "dimail._domainkey", "type": "txt", "value": OTHER_DKIM},
]


def _recorded_zones(fake: FakeDimail) -> None:
    fake.set_dns("broken.fr", BROKEN_FR_ZONE)
    fake.publish("bare.fr", "exists")
    fake.publish("custom.fr", "exists")


@dataclass(frozen=True)
class DnsStep:
    reason: str
    apply: Callable[[FakeDimail], Any]


DNS_STEPS = {
    "02:05": DnsStep("example.fr's background check (02:04) ran against a correct zone: its /spec records are "
                     "published and the creation check is run again",
                     lambda fake: (fake.publish("example.fr"), fake.check("example.fr"))),
    "07:01": DnsStep("broken.fr gets other providers' MX, SPF, webmail CNAME and DKIM key; bare.fr and custom.fr "
                     "name servers only", _recorded_zones),
    "07:07": DnsStep("split.fr (created at 07:06) gets its /spec records", lambda fake: fake.publish("split.fr")),
}
# 2024 had no internal checks: every run's fake issues certificates at /check, so only the
# recorded external checks decide a domain's state.
RUN_SETTINGS = Settings(certs_on_check=True)


# How an Authorization label is turned back into a header, where the label
# alone does not say it (README: right and wrong passwords share one label).
LABEL_READINGS = {
    "01:07": ("wrong-password", "note: wrong password"),
    "01:39": ("wrong-password", "no note, but la_regie's right password worked at 01:36 and nothing changed "
                                "since: the recorded 403 is a wrong password"),
    "01:11": ("non-ascii", "note: non-ASCII Basic credentials"),
    "06:05": ("expired", "note: expired token"),
    "06:06": ("other-secret", "note: signed with another secret"),
    "06:07": ("alg-none", "note: alg none"),
    "06:09": ("no-exp", "note: valid signature, no exp claim"),
    "06:10": ("no-sub", "note: valid signature, no sub claim"),
}


@dataclass(frozen=True)
class Rule:
    """A systematic difference or comparison detail, applied wherever it fits."""

    name: str
    reason: str
    adapts: bool  # True: the request or the expectation changes (the row counts as adapted)


RULES = {r.name: r for r in (
    Rule("perms-required", "v0.8.2 requires `perms` in POST /users/ (2024 ignored it, a body without it now "
                           "gets 422): \"perms\": [] added to the request, and to the 422 `input` echoes", True),
    Rule("no-mailbox-uuid", "v0.8.2 NewMailbox is {email, password}: the unstored 2024 `uuid` must be absent", True),
    Rule("alias-201", "alias creation answered 200 in 2024; v0.8.2 and People say 201 (CONTRACT.md §7)", True),
    Rule("domain-shape", "the 2024 Domain (mailbox_domain, imap_domains, smtp_domains, 7 checks without "
                         "`internal`) differs a lot from v0.8.2's: name/state/valid/features/context_name and the "
                         "`ok`/`errors` of the seven external checks are compared", True),
    Rule("recorded-dns", "the simulated DNS is set as the recording's DNS server answered (DNS_STEPS)", False),
    Rule("crash-switch", "the fake answers tokens without exp/sub with 403 and 'bearer'/'BEARER' normally by "
                         "default; Settings(crash_on_odd_tokens=True) gives the recorded 500: replayed on such a "
                         "twin app sharing the same state, the default answer is checked as well", True),
    Rule("added-fields", "v0.8.2 objects gained fields (User perms/acls/identities, Mailbox active/"
                         "additionalSenders/rate_limit, Alias allow_to_send): every recorded key is compared, "
                         "only those new keys are tolerated", False),
    Rule("generated-values", "uuids, mailbox passwords and tokens differ on every run: compared by shape "
                             "(tokens: HS256 with the fake's secret, same claim names, same sub)", False),
    Rule("unordered-listing", "mailbox and allow listings have no defined order (CONTRACT.md §4.3, §4.5; the "
                              "recordings themselves vary): compared as multisets", False),
)}


@dataclass(frozen=True)
class Adapt:
    """One exchange's adaptation: what changes, and why."""

    reason: str
    request_json: Any = KEEP
    status: Any = KEEP
    response_json: Any = KEEP  # a value, or a function of the recorded body
    response_text: Any = KEEP
    default_answer: tuple[int, Any] | None = None  # crash-switch rows: the fake's default (status, body)


def _pattern_error(where: str, name: str, value: str, schema: str) -> dict[str, Any]:
    pattern = _SCHEMAS[schema]["pattern"]
    return {"type": "string_pattern_mismatch", "loc": [where, name], "msg": f"String should match pattern '{pattern}'",
            "input": value, "ctx": {"pattern": pattern}}


def _enum_error(loc: list[Any], value: str, schema: str) -> dict[str, Any]:
    values = [f"'{v}'" for v in _SCHEMAS[schema]["enum"]]
    expected = ", ".join(values[:-1]) + " or " + values[-1]
    return {"type": "enum", "loc": loc, "msg": f"Input should be {expected}", "input": value,
            "ctx": {"expected": expected}}


def _domain(name: str, features: list[str], context_name: str | None = None) -> dict[str, Any]:
    return {"name": name, "state": "new", "valid": False, "features": features, "context_name": context_name}


def _v082_domains(recorded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The domain list of the 01–09 run under v0.8.2: 'Not A Domain!' refused (02:14), noctxkey.fr created and
    checked (02:11: unknown to DNS), custom.fr checked at 07:05 (name servers only)."""
    out = []
    for domain in recorded:
        if domain["name"] == "custom.fr" and domain["state"] != "new":
            out.append(CUSTOM_FR_CHECKED)
        elif domain["name"] != "Not A Domain!":
            out.append(domain)
        if domain["name"] == "aliasonly.fr":
            out.append({**_domain("noctxkey.fr", ["mailbox"]), "state": "broken"})
    return out


def _after_07_05(recorded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """07:13's listing: custom.fr was checked at 07:05 in v0.8.2 (2024 crashed and left it `new`)."""
    return [CUSTOM_FR_CHECKED if d["name"] == "custom.fr" else d for d in _v082_domains(recorded)]


def _recorded_body(ex_id: str) -> Any:
    file, line = ex_id.split(":")
    (path,) = TRANSCRIPTS.glob(f"{file}-*.jsonl")
    return json.loads(path.read_text().splitlines()[int(line) - 1])["response_json"]


def _without(email: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    return lambda recorded: [m for m in recorded if m["email"] != email]


CUSTOM_FR_CHECKED = {**_domain("custom.fr", ["webmail", "mailbox"]), "state": "broken"}
_GENERATED_PASSWORD = object()  # placeholder for "a generated mailbox password" in adapted bodies
_500 = "Internal Server Error"
_CONTACT_ALIASES = [  # the aliases of example.fr between 05:05 and 05:20
    {"username": "contact", "domain": "example.fr", "destination": "jean.dupont@example.fr"},
    {"username": "contact", "domain": "example.fr", "destination": "someone@elsewhere.org"},
    {"username": "old.name", "domain": "example.fr", "destination": "new.name@example.fr"},
]
_DENIED = {"detail": "Permission denied"}

ADAPTATIONS: dict[str, Adapt] = {
    # --- 01 users -------------------------------------------------------------
    "01:12": Adapt("2024 ignored `perms`, so the recorded la_regie had none (hence 02:01's 403 and 02:03 making it "
                   "admin): sent with \"perms\": [] to keep that run (v0.8.2 would let it create domains)",
                   request_json={"name": "la_regie", "password": "regie-pass", "is_admin": False, "perms": []}),
    # --- 02 domains -----------------------------------------------------------
    "02:11": Adapt("v0.8.2 makes `context_name` optional (2024 required the key): the domain is created",
                   status=201, response_json=_domain("noctxkey.fr", ["mailbox"])),
    "02:12": Adapt("v0.8.2 adds the features `mx` and `relay`, which changes the enum message",
                   response_json={"detail": [_enum_error(["body", "features", 1], "calendar", "DomainFeature")]}),
    "02:14": Adapt("2024 did not validate domain names; v0.8.2 checks CreateDomain.name against DomainName (422)",
                   status=422,
                   response_json={"detail": [_pattern_error("body", "name", "Not A Domain!", "DomainName")]}),
    "02:16": Adapt("listing after 02:11 (noctxkey.fr now created) and 02:14 ('Not A Domain!' now refused)",
                   response_json=_v082_domains),
    "02:17": Adapt("listing after 02:11 (noctxkey.fr now created) and 02:14 ('Not A Domain!' now refused)",
                   response_json=_v082_domains),
    # --- 04 mailboxes ---------------------------------------------------------
    "04:16": Adapt("v0.8.2 CreateMailbox has no required field (2024 required surName/displayName): marie is created",
                   status=201, response_json={"email": "marie@example.fr", "password": _GENERATED_PASSWORD}),
    "04:18": Adapt("marie already exists since 04:16 (see there): a duplicate mailbox is a plain 500",
                   status=500, response_json=None, response_text=_500),
    "04:19": Adapt("2024 did not validate local parts; v0.8.2 validates the user_name path parameter (422)",
                   status=422,
                   response_json={"detail": [_pattern_error("path", "user_name", "Not Valid!", "UserName")]}),
    "04:21": Adapt("admin POST of a mailbox on an unknown domain: 2024 crashed (500), v0.8.2 declares 404 "
                   "(CONTRACT.md §7)", status=404, response_json={"detail": "Domain not found"}, response_text=None),
    "04:35": Adapt("'Not Valid!@example.fr' was refused at 04:19", response_json=_without("Not Valid!@example.fr")),
    # --- 05 aliases -----------------------------------------------------------
    "05:15": Adapt("2024 did not validate alias fields; 'b@c.d' has a one-letter TLD, which AliasDest refuses (422)",
                   status=422,
                   response_json={"detail": [_pattern_error("body", "destination", "b@c.d", "AliasDest")]}),
    "05:16": Adapt("2024 stored 'a@b' then crashed; v0.8.2 validates user_name (UserName) and destination "
                   "(AliasDest: 'x@y.z' has a one-letter TLD): 422 with both errors",
                   status=422, response_text=None,
                   response_json={"detail": [_pattern_error("body", "user_name", "a@b", "UserName"),
                                             _pattern_error("body", "destination", "x@y.z", "AliasDest")]}),
    "05:17": Adapt("no 'a@b' alias was stored at 05:16, so the listing works (2024: 500)",
                   status=200, response_text=None, response_json=_CONTACT_ALIASES),
    "05:18": Adapt("no 'a@b' alias was stored at 05:16: nothing to delete, 404 Not found",
                   status=404, response_json={"detail": "Not found"}),
    # --- 06 auth errors -------------------------------------------------------
    "06:09": Adapt("token without `exp`: the fake without the switch refuses it, 403 Permission denied",
                   default_answer=(403, _DENIED)),
    "06:10": Adapt("token without `sub`: the fake without the switch refuses it, 403 Permission denied",
                   default_answer=(403, _DENIED)),
    "06:11": Adapt("scheme spelled `bearer`: the fake without the switch accepts it, 200", default_answer=(200, None)),
    "06:12": Adapt("scheme spelled `BEARER`: the fake without the switch accepts it, 200", default_answer=(200, None)),
    # --- 07 (outside /check) --------------------------------------------------
    "07:05": Adapt("the 2024 crash came from custom.fr's mail sub-domain missing in DNS; v0.8.2 has no mail "
                   "sub-domain (CHECKS.md §2): custom.fr, with name servers only, is simply broken",
                   status=200, response_text=None, response_json=CUSTOM_FR_CHECKED),
    "07:08": Adapt("'Not A Domain!' was refused at 02:14 (DomainName): no such domain", status=404,
                   response_json={"detail": "Domain not found"}),
    "07:11": Adapt("2024's /check was admin-only (CONTRACT.md §3.7); in v0.8.2 a user allowed on the domain may "
                   "check it, and operator holds an allow on example.fr since 03:04: the result of 07:01",
                   status=200, response_json=lambda recorded: _recorded_body("07:01")),
    "07:13": Adapt("listing after 02:11 (noctxkey.fr created), 02:14 ('Not A Domain!' refused) and 07:05 "
                   "(custom.fr checked)", response_json=_after_07_05),
    # --- 10 no DNS --------------------------------------------------------------
    "10:03": Adapt("the fake runs the creation check at once and its DNS always answers (CHECKS.md §1): the GET "
                   "already shows what the recorded /check gave 5.6 s later (10:04)",
                   response_json=lambda recorded: _recorded_body("10:04")),
    # --- 08 deletions ---------------------------------------------------------
    "08:11": Adapt("DELETE /domains/{d} answered 405 in 2024; v0.8.2 has it, and bare.fr still holds paul@bare.fr "
                   "(04:22): 409 'Domain is not empty' (CONTRACT.md §4.4)",
                   status=409, response_json={"detail": "Domain is not empty"}),
    # --- 13 shared OX context -------------------------------------------------
    "13:06": Adapt("2024 fake-OX artefact: same OX username twice in one context; v0.8.2 refuses it with the "
                   "duplicate 500 (CONTRACT.md §6 #3, #34)", status=500, response_json=None, response_text=_500),
    "13:07": Adapt("jean.dupont@second.fr was refused at 13:06", response_json=_without("jean.dupont@second.fr")),
    "13:09": Adapt("jean.dupont@second.fr was refused at 13:06: no such mailbox", status=404,
                   response_json={"detail": "Mailbox not found"}),
    "13:11": Adapt("2024 fake-OX artefact (shared username index already removed → 500, half-deleted mailbox); "
                   "in v0.8.2 this mailbox is whole and its deletion works", status=204, response_json=None,
                   response_text=None),
    "13:12": Adapt("deleted at 13:11, no half-deleted leftover: 404", status=404, response_text=None,
                   response_json={"detail": "Mailbox not found"}),
}

# Replayed unchanged, but whose meaning differs from the recording: said here so nobody wonders.
EXPLANATIONS = {
    "07:07": "split.fr's 2024 body also named mail/imap/smtp hosts; v0.8.2 keeps only webmail_domain (wm.split.fr), "
             "so the zone published before this row is the v0.8.2 /spec of that domain",
    "02:01": "la_regie holds no perm (01:12), so v0.8.2 refuses too — for the missing `new_domain`",
    "13:13": "same 404 as recorded, but because 13:11 deleted the mailbox, not because it is stuck half-deleted",
}


# Rows that fail because the fake, not the 2024 server, departs from the contract.
# They keep asserting the recorded value: they fail until the fake is fixed.
SUSPECTED_FAKE_BUGS = {
    "09:05": "simple CORS request with Origin: the fake echoes the origin in access-control-allow-origin "
             "(the Starlette it runs, 1.10, does so whenever credentials are allowed); recorded and "
             "CONTRACT.md §1.3 say '*'",
}


# =============================================================================
# 2. Loading the transcripts and planning each exchange
# =============================================================================

RUNS = {"01-09": [f"{n:02d}" for n in range(1, 10)], "10": ["10"], "11": ["11"], "12": ["12"], "13": ["13"]}
CRASH_TOKEN_VARIANTS = {"no-exp", "no-sub"}


@dataclass
class Plan:
    id: str  # "01:07"
    run: str
    recorded: dict[str, Any]
    skip: str | None = None
    rules: list[str] = field(default_factory=list)  # names in RULES
    adapt: Adapt | None = None
    reading: str | None = None
    # the request and expectation after adaptation
    request_json: Any = None
    status: int = 0
    response_json: Any = None
    response_text: str | None = None

    @property
    def label(self) -> str:
        return f"{self.id} {self.recorded['method']} {self.recorded['path']}"

    @property
    def adapted(self) -> bool:
        return self.adapt is not None or any(RULES[r].adapts for r in self.rules)

    @property
    def reasons(self) -> list[str]:
        out = [f"[{r}] {RULES[r].reason}" for r in self.rules if RULES[r].adapts]
        if self.id in DNS_STEPS:
            out.append(f"[recorded-dns] {DNS_STEPS[self.id].reason}")
        if self.adapt is not None:
            out.append(f"[row] {self.adapt.reason}")
        return out


def _route(path: str) -> list[str]:
    return urlsplit(path).path.strip("/").split("/")


def _kind(method: str, path: str) -> str:
    """Which object a 2xx body holds, to compare it the right way."""
    parts = _route(path)
    if parts == ["token"]:
        return "token"
    if parts[0] == "users":
        return "user"
    if parts[0] == "allows":
        return "allow"
    if parts[0] == "domains":
        if len(parts) <= 2 or parts[2] in ("check", "fix"):
            return "domain"
        if parts[2] == "mailboxes":
            return "mailbox-list" if len(parts) == 3 else ("new-mailbox" if method == "POST" else "mailbox")
        if parts[2] == "aliases":
            return "alias"
    return "exact"


def _plan(file: str, line: int, recorded: dict[str, Any], run: str) -> Plan:
    ex_id = f"{file}:{line:02d}"
    plan = Plan(ex_id, run, recorded, request_json=recorded["request_json"], status=recorded["status"],
                response_json=recorded["response_json"], response_text=recorded.get("response_text"))
    method, path = recorded["method"], recorded["path"]
    if file in SKIP_FILES:
        plan.skip = SKIP_FILES[file]
        return plan
    if ex_id in SKIP_ROWS:
        plan.skip = SKIP_ROWS[ex_id]
        return plan
    plan.reading = LABEL_READINGS.get(ex_id, (None, ""))[0]
    if ex_id in DNS_STEPS:
        plan.rules.append("recorded-dns")

    # systematic rules, on the recorded exchange
    body, status = plan.request_json, plan.status
    if method == "POST" and urlsplit(path).path == "/users/" and isinstance(body, dict) and "perms" not in body:
        plan.rules.append("perms-required")
        plan.request_json = {**body, "perms": []}
        if status == 422 and isinstance(plan.response_json, dict) and isinstance(plan.response_json["detail"], list):
            plan.response_json = {"detail": [{**e, "input": plan.request_json} if e.get("input") == body else e
                                             for e in plan.response_json["detail"]]}
    kind = _kind(method, path)
    if kind == "new-mailbox" and status == 201 and "uuid" in (plan.response_json or {}):
        plan.rules.append("no-mailbox-uuid")
        plan.response_json = {k: v for k, v in plan.response_json.items() if k != "uuid"}
    if kind == "alias" and method == "POST" and status == 200:
        plan.rules.append("alias-201")
        plan.status = 201
    if plan.reading in CRASH_TOKEN_VARIANTS or recorded["request_headers"].get("Authorization", "").startswith(
            ("bearer ", "BEARER ")):
        plan.rules.append("crash-switch")

    # the row's own adaptation
    adapt = ADAPTATIONS.get(ex_id)
    if adapt is not None:
        plan.adapt = adapt
        if adapt.request_json is not KEEP:
            plan.request_json = adapt.request_json
        if adapt.status is not KEEP:
            plan.status = adapt.status
        if adapt.response_json is not KEEP:
            value = adapt.response_json
            plan.response_json = value(plan.response_json) if callable(value) else value
        if adapt.response_text is not KEEP:
            plan.response_text = adapt.response_text

    # comparison rules, on the final expectation
    if 200 <= plan.status < 300 and plan.response_json is not None:
        if kind == "domain":
            plan.rules.append("domain-shape")
        if kind in ("user", "mailbox", "mailbox-list", "alias"):
            plan.rules.append("added-fields")
        if kind in ("user", "token", "new-mailbox"):
            plan.rules.append("generated-values")
        if kind in ("allow", "mailbox-list") and isinstance(plan.response_json, list):
            plan.rules.append("unordered-listing")
    return plan


def _load() -> list[Plan]:
    plans = []
    for run, files in RUNS.items():
        for file in files:
            (path,) = TRANSCRIPTS.glob(f"{file}-*.jsonl")
            for line, text in enumerate(path.read_text().splitlines(), 1):
                plans.append(_plan(file, line, json.loads(text), run))
    return plans


PLANS = _load()
BY_ID = {p.id: p for p in PLANS}


# =============================================================================
# 3. Comparing: shapes for generated values, the recorded keys of grown objects
# =============================================================================

@dataclass(frozen=True)
class Shape:
    what: str
    pattern: str

    def problems(self, actual: Any, where: str) -> list[str]:
        if isinstance(actual, str) and re.fullmatch(self.pattern, actual):
            return []
        return [f"{where}: {actual!r} is not {self.what}"]


UUID4 = Shape("a uuid4", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
MAILBOX_PASSWORD = Shape("a 16-character URL-safe password", r"[A-Za-z0-9_-]{16}")


@dataclass(frozen=True)
class Token:
    """A JWT as `GET /token/` issues it: HS256 with the fake's secret, the recorded claim names and sub."""

    secret: str
    claims: frozenset[str]
    sub: Any

    def problems(self, actual: Any, where: str) -> list[str]:
        try:
            claims = jwt.decode(actual, self.secret, algorithms=["HS256"])
        except (jwt.PyJWTError, TypeError) as exc:
            return [f"{where}: not a valid HS256 token of the fake ({exc})"]
        out = []
        if set(claims) != self.claims:
            out.append(f"{where}: claims {sorted(claims)}, recorded {sorted(self.claims)}")
        if claims.get("sub") != self.sub:
            out.append(f"{where}: sub {claims.get('sub')!r}, recorded {self.sub!r}")
        return out


@dataclass(frozen=True)
class Fields:
    """An object compared on some keys; `extra`: the other keys it may have (None: any)."""

    fields: dict[str, Any]
    extra: frozenset[str] | None = frozenset()


@dataclass(frozen=True)
class Unordered:
    items: list[Any]


ADDED_FIELDS = {
    "user": frozenset({"perms", "acls", "identities"}),
    "mailbox": frozenset({"active", "additionalSenders", "rate_limit"}),
    "alias": frozenset({"allow_to_send"}),
}
DOMAIN_KEYS = ("name", "state", "valid", "features", "context_name")
EXTERNAL_CHECKS = ("domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim")


def expected_body(plan: Plan, secret: str) -> Any:
    """The recorded (or adapted) body turned into what the fake's answer must match."""
    body = plan.response_json
    if not (200 <= plan.status < 300) or body is None:
        return body
    kind = _kind(plan.recorded["method"], plan.recorded["path"])

    def one(obj: dict[str, Any]) -> Any:
        if kind == "token":
            claims = jwt.decode(obj["access_token"], options={"verify_signature": False})
            return {"access_token": Token(secret, frozenset(claims), claims.get("sub")), "token_type": obj["token_type"]}
        if kind == "user":
            return Fields({**obj, "uuid": UUID4}, ADDED_FIELDS["user"])
        if kind == "domain":
            fields: dict[str, Any] = {k: obj[k] for k in DOMAIN_KEYS if k in obj}
            for name in EXTERNAL_CHECKS:
                if name in obj:  # v0.8.2 adds `internal` to each block
                    fields[name] = Fields(obj[name], frozenset({"internal"}))
            return Fields(fields, None)
        if kind in ("mailbox", "mailbox-list"):
            return Fields(obj, ADDED_FIELDS["mailbox"])
        if kind == "new-mailbox":
            return Fields({k: (MAILBOX_PASSWORD if k == "password" else v) for k, v in obj.items()})
        if kind == "alias":
            return Fields(obj, ADDED_FIELDS["alias"])
        return obj

    if isinstance(body, list):
        items = [one(o) for o in body]
        return Unordered(items) if "unordered-listing" in plan.rules else items
    return one(body)


def problems(expected: Any, actual: Any, where: str = "body") -> list[str]:
    if isinstance(expected, (Shape, Token)):
        return expected.problems(actual, where)
    if expected is _GENERATED_PASSWORD:
        return MAILBOX_PASSWORD.problems(actual, where)
    if isinstance(expected, Fields):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.fields.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing (expected {value!r})")
            else:
                out += problems(value, actual[key], f"{where}.{key}")
        if expected.extra is not None:
            unexpected = set(actual) - set(expected.fields) - expected.extra
            if unexpected:
                out.append(f"{where}: unexpected keys {sorted(unexpected)}")
        return out
    if isinstance(expected, Unordered):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        left = list(actual)
        out = []
        for item in expected.items:
            match = next((i for i, a in enumerate(left) if not problems(item, a)), None)
            if match is None:
                out.append(f"{where}: no element matches {item!r}")
            else:
                left.pop(match)
        out += [f"{where}: unexpected element {a!r}" for a in left]
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} elements, got {actual!r}"]
        return [p for i, (e, a) in enumerate(zip(expected, actual)) for p in problems(e, a, f"{where}[{i}]")]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        if set(expected) != set(actual):
            return [f"{where}: keys {list(actual)}, expected {list(expected)}"]
        return [p for k in expected for p in problems(expected[k], actual[k], f"{where}.{k}")]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: {actual!r}, expected {expected!r}"]
    return []


# =============================================================================
# 4. Replaying: one fake per run, requests rebuilt from the labels
# =============================================================================

@dataclass
class Outcome:
    response: httpx.Response | None = None
    error: BaseException | None = None
    default: httpx.Response | None = None  # crash-switch rows: the default fake's answer


class Run:
    """One fake (plus, when needed, a crash-switch twin over the same state) and the run's memory."""

    def __init__(self, name: str) -> None:
        self.plans = [p for p in PLANS if p.run == name]
        self.fake = FakeDimail(RUN_SETTINGS)
        self.client = self.fake.client(follow_redirects=False)
        self._twin: httpx.Client | None = None
        self.passwords: dict[str, str] = {}  # as created/changed in the run
        self.outcomes: dict[str, Outcome] = {}
        self.played = 0

    @property
    def twin(self) -> httpx.Client:
        if self._twin is None:
            settings = Settings(jwt_secret=self.fake.settings.jwt_secret, crash_on_odd_tokens=True,
                                certs_on_check=True)
            twin = FakeDimail(settings)
            twin.app = create_app(self.fake.backend, settings)  # same state, other switch
            self._twin = twin.client(follow_redirects=False)
        return self._twin

    def outcome(self, plan: Plan) -> Outcome:
        while plan.id not in self.outcomes:
            nxt = self.plans[self.played]
            self.played += 1
            if nxt.skip is None:
                self.outcomes[nxt.id] = self._play(nxt)
        return self.outcomes[plan.id]

    # -- building the request --------------------------------------------------

    def _authorization(self, plan: Plan, label: str) -> str:
        """The label read as `fake-dimail replay` reads it; the rows' readings say what the label cannot."""
        credentials = parse_label(label)
        if credentials.kind == "basic" and not credentials.undecodable:
            password = self.passwords.get(credentials.user or "", "any-password")
            if plan.reading == "wrong-password":
                password = "wrong-" + password
            if plan.reading == "non-ascii":
                password = "mot-de-passe-é"
            return "Basic " + base64.b64encode(f"{credentials.user}:{password}".encode()).decode()
        if credentials.kind == "bearer" and credentials.jwt:
            flags = credentials.flags | ({plan.reading} & {"expired", "no-exp", "other-secret", "alg-none"})
            settings = self.fake.settings
            return f"{credentials.scheme} " + mint_token(settings.jwt_secret, credentials.sub, flags,
                                                         lifetime=settings.token_lifetime)
        fixed = replay.fixed_authorization(credentials)  # undecodable Basic, `<not a jwt>`, other schemes
        assert fixed is not None, label
        return fixed

    def _request(self, plan: Plan) -> httpx.Request:
        rec = plan.recorded
        headers = {k: v for k, v in rec["request_headers"].items() if k != "Authorization"}
        if "Authorization" in rec["request_headers"]:
            headers["Authorization"] = self._authorization(plan, rec["request_headers"]["Authorization"])
        content = None
        if "request_body_raw" in rec:
            content = rec["request_body_raw"].encode()
        elif plan.request_json is not None:
            content = json.dumps(plan.request_json).encode()
        return self.client.build_request(rec["method"], rec["path"], headers=headers, content=content)

    # -- sending ---------------------------------------------------------------

    def _play(self, plan: Plan) -> Outcome:
        outcome = Outcome()
        if plan.id in DNS_STEPS:
            DNS_STEPS[plan.id].apply(self.fake)
        try:
            client = self.twin if "crash-switch" in plan.rules else self.client
            outcome.response = client.send(self._request(plan))
            if "crash-switch" in plan.rules:
                outcome.default = self.client.send(self._request(plan))
        except Exception as exc:  # an unhandled exception inside the app
            outcome.error = exc
            return outcome
        self._remember(plan, outcome.response)
        return outcome

    def _remember(self, plan: Plan, response: httpx.Response) -> None:
        body, method, path = plan.request_json, plan.recorded["method"], urlsplit(plan.recorded["path"]).path
        if method == "POST" and path == "/users/" and response.status_code == 201:
            self.passwords[body["name"]] = body["password"]
        if method == "PATCH" and path.startswith("/users/") and response.status_code == 200 and body.get("password"):
            self.passwords[path.removeprefix("/users/")] = body["password"]


_RUNS: dict[str, Run] = {}
RESULTS: dict[str, str] = {}


def run_of(plan: Plan) -> Run:
    if plan.run not in _RUNS:
        _RUNS[plan.run] = Run(plan.run)
    return _RUNS[plan.run]


def header_problems(plan: Plan, response: httpx.Response) -> list[str]:
    recorded = plan.recorded.get("response_headers")
    if recorded is None:
        return []
    expected = dict(recorded)
    if plan.status != plan.recorded["status"]:  # adapted status: the body kind decides the headers
        expected.pop("www-authenticate", None)
        expected["content-type"] = ("text/plain; charset=utf-8" if plan.response_text is not None
                                    else "application/json")
    return replay.header_problems(expected, response, host="dimail")


def check(plan: Plan, response: httpx.Response, secret: str) -> list[str]:
    out = []
    if response.status_code != plan.status:
        out.append(f"status {response.status_code}, expected {plan.status}")
    out += header_problems(plan, response)
    if plan.response_text is not None:
        if response.text != plan.response_text:
            out.append(f"body {response.text!r}, expected text {plan.response_text!r}")
    elif plan.response_json is None:
        if response.content:
            out.append(f"body {response.text!r}, expected none")
    else:
        try:
            actual = response.json()
        except ValueError:
            out.append(f"body {response.text!r} is not JSON")
        else:
            out += problems(expected_body(plan, secret), actual)
    return out


# =============================================================================
# 5. The tests
# =============================================================================

@pytest.mark.parametrize("plan", PLANS, ids=[p.label for p in PLANS])
def test_exchange(plan: Plan) -> None:
    if plan.skip is not None:
        RESULTS[plan.id] = "skipped"
        pytest.skip(plan.skip)
    RESULTS[plan.id] = "failed"
    run = run_of(plan)
    outcome = run.outcome(plan)
    note = plan.recorded.get("note")
    context = "\n".join([f"{plan.label}" + (f"  (note: {note})" if note else ""), *plan.reasons,
                         *([f"[explanation] {EXPLANATIONS[plan.id]}"] if plan.id in EXPLANATIONS else []),
                         *([f"[suspected fake bug] {SUSPECTED_FAKE_BUGS[plan.id]}"]
                           if plan.id in SUSPECTED_FAKE_BUGS else [])])
    if outcome.error is not None:
        pytest.fail(f"{context}\nthe app raised {outcome.error!r}")
    assert outcome.response is not None
    found = check(plan, outcome.response, run.fake.settings.jwt_secret)
    if plan.adapt is not None and plan.adapt.default_answer is not None:
        status, body = plan.adapt.default_answer
        default = outcome.default
        assert default is not None
        if default.status_code != status or (body is not None and default.json() != body):
            found.append(f"default fake (no switch): {default.status_code} {default.text!r}, "
                         f"expected {status} {body!r}")
    assert not found, context + "\n" + "\n".join(found)
    RESULTS[plan.id] = "adapted" if plan.adapted else "replayed"


def test_tables_name_real_exchanges() -> None:
    """Every table entry names an existing, replayed exchange; 01–09 are all-in-order-full.jsonl."""
    for table in (SKIP_ROWS, LABEL_READINGS, ADAPTATIONS, EXPLANATIONS, SUSPECTED_FAKE_BUGS, DNS_STEPS):
        assert set(table) <= set(BY_ID), set(table) - set(BY_ID)
    assert not [i for i in ADAPTATIONS if BY_ID[i].skip], "an adaptation of a skipped row"
    crash = {p.id for p in PLANS if "crash-switch" in p.rules}
    assert crash == {i for i, a in ADAPTATIONS.items() if a.default_answer}, crash
    full = [json.loads(t) for t in (TRANSCRIPTS / "all-in-order-full.jsonl").read_text().splitlines()]
    assert full == [p.recorded for p in PLANS if p.run == "01-09"]
    assert len(PLANS) == 222


def test_summary(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> None:
    """Write what was replayed, adapted and skipped, and why, to SUMMARY; print it too with -v (run last)."""
    planned = Counter("skipped" if p.skip else "adapted" if p.adapted else "replayed" for p in PLANS)
    outcome = Counter(RESULTS.get(p.id, "not run") for p in PLANS)
    rules = Counter(r for p in PLANS if not p.skip for r in p.rules)
    lines = [
        "",
        "=== transcript replay summary ===",
        f"planned: {planned['replayed']} replayed as recorded, {planned['adapted']} adapted, "
        f"{planned['skipped']} skipped (of {len(PLANS)})",
        f"this session: {outcome['replayed']} replayed, {outcome['adapted']} adapted, {outcome['skipped']} skipped, "
        f"{outcome['failed']} failing, {outcome['not run']} not run",
        "rules applied (rows):",
        *[f"  {name:<20} {rules[name]:>3}  {'adapts' if RULES[name].adapts else 'compare'}: {RULES[name].reason}"
          for name in RULES],
        "adapted rows:",
        *[f"  {p.label}: " + " | ".join(p.reasons) for p in PLANS if not p.skip and p.adapted],
        "replayed unchanged, with a different meaning:",
        *[f"  {BY_ID[i].label}: {text}" for i, text in EXPLANATIONS.items()],
        "skipped rows (by reason):",
        *[f"  {n:>3} × {reason}" for reason, n in Counter(p.skip for p in PLANS if p.skip).items()],
        "failing rows:",
        *[f"  {p.label}" + (f": suspected fake bug: {SUSPECTED_FAKE_BUGS[p.id]}" if p.id in SUSPECTED_FAKE_BUGS else "")
          for p in PLANS if RESULTS.get(p.id) == "failed"],
    ]
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    if request.config.get_verbosity() > 0:
        with capsys.disabled():
            print("\n".join(lines))
