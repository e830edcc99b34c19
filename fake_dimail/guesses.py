"""The register of every guess: each behaviour the fake chooses where no source says what dimail does.

One `Guess` per behaviour: `id` (stable, `G-…`), the `operations` of the v0.8.2 document it concerns
as (METHOD, path template) pairs (`ANY` for every operation, none for what is not an operation of
dimail's), `what` the fake does, `why`, and `settle`: the observation on a real dimail v0.8.2 that
would confirm or contradict it. The code that implements a guess says so with a marker comment
`guess G-<id>: …`; `tests/test_guesses.py` checks both ways (a marker without an entry, an entry no
marker names, an operation the document does not have). Rows with `readme=True` are the README's
"Where the fake chooses (and why)" table, in its order (wherever that heading stands: README.md or docs/); `docs/reference/guesses.md` is the whole
register, rendered by `python -m fake_dimail.guesses --write`.

Looking guesses up, for reports that compare answers (`fake-dimail replay`, differential runs):

    for_operation("POST", "/domains/{domain_name}/forwards/{user_name}")  # every guess about it
    shown_by("POST", "/domains/{domain_name}/forwards/{user_name}", 409, body)  # those this answer shows
    judge("POST", "/domains/{domain_name}/forwards/{user_name}", 409, body, same=False)  # -> ([], ["G-…"])

`shown_by` takes the fake's answer (status, JSON body or None, optionally its headers) and returns
the guesses whose `signs` it carries: a `Sign` is a status, optionally with a text (a string the
body holds: its `detail`, or a check's error detail), a pattern (a regular expression one of its
strings matches whole) or a header. An answer that shows a guess and equals the other server's
confirms the guess; one that differs contradicts it: `judge` says which, as two lists of ids
(confirmed, contradicted), and `Tally` counts them over a run and words the report's lines.
Guesses without signs show in no answer (their behaviour is not visible in one exchange):
`for_operation` still names them, as the guesses a difference on that operation may be about.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANY = ("*", "*")  # an operation: every operation of the document


@dataclass(frozen=True)
class Sign:
    """What an answer of the fake looks like when it applies the guess."""

    status: int
    text: str | None = None  # a string the body holds, exactly
    pattern: str | None = None  # or a regular expression one of its strings matches whole
    header: tuple[str, str] | None = None  # and a header it carries (name in lower case, value)

    def shown(self, status: int, strings: frozenset[str], headers: Mapping[str, str] | None) -> bool:
        if status != self.status:
            return False
        if self.text is not None and self.text not in strings:
            return False
        if self.pattern is not None and not any(re.fullmatch(self.pattern, s) for s in strings):
            return False
        if self.header is not None and (headers is None or headers.get(self.header[0]) != self.header[1]):
            return False
        return True


@dataclass(frozen=True)
class Guess:
    id: str
    topic: str
    what: str
    why: str
    settle: str
    operations: tuple[tuple[str, str], ...] = ()
    signs: tuple[Sign, ...] = ()
    readme: bool = False  # a row of the README's "Where the fake chooses (and why)" table


D = "/domains/{domain_name}"
MB = D + "/mailboxes/{user_name}"
V2 = "/v2" + MB
CHECKS = (("GET", D + "/check"), ("GET", D + "/fix"))
APP_PASSWORDS = (("POST", MB + "/app_passwords"), ("GET", MB + "/app_passwords"),
                 ("GET", MB + "/app_passwords/{uuid}"), ("DELETE", MB + "/app_passwords/{uuid}"))
PUBLIC_ALIASES = (("GET", "/aliases"), ("POST", "/aliases"), ("GET", "/aliases/domains"),
                  ("PATCH", "/aliases/{user_name}@{domain_name}/{destination}"),
                  ("DELETE", "/aliases/{user_name}@{domain_name}/{destination}"))
RATE_LIMITS = (("GET", "/system/rate_limits"), ("GET", "/system/rate_limits/{name}"),
               ("POST", "/system/rate_limits/{name}"), ("PATCH", "/system/rate_limits/{name}"),
               ("DELETE", "/system/rate_limits/{name}"))
MY = (("GET", "/my/aliases"), ("GET", "/my/domains"), ("GET", "/my/mailboxes"), ("GET", "/my/resources"))
CRASHES = (("GET", "/logs/crashes"), ("GET", "/logs/crashes/{crash_name}"), ("DELETE", "/logs/crashes/{crash_name}"))

GUESSES: tuple[Guess, ...] = (
    # --- the README's table, in its order --------------------------------------------------
    Guess("G-bearer-403", 'Bearer "not authenticated"', "403 (switch `--bearer-401`)",
          "recorded dimail; v0.8.2 on a newer FastAPI probably says 401",
          "A Bearer operation (`GET /domains/{d}/mailboxes/`) sent with no Authorization header, or with "
          "another scheme: 403 `Not authenticated` / `Invalid authentication credentials` keeps the default; 401 "
          "with `WWW-Authenticate: Bearer` makes `--bearer-401` the default.",
          (ANY,), (Sign(403, "Not authenticated"), Sign(403, "Invalid authentication credentials"),
                   Sign(401, "Not authenticated", header=("www-authenticate", "Bearer")),
                   Sign(401, "Invalid authentication credentials", header=("www-authenticate", "Bearer"))),
          readme=True),
    Guess("G-odd-tokens", "tokens without `exp`/`sub`, scheme `bearer`",
          "403 / accepted (switch `--crash-on-odd-tokens` for the real 500)", "a harmful quirk, off by default",
          "A Bearer operation with a well-signed token without `exp` (or without `sub`), and with the scheme "
          "spelled `bearer`: a 500 means v0.8.2 kept the 2024 crash (the switch stays off by default, as a "
          "harmful quirk); 403 / 200 mean it no longer has it.",
          (ANY,), readme=True),
    Guess("G-mailbox-unknown-domain", "admin creating a v1 mailbox on an unknown domain", "404 `Domain not found`",
          "v0.8.2 declares 404; 2024 crashed",
          "An admin's `POST /domains/{d}/mailboxes/{u}` for a domain that does not exist: 404 `Domain not found`, "
          "or still a bare 500.",
          (("POST", MB),), (Sign(404, "Domain not found"),), readme=True),
    Guess("G-alias-201", "alias creation", "201", "v0.8.2 and People; 2024 said 200",
          "`POST /domains/{d}/aliases/` creating an alias: 201 (as declared) or 200 (as in 2024).",
          (("POST", D + "/aliases/"),), (Sign(201),), readme=True),
    Guess("G-list-mix", "a mix of `+x` and `x` in a list update", "422 `Cannot mix set and add/remove`",
          "text not attested: a guess",
          "`PATCH /users/{u}` with `perms: [\"+new_domain\", \"manage_users\"]`: the status and the text.",
          (("PATCH", "/users/{user}"), ("PATCH", D), ("PATCH", V2)),
          (Sign(422, "Cannot mix set and add/remove"),), readme=True),
    Guess("G-list-repeats", "`+x`/`-x` on a list holding a value twice",
          "as `list.append`/`list.remove`: `-x` takes out the first copy, `+x` adds nothing when x is there",
          "the sources are silent; through the API no list holds a repetition (creation and set drop them), only "
          "a state loaded through `/_fake/state` or a state file can",
          "Not reachable through dimail's API: nothing to observe.",
          (("PATCH", "/users/{user}"), ("PATCH", D), ("PATCH", V2))),
    Guess("G-error-texts", 'texts marked "guess" in `fake_dimail/errors.py`', "as written there",
          "no source has them",
          "Each text is an entry of its own in this register (its operations and the request that shows it).",
          readme=True),
    Guess("G-internal-checks", "internal checks",
          "`cert` missing until `/fix` (or `--certs-on-check`); `webmail_ok`, `postfix`, `ox` fine unless broken "
          "through `/_fake/`",
          "no source shows them; this model reaches every People branch (CHECKS.md §4)",
          "`GET /domains/{d}/check` on a new webmail domain whose DNS is right, then `GET /domains/{d}/fix`: "
          "which internal checks fail before and after the fix.",
          (("POST", "/domains/"),) + CHECKS, readme=True),
    Guess("G-creation-check", "creation-time check", "synchronous, right after the 201 body is built",
          "dimail ran it in a thread: a GET right after could still show `new`",
          "`GET /domains/{d}` right after `POST /domains/`: `state: new` (the check still running) or already "
          "checked.",
          (("POST", "/domains/"), ("GET", D)), readme=True),
    Guess("G-dkim-key", "DKIM key",
          "per domain, made when first needed (`/spec`, a DKIM check, `--dns auto`), then kept for the domain's "
          "life",
          "a key costs ~60 ms; nobody can tell it from one made at creation",
          "Two `GET /domains/{d}/spec` around a `/fix` or a `PATCH /domains/{d}`: the same DKIM key, or a new one.",
          (("GET", D + "/spec"),) + CHECKS, readme=True),
    Guess("G-dkim-selector", "DKIM selector", "`dimail`, the one `/spec` publishes",
          "the 2024 code checked another selector (`mecol`), so no customer could pass",
          "The DKIM record's name in `GET /domains/{d}/spec`, and whether `/check` passes `dkim` once exactly "
          "that record is published.",
          (("GET", D + "/spec"),) + CHECKS, readme=True),
    Guess("G-dkim-compare", "DKIM comparison", "the whole tag set of the published record must equal the key's",
          "what dimail's reader compares",
          "`/check` with the /spec DKIM record published with an extra tag (`t=y`) or its tags in another order: "
          "`dkim` ok, or `wrong_dkim`.",
          CHECKS, readme=True),
    Guess("G-mx-lowest", "several MX", "the lowest preference is compared (publication order on ties)",
          'dimail compares "the first returned"',
          "`/check` with the platform's MX published at preference 20 and another at 10: `mx` ok, or `wrong_mx`.",
          CHECKS, readme=True),
    Guess("G-mx-name", "`mx_name` other than `internal`", "that host is demanded (and named in `wrong_mx`)",
          "inferred from the MXName schema",
          "`/spec` and `/check` of a domain created with `mx_name: mx.example.net`: which MX they ask for.",
          (("POST", "/domains/"), ("GET", D + "/spec")) + CHECKS, readme=True),
    Guess("G-zone-names", "values in zones", "host names are absolute, with or without the final dot",
          "what DNS provider forms mean; a zone file would read them as relative",
          "Not dimail's behaviour but the simulated DNS's reading of what a test publishes: a DNS provider form "
          "where a host name without the final dot is relative would contradict it.",
          CHECKS, readme=True),
    Guess("G-no-dns", "no DNS answer at all (5.5 s, then `must_exist` only)", "not simulated",
          "a zone is either published or absent",
          "Recorded in 2024 (transcript 10): nothing to settle about dimail; a test that needs the slow path "
          "would ask for it.",
          CHECKS, readme=True),
    Guess("G-root-404", "`GET /`", "404 `Not Found`, as dimail; the index is `/_fake/`",
          "a redirect would answer a probe of dimail's root with a page of the fake's",
          "`GET /` on a v0.8.2 dimail: 404 `Not Found` (as in 2024) or a page.", readme=True),
    Guess("G-control-cors", "CORS on `/_fake/`", "none, preflights refused, foreign-origin writes 403",
          "not dimail's; dimail's routes keep dimail's CORS",
          "Nothing to observe on dimail: `/_fake/` is the fake's own surface.", readme=True),
    Guess("G-forward-in-use", "forward on a name a mailbox, alias or public alias uses",
          "409 `Address already used by a mailbox or an alias`",
          "the document declares 409 and says nothing more; `Forward already exists` / `Forward not found` are "
          "CONTRACT.md's inferred texts",
          "`POST /domains/{d}/forwards/{u}` where `u` is a mailbox of `d`: 201 (dimail lets both be), or 409 and "
          "its text.",
          (("POST", D + "/forwards/{user_name}"),), (Sign(409, "Address already used by a mailbox or an alias"),),
          readme=True),
    Guess("G-public-alias-rights", "public aliases' rights",
          "judged on the destination's domain (admin, or allowed there), for all five operations",
          'CONTRACT.md says "allowed(domain concerned)": the mailbox\'s owner asks, the public domain is nobody\'s',
          "A user allowed on the destination's domain but not on the public domain: `POST /aliases` answers 201 "
          "or 403; and the reverse.",
          PUBLIC_ALIASES, readme=True),
    Guess("G-public-alias-destination", "public alias destination",
          "not looked up: any address on a domain the caller may act on",
          "CONTRACT.md lists only the 403s; a mailbox's deletion still removes the aliases to it",
          "`POST /aliases` to an address of an allowed domain that is no mailbox: 201, or 404 / 422.",
          (("POST", "/aliases"),), readme=True),
    Guess("G-public-alias-rules", "`public_alias_rules`",
          "shell patterns (`*.gouv.fr`) on the destination's domain; none: any destination",
          "the document gives the field no meaning",
          "A domain with `public_alias: true` and `public_alias_rules: [\"*.gouv.fr\"]`: `POST /aliases` to an "
          "address of `other.fr` answers 201 or 403, and which text.",
          (("POST", "/aliases"), ("POST", "/domains/"), ("PATCH", D)),
          (Sign(403, "Public aliases are not allowed for this destination on the domain"),), readme=True),
    Guess("G-public-aliases-apart", "public aliases and domain aliases",
          "apart: not in `GET /domains/{d}/aliases/`, but `is_alias` in the address probe and a name forwards "
          "and random names avoid",
          "no source shows whether dimail stores them together",
          "After `POST /aliases` on domain `p`, `GET /domains/p/aliases/`: without it, or with it.",
          (("GET", D + "/aliases/"), ("GET", D + "/address/{user_name}"), ("POST", "/aliases")), readme=True),
    Guess("G-domain-delete-public-aliases", "deleting a domain with public aliases",
          "they go with it (forwards still make it `409 Domain is not empty`)",
          "no listing by domain would let anyone empty it first",
          "`DELETE /domains/{d}` of a domain whose only content is a public alias: 204, or 409.",
          (("DELETE", D),), readme=True),
    Guess("G-app-passwords", "app passwords",
          "need the mailbox's OX user (else 404 `Mailbox not found`); names need not be unique; `last_use`, "
          "`client`, `user_agent`, `ip_address` stay null",
          'the document says "an OX mailbox" and declares no 409; nothing in the fake logs in',
          "`POST …/app_passwords` on a mailbox of a domain without webmail (no OX user), and twice with one "
          "name: 404 or 201; 201 twice or 409.",
          APP_PASSWORDS, readme=True),
    Guess("G-check-password-app", "`check_password` with an app password", "`true`",
          "the document is silent; an app password opens the mailbox too",
          "`POST …/check_password` with the password an app password creation returned: `true` or `false`.",
          (("POST", MB + "/check_password"),), readme=True),
    Guess("G-identity-password", "`POST /identities` with an app password",
          "403 `Permission denied`: only the mailbox's own password links an identity",
          "an identity opens the whole webmail, more than an app password's client",
          "`POST /identities` with an app password of the mailbox: 201 or 403.",
          (("POST", "/identities"),), readme=True),
    Guess("G-secondary-rights", "secondary account to a mailbox of another domain",
          "needs the rights on that domain too (403 before its 404s)",
          "else anyone allowed somewhere could open any mailbox",
          "`POST …/master_of/{email}` by a user allowed on the master's domain only: 403 or 201; with an "
          "unknown secondary on a domain it may not act on: 403 or 404.",
          (("POST", MB + "/master_of/{secondary_email}"),), readme=True),
    Guess("G-secondary-again", "a secondary account created again",
          "201, the link kept with the new `displayName`; a mailbox as its own secondary: 422 `A mailbox cannot "
          "be its own secondary account`",
          "no 409 is declared; the self link is a guess",
          "The same `POST …/master_of/{email}` twice (201 twice, or 409), and a mailbox named as its own "
          "secondary (the status and the text).",
          (("POST", MB + "/master_of/{secondary_email}"),),
          (Sign(422, "A mailbox cannot be its own secondary account"),), readme=True),
    Guess("G-identities-listing", "`GET /identities?identity=`",
          "the e-mails on domains the caller is allowed on (admins: all); an unknown identity: 200 `[]`",
          '"admin; allowed(domain of the email)" (CONTRACT.md §3.6) applied to a listing',
          "`GET /identities?identity=unknown` (200 `[]` or 404), and by a user allowed on one of two linked "
          "domains (one e-mail or both, or 403).",
          (("GET", "/identities"),), readme=True),
    Guess("G-identity-again", "`POST …/identities/{identity}` for an identity the mailbox has",
          "201 `{}`, nothing changes", "CONTRACT.md §4.9 (inferred)",
          "The same `POST …/identities/{identity}` twice: 201 twice, or 409.",
          (("POST", MB + "/identities/{identity}"),), readme=True),
    Guess("G-docs-offline", "`/docs`, `/redoc`",
          "Swagger UI and ReDoc bundles served by the fake (`/docs/assets/`), no Google fonts",
          "they work offline; dimail's pages (FastAPI's defaults) load them from a CDN",
          "Nothing to settle: a page, not an answer People reads.", readme=True),
    Guess("G-state-memory", "state across restarts", "memory only; `--state FILE` keeps it in SQLite",
          "dimail keeps its database, but People's compose recreates the container, so People expects a fresh "
          "dimail; the file is for whoever wants otherwise",
          "Nothing to settle about dimail (it keeps its database); a choice for People's compose.", readme=True),
    Guess("G-version", "`GET /system/version`",
          "`v0.8.2+fake-dimail.<version>`, a changelog line saying it is a fake",
          "a client reading `v0.8.2` still sees it; nobody mistakes the fake for a dimail",
          "`GET /system/version` on v0.8.2: the exact `version` string and `changelog` shape (a client parsing "
          "`v0.8.2` strictly would choke on the suffix).",
          (("GET", "/system/version"),), readme=True),
    Guess("G-tech-domain", "`GET /system/tech_domain`", "`ox.numerique.gouv.fr` for both names",
          "the domain `/spec`'s CNAMEs point into; no source shows `host_name`",
          "`GET /system/tech_domain` on a v0.8.2 platform: its `tech_name` and `host_name`.",
          (("GET", "/system/tech_domain"),), readme=True),
    Guess("G-rate-limits", "rate-limit profiles",
          "start empty; the body's `name` must be the path's (else 422 text); 409 / 404 texts as in `errors.py`",
          "the document has the schemas only",
          "`GET /system/rate_limits` on a fresh platform; `POST /system/rate_limits/a` with `name: b`, the same "
          "creation twice, `GET` of an unknown one: statuses and texts.",
          RATE_LIMITS, (Sign(404, "Rate limit not found"), Sign(409, "Rate limit already exists"),
                        Sign(422, "The name in the body must be the name in the path")), readme=True),
    Guess("G-mailbox-rate-limit", "a mailbox's `rate_limit`",
          "any name, checked against nothing; deleting a profile leaves mailboxes naming it",
          "v0.8.2 declares no 404/409 for it on mailboxes nor 409 on profile deletion",
          "`POST /v2/…/mailboxes/{u}` with `rate_limit: \"nosuch\"` (201 or 404), and `DELETE "
          "/system/rate_limits/{name}` of a profile a mailbox names (204 or 409).",
          (("POST", V2), ("PATCH", V2), ("DELETE", "/system/rate_limits/{name}")), readme=True),
    Guess("G-stores", "IMAP stores",
          "the platform's `default` store (mailboxes without `store`) and every store a mailbox names; space and "
          "inodes unknown (`null` used, `0` totals); transport `lmtp:[<store>.imap.ox.numerique.gouv.fr]:24`",
          "derived from the fake's state: it has no disks",
          "`GET /system/stores_info` and `GET /system/store_info/{store}` (an unknown one too: its status and "
          "text) on a real platform.",
          (("GET", "/system/stores_info"), ("GET", "/system/store_info/{store_name}")),
          (Sign(404, "Store not found"),), readme=True),
    Guess("G-mailbox-info", "mailbox info",
          "`local`, `imap_dir` true; a mailbox still to move: `proxy`, `imap_dir` false, `need_moving`; a domain "
          "leaving: `moving_away`",
          "what the field names say",
          "`GET /system/mailbox_info/{d}/{u}` of a mailbox at rest, and of one imported but not moved yet.",
          (("GET", "/system/mailbox_info/{domain_name}/{user_name}"),
           ("GET", "/system/mailboxes_info/{domain_name}")), readme=True),
    Guess("G-mailqueue", "mail queue",
          "empty unless steered (`/_fake/mailqueue/…`); any address of a known domain; not emptied when a "
          "mailbox goes",
          "Postfix's queue outlives mailboxes",
          "`GET /system/mailqueue/{d}/{u}` for an address of a known domain that is no mailbox: 200 `[]` or 404.",
          (("GET", "/system/mailqueue/{domain_name}/{user_name}"),), readme=True),
    Guess("G-empty-answers", "`disconnect`, `move_mailbox`, `import_domain`, `database` PATCH",
          "answer `{}` (the document's schema is empty)", "nothing to disconnect in a fake",
          "The 200 bodies of these four operations on a real platform.",
          (("GET", "/system/disconnect/{domain_name}/{user_name}"),
           ("GET", "/system/move_mailbox/{domain_name}/{user_name}"),
           ("PATCH", "/system/import_domain/{domain_name}"), ("PATCH", "/system/database/{db_name}")),
          readme=True),
    Guess("G-moves", "moves",
          "`import_domain` takes in the mailboxes (hash as given), aliases, senders and DKIM key, and the domain "
          "is moving until `move_mailbox` has moved each imported mailbox (moving one already here: 200, a "
          "domain not moving: 424); `database/{db}` PATCH makes the domains whose `schema_name` is `db` leave, "
          "until completed through `/_fake/` (404 for a database with no domain, never created)",
          "the document describes both sides; nothing tells a source platform that the destination finished",
          "A move between two real platforms: `import_domain` (an address of another domain in it: 422 and "
          "which text), `move_mailbox` twice (200 twice?) and on a domain not moving (424 and its text), "
          "`PATCH /system/database/{db}` of an unknown database (404 and its text), the same "
          "`POST /system/database/{db}/{schema}` twice.",
          (("PATCH", "/system/import_domain/{domain_name}"),
           ("GET", "/system/move_mailbox/{domain_name}/{user_name}"),
           ("PATCH", "/system/database/{db_name}"), ("POST", "/system/database/{db_name}/{schema_name}")),
          (Sign(424, "Domain is not moving"), Sign(404, "Database not found"),
           Sign(422, pattern=r".+ is not an address of .+")), readme=True),
    Guess("G-410", "410",
          "on exactly the operations declaring it, right after the caller's rights on the domain (a refused "
          "caller still gets its 403/401)",
          "CONTRACT.md §4",
          "A request on a moving domain by a user not allowed there: 403 (rights first) or 410; an operation "
          "that does not declare 410 on that domain: its usual answer or 410.",
          (ANY,), (Sign(410, "Domain is moving to another platform"),), readme=True),
    Guess("G-check-contexts", "`check_contexts`",
          "`available` (no such id nor name here), `same` / `partial` (same id and name, same or other domains, "
          "the differences in `comment`), `differ`; `schemas`: the schemas a database here holds",
          "the document has the enum only",
          "`POST /system/check_contexts` with a context of this platform (same id and name), one with another "
          "name, one unknown: the status of each and its `comment`.",
          (("POST", "/system/check_contexts"),), readme=True),
    Guess("G-shutdown", "`GET /system/shutdown`",
          "`{}`; standalone: the server exits cleanly; in-process: every later request fails as a refused "
          "connection until `fake.restart()` or `fake.reset()`",
          "a stopped dimail is a closed port",
          "`GET /system/shutdown` on a real dimail: its answer, and whether the process exits or only stops "
          "serving.",
          (("GET", "/system/shutdown"),), readme=True),
    Guess("G-my-whose", "whose `my/` it is",
          "the API user the token names; admins see every domain, anyone else (managers too) the domains it is "
          "allowed on",
          'the document says "this API user" and words `my/` for users who are neither admins nor managers, '
          "without saying what those get",
          "`GET /my/domains` with an admin's token and with a manager's (a user with `manage_users`): every "
          "domain, the allowed ones, or 403.",
          MY, readme=True),
    Guess("G-my-lists", "what `my/` lists",
          "Dovecot mailboxes (no `oxadmin@…`, no OX-only user), then those linked to the user's ProConnect "
          "identities (its `identities` and its name, People's convention), which give no right on their "
          "domain; each alias address once, whatever its destinations, then the domain's public aliases; "
          "domains in creation order",
          "the document gives lists of strings only",
          "`GET /my/resources` of a user allowed on a webmail domain with an alias of two destinations and a "
          "public alias, whose name is a ProConnect identity linked to a mailbox elsewhere.",
          MY, readme=True),
    Guess("G-public-domain", "`GET /public/domains/{d}` body", '`{"name": d}`; an unknown one `404 Domain not found`',
          "the document declares no 200 schema (CONTRACT.md §4.18)",
          "`GET /public/domains/{d}` without credentials: the 200 body.",
          (("GET", "/public/domains/{domain_name}"),), readme=True),
    Guess("G-webhook-body", "password webhook body",
          '`{"email": "<user>@<domain>", "password": "<new>"}`, extra fields ignored, read whatever the content '
          "type; a body naming no mailbox and password: `404` saying the expected shape; the OX password is not "
          "touched",
          'the document declares no body, only "updates the password of a mailbox in dovecot"; CONTRACT.md '
          "§4.19 suggested accepting anything",
          "What Dovecot's password-change hook sends to `POST /webhook/changepassword`, and dimail's answer to "
          "`{}`.",
          (("POST", "/webhook/changepassword"),),
          (Sign(404, 'Mailbox not found: send {"email": "<user>@<domain>", "password": "<new password>"}'),),
          readme=True),
    Guess("G-crash-logs", "crash logs",
          "one per deliberate 500 answered (not the creation-time check's crash, which no request sees, nor an "
          "injected fault's 500, which dimail never produced), the last 100 kept; lines: date, request, user, the "
          "fake's reason in place of a traceback",
          "dimail writes a file per crash; its names and contents are not attested",
          "`GET /logs/crashes` after a duplicate mailbox's 500: the names, sizes and dates; `GET "
          "/logs/crashes/{name}`: its lines.",
          CRASHES, readme=True),
    Guess("G-server-logs", "`GET /logs/`",
          "the request journal's last 1,000 entries, one line each: the arrival time (UTC, to the second), then "
          "the request log's line",
          "dimail shows its own log file, whose format is not attested",
          "`GET /logs/` on a real dimail: how many lines, and their format.",
          (("GET", "/logs/"),), readme=True),
    # --- the other guesses, by family --------------------------------------------------------
    Guess("G-user-by-identity", "a user found by ProConnect identity",
          "an explicit identity wins, then People's convention (the user named as the ProConnect sub)",
          "the document names the operation only; People names its users after the sub",
          "`GET /users/identity/{p}` for a user named `p` without identities, and for one holding `p` in "
          "`identities` while another is named `p`.",
          (("GET", "/users/identity/{proconnect}"),)),
    Guess("G-domain-not-empty", "deleting a domain that still has content", "409 `Domain is not empty`",
          "v0.8.2 declares 409 on `DELETE /domains/{d}` without its text",
          "`DELETE /domains/{d}` of a domain with a mailbox: the status and the text.",
          (("DELETE", D),), (Sign(409, "Domain is not empty"),)),
    Guess("G-domain-delete-ox", "a deleted domain's OX context", "kept, still mapping the name",
          "nothing says dimail cleans OX up",
          "`DELETE /domains/{d}` of a webmail domain, then `POST /domains/` of the same name with another "
          "`context_name`: 201, or 409 `The domain is currently mapped to OX context …`.",
          (("DELETE", D), ("POST", "/domains/"))),
    Guess("G-domain-patch-refusals", "domain changes the platform cannot make",
          "418 `Cannot remove feature '…' while the domain has mailboxes`, 418 `Cannot change the OX context of a "
          "domain that has OX users`",
          "the document declares 418 on `PATCH /domains/{d}` without its texts",
          "`PATCH /domains/{d}` removing `mailbox` from a domain with mailboxes, and changing `context_name` of "
          "a domain with OX users: statuses and texts.",
          (("PATCH", D),), (Sign(418, pattern=r"Cannot remove feature '.*' while the domain has mailboxes"),
                            Sign(418, "Cannot change the OX context of a domain that has OX users"))),
    Guess("G-unknown-feature", "an unknown feature in a change", "422 `Unknown feature '…'`",
          "an unknown value would break every later answer (the schema does not restrict `+x`/`-x` items)",
          "`PATCH /domains/{d}` with `features: [\"+calendar\"]`: the status and the text.",
          (("PATCH", D), ("PATCH", V2)), (Sign(422, pattern=r"Unknown feature '.*'"),)),
    Guess("G-internal-check-texts", "the internal checks' failure codes and texts",
          "`no_webmail` `Le webmail n'est pas configuré pour ce domaine`, `no_postfix` `Le domaine n'est pas "
          "déclaré dans postfix`, `no_ox` `Le domaine n'est pas déclaré dans open-xchange`",
          "only `no_cert` is attested (People's test fixtures)",
          "A `/check` of a domain whose webmail, Postfix or OX side is missing: each failing check's code and "
          "detail.",
          CHECKS, (Sign(200, "Le webmail n'est pas configuré pour ce domaine"),
                   Sign(200, "Le domaine n'est pas déclaré dans postfix"),
                   Sign(200, "Le domaine n'est pas déclaré dans open-xchange"))),
    Guess("G-display-name", "a v1 mailbox's OX display name", "`given sur`; blank: the local part",
          "2024 ignored the sent display name (CONTRACT.md §6 #7); nothing shows the blank case",
          "`POST /domains/{d}/mailboxes/{u}` with no `givenName`/`surName`, then its `displayName` in `GET`.",
          (("POST", MB), ("GET", MB))),
    Guess("G-missing-ox-extras", "a v2 OX mailbox without its OX extras", "422 `Missing extras for feature 'ox'`",
          "the document declares 422 without this text",
          "`POST /v2/domains/{d}/mailboxes/{u}` with `features: [\"ox\"]` and no `extras.ox`: status and text.",
          (("POST", V2), ("PATCH", V2)), (Sign(422, "Missing extras for feature 'ox'"),)),
    Guess("G-force-password", "forcing a mailbox's password",
          "`password: null` generates one; `restore_password` without a saved one: 404 `No saved password`; a "
          "restore answers `password: \"\"` (only a hash was kept)",
          "the document gives the body's fields only",
          "`POST …/force_password` with `password: null`, with `restore_password: true` twice: the answers.",
          (("POST", MB + "/force_password"),), (Sign(404, "No saved password"),)),
    Guess("G-code-not-found", "an unknown login code", "404 `Code not found`",
          "the document declares 404 without its text",
          "`GET /code/nosuchcode`: the status and the text.",
          (("GET", "/code/{code_string}"),), (Sign(404, "Code not found"),)),
    Guess("G-forward-texts", "forwards' refusals", "409 `Forward already exists`, 404 `Forward not found`",
          "CONTRACT.md §4.12 infers them; no recording shows them",
          "The same `POST /domains/{d}/forwards/{u}` twice, and `GET` of an unknown forward: statuses and texts.",
          (("POST", D + "/forwards/{user_name}"), ("GET", D + "/forwards/{user_name}"),
           ("PATCH", D + "/forwards/{user_name}"), ("DELETE", D + "/forwards/{user_name}")),
          (Sign(409, "Forward already exists"), Sign(404, "Forward not found"))),
    Guess("G-app-password-not-found", "an unknown app password", "404 `App password not found`",
          "the document declares 404 without its text",
          "`GET …/app_passwords/{uuid}` of an unknown uuid: the status and the text.",
          APP_PASSWORDS[2:], (Sign(404, "App password not found"),)),
    Guess("G-secondary-not-found", "an unknown secondary account link", "404 `Secondary not found`",
          "the document declares 404 without its text",
          "`GET …/master_of/{email}` of a mailbox that is no secondary of it: the status and the text.",
          (("GET", MB + "/master_of/{secondary_email}"), ("DELETE", MB + "/master_of/{secondary_email}")),
          (Sign(404, "Secondary not found"),)),
    Guess("G-identity-texts", "ProConnect identities' refusals",
          "409 `Identity already exists` (`POST /identities` again), 404 `Identity not found`",
          "the document declares the statuses without their texts",
          "The same `POST /identities` twice, and `DELETE /identities/{p}/{email}` of an unknown link.",
          (("POST", "/identities"), ("DELETE", "/identities/{proconnect}/{email}")),
          (Sign(409, "Identity already exists"), Sign(404, "Identity not found"))),
    Guess("G-fault-body", "an injected HTTP fault's body", "the status's reason phrase as text; a 500 is uvicorn's",
          "a proxy's terse answer; dimail's own crashes are uvicorn's plain `Internal Server Error`",
          "Nothing to observe on dimail: injected faults are the fake's own."),
    Guess("G-state-507", "a write the `--state` file refuses (a full disk)",
          "undone, 507 `fake-dimail could not write its state file (…)`, one log line",
          "dimail would answer 500; the fake says what to do, and a retry must not meet its own half-applied "
          "first try",
          "Nothing to settle on dimail (its database is not the fake's file); the fake's own safety.",
          readme=True),
    Guess("G-max-body", "a body beyond `--max-body` (16M by default)", "413, one line, after reading the body",
          "dimail sets no limit; an unbounded body stalls or exhausts a shared dev server",
          "dimail's (or its proxy's) answer to a 20 MB body.", readme=True),
    Guess("G-control-host", "`/_fake/` without a control token, `Host` not local",
          "403, one line (`--allowed-host` adds names)",
          "DNS rebinding: a web page must not steer a developer's fake; the control plane is not dimail's",
          "Nothing to settle: the control plane is the fake's own.", readme=True),
    Guess("G-jwt-secret", "the JWT secret", "the fake's own, 34 bytes; a shorter one (People's dev secret) signs "
          "as HMAC signs with it, padded so PyJWT warns nobody",
          "People takes the token as an opaque string; a warning at every token would reach users' test runs",
          "Nothing to settle: no client reads the key.", readme=True),
    Guess("G-import-domain-422", "`PATCH /system/import_domain/{d}`: a name of another domain, a sender of no mailbox",
          "422 with the validation list the document declares (`value_error` at the offending value's `loc`)",
          "the check is the fake's own; the v0.8.2 document declares `HTTPValidationError` for 422",
          "dimail's answer to an import naming an address of another domain.",
          (("PATCH", "/system/import_domain/{domain_name}"),), readme=True),
    Guess("G-alias-409", "a duplicate alias (same address and destination)", "409 `Alias already exists`",
          "the 2024 server answers it (recorded), People maps it to \"out of sync\" and relies on it; v0.8.2 "
          "declares no 409 there",
          "v0.8.2's answer to the same `POST /domains/{d}/aliases/` twice.",
          (("POST", D + "/aliases/"),), (Sign(409, text="Alias already exists"),), readme=True),
    Guess("G-people-disabled", "a domain seeded as People's `disabled`", "valid in dimail (`ok`)",
          "People disables a domain on its own side; nothing in People's client tells dimail",
          "A People domain disabled by an admin, and dimail's answer to its `/check` afterwards."),
)

BY_ID = {guess.id: guess for guess in GUESSES}
_BY_OPERATION: dict[tuple[str, str], list[Guess]] = {}
for _guess in GUESSES:
    for _operation in _guess.operations:
        _BY_OPERATION.setdefault(_operation, []).append(_guess)


def for_operation(method: str, template: str) -> list[Guess]:
    """Every guess about an operation, given as in the v0.8.2 document ("GET", "/domains/{domain_name}"),
    those about every operation last."""
    return _BY_OPERATION.get((method.upper(), template), []) + _BY_OPERATION.get(ANY, [])


def shown_by(method: str, template: str, status: int, body: Any,
             headers: Mapping[str, str] | None = None) -> list[Guess]:
    """The guesses of the operation whose signs this answer of the fake carries (body: decoded JSON or None;
    headers: any mapping with lower-case names, such as httpx's)."""
    candidates = [g for g in for_operation(method, template) if any(s.status == status for s in g.signs)]
    if not candidates:
        return []
    strings = frozenset(_strings(body))
    return [g for g in candidates if any(s.shown(status, strings, headers) for s in g.signs)]


def judge(method: str, template: str, status: int, body: Any, headers: Mapping[str, str] | None = None, *,
          same: bool) -> tuple[list[str], list[str]]:
    """(confirmed, contradicted): the ids of the guesses the fake's answer shows, on the side `same` says
    (True: the other server answered the same)."""
    shown = [g.id for g in shown_by(method, template, status, body, headers)]
    return (shown, []) if same else ([], shown)


class Tally:
    """The guesses a run confirmed and contradicted, counted; `lines()` for a report."""

    def __init__(self) -> None:
        self.confirmed: Counter[str] = Counter()
        self.contradicted: Counter[str] = Counter()

    def add(self, confirmed: Iterable[str], contradicted: Iterable[str]) -> None:
        self.confirmed.update(confirmed)
        self.contradicted.update(contradicted)

    def lines(self, caveat: str = "") -> list[str]:
        """`caveat`: said after the confirmed ones (when the other side was a fake, say)."""
        out = []
        if self.confirmed:
            out.append("guesses confirmed: " + _counted(self.confirmed) + (f" ({caveat})" if caveat else ""))
        if self.contradicted:
            out.append("guesses contradicted: " + _counted(self.contradicted))
        return out

    def as_json(self) -> dict[str, dict[str, int]]:
        return {"confirmed": dict(sorted(self.confirmed.items())),
                "contradicted": dict(sorted(self.contradicted.items()))}


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{gid} ×{n}" for gid, n in sorted(counts.items()))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# =============================================================================
# Rendering: the README's table and the reference page
# =============================================================================

TABLE_TITLE = "Where the fake chooses (and why)"  # the table follows a heading of that title, of any level
_HEADING = re.compile(r"#{1,6} " + re.escape(TABLE_TITLE))
PAGE = Path("docs") / "reference" / "guesses.md"


def render_table() -> str:
    rows = [f"| {g.topic} | {g.what} | {g.why} |" for g in GUESSES if g.readme]
    return "\n".join(["| topic | fake | reason |", "|---|---|---|", *rows]) + "\n"


def _operations(guess: Guess) -> str:
    if not guess.operations:
        return "none of dimail's (the fake's own surface, or no single operation)"
    return ", ".join("every operation" if op == ANY else f"`{op[0]} {op[1]}`" for op in guess.operations)


def _count(guess: Guess) -> str:
    return "all" if ANY in guess.operations else str(len(guess.operations) or "—")


def _signs(guess: Guess) -> str:
    out = []
    for sign in guess.signs:
        text = str(sign.status)
        if sign.text is not None:
            text += f" `{sign.text}`"
        if sign.pattern is not None:
            text += f" matching `{sign.pattern}`"
        if sign.header is not None:
            text += f" with `{sign.header[0]}: {sign.header[1]}`"
        out.append(text)
    return "; ".join(out)


def render_page() -> str:
    lines = [
        "# Where the fake guesses",
        "",
        "<!-- generated by `python -m fake_dimail.guesses --write` from fake_dimail/guesses.py: edit the "
        "register, not this page -->",
        "",
        f"Every behaviour fake-dimail chooses where no source says what dimail v0.8.2 does: {len(GUESSES)} "
        "guesses. Each is implemented where the code says `guess <id>`. `fake-dimail replay` names the guesses "
        "an exchange **confirmed** (the fake's answer shows the guess and equals the recorded one) or "
        "**contradicted** (it shows the guess and differs). Run it on exchanges recorded with a real v0.8.2 "
        "dimail (`fake-dimail record`) and send us the list: each entry says what observation settles it. "
        "The sections cited (`CONTRACT.md §3.6`, `CHECKS.md §4`) are those of dimail's reference notes, "
        "described in `reference/dimail/README.md`.",
        "",
        "| id | topic | operations |",
        "|---|---|---|",
        *[f"| [{g.id}](#{g.id.lower()}) | {g.topic} | {_count(g)} |" for g in GUESSES],
        "",
    ]
    for guess in GUESSES:
        lines += [
            f"## {guess.id}",
            "",
            f"**{guess.topic}**" + (" (also in the README's table)" if guess.readme else ""),
            "",
            f"- fake: {guess.what}",
            f"- why: {guess.why}",
            f"- operations: {_operations(guess)}",
        ]
        if guess.signs:
            lines.append(f"- shown by the fake's answers: {_signs(guess)}")
        lines += [f"- settled by: {guess.settle}", ""]
    return "\n".join(lines)


def _heading(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if _HEADING.fullmatch(line)), None)


def replace_table(text: str) -> str | None:
    """`text` with the table under the TABLE_TITLE heading replaced by `render_table()`; None when it has none."""
    lines = text.split("\n")
    heading = _heading(lines)
    if heading is None:
        return None
    start = heading + 1
    while start < len(lines) and not lines[start].startswith("|"):
        start += 1
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    if start == end:
        return None
    return "\n".join(lines[:start] + render_table().rstrip("\n").split("\n") + lines[end:])


def table_files(root: Path) -> list[Path]:
    """The Markdown files of the repository that hold the table (README.md, or a page of docs/)."""
    candidates = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [p for p in candidates if p.is_file() and _heading(p.read_text(encoding="utf-8").split("\n")) is not None]


def main(argv: list[str] | None = None) -> int:
    """`python -m fake_dimail.guesses`: print the page; `--write [ROOT]`: write it and the table into the
    repository at ROOT (default: the current directory); `--check [ROOT]`: exit 1 when either is stale."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(render_page(), end="")
        return 0
    if args[0] not in ("--write", "--check") or len(args) > 2:
        print("usage: python -m fake_dimail.guesses [--write|--check [ROOT]]", file=sys.stderr)
        return 2
    root = Path(args[1] if len(args) == 2 else ".")
    wanted = {root / PAGE: render_page()}
    for path in table_files(root):
        wanted[path] = replace_table(path.read_text(encoding="utf-8")) or ""
    stale = [p for p, text in wanted.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args[0] == "--check":
        for path in stale:
            print(f"{path}: stale: run python -m fake_dimail.guesses --write", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted[path], encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
