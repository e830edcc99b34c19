"""The authorization matrix, as data: for every secured operation of dimail v0.8.2, the answer each caller
class expects, with its source — derived from the rules of CONTRACT.md §2–§3 and the document's security
declarations, never from a bug.

A row is one operation (or one case of it, when the rules treat bodies differently: `?username=`, a body
asking for admin rights or a perm); a column is a caller class; a cell is the answer: the success status
of the operation when the class passes the row's rule, else the row's refusal (status and dimail's fixed
text). `cell(row, caller)` gives it with its source and whether it is a guess (the sources are silent and
CONTRACT.md chose, [inferred]). The classes act on a scratch world the `authz` family builds
(`contracts/authz.py`); who is allowed where and who manages whom is written below (`ALLOWS`,
`CREATED_BY`), and every class's rights are read from it.

`python -m contracts.matrix > docs/contracts/authorization-matrix.md` renders the page a dimail maintainer
reviews; `tests/test_matrix.py` fails when the committed page is not what this data renders.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

NEW_DOMAIN, CREATE_USERS, MANAGE_USERS = "new_domain", "create_users", "manage_users"
PEOPLE_PERMS = frozenset({NEW_DOMAIN, CREATE_USERS, MANAGE_USERS})  # People's user (PEOPLE.md §3)
MANAGER_PERMS = frozenset({CREATE_USERS, MANAGE_USERS})

# --- the scratch world, by role ------------------------------------------------------------------------
# Two domains: `domain`, the one every domain-scoped operation names (People's user creates it, so it is
# allowed there), and `other`. The users of the classes, each created by People's user (so managed by it)
# except `itself`, the user the user-scoped operations name, created by `manager`.
PERMS: dict[str, frozenset[str]] = {"people": PEOPLE_PERMS, "perm_no_allow": PEOPLE_PERMS,
                                    "manager": MANAGER_PERMS, "not_manager": MANAGER_PERMS}
ALLOWS = frozenset({("people", "domain"), ("people", "other"), ("allowed", "domain"), ("other_domain", "other")})
CREATED_BY = {"allowed": "people", "perm_no_allow": "people", "other_domain": "people", "manager": "people",
              "not_manager": "people", "itself": "manager"}
USERS = ("people", *CREATED_BY)
DOMAINS = ("domain", "other")
MAILBOXES = ("box", "peer", "pw")  # all on `domain`
ALIASES = ("alias", "public")  # an alias of `domain` to `box`, a public alias on `domain` to `box`


@dataclass(frozen=True)
class Caller:
    key: str
    title: str  # the column heading
    who: str  # what the class is, for the page
    authenticated: bool = True  # False: no credentials, or wrong ones

    @property
    def admin(self) -> bool:
        return self.key == "admin"

    @property
    def perms(self) -> frozenset[str]:
        return PERMS.get(self.key, frozenset())

    @property
    def allowed(self) -> bool:
        """Holds an allow on the operation's domain."""
        return (self.key, "domain") in ALLOWS

    @property
    def manages(self) -> bool:
        """Manages the operation's user (CONTRACT.md §3.3: created it, and holds manage_users)."""
        return CREATED_BY["itself"] == self.key and MANAGE_USERS in self.perms

    @property
    def itself(self) -> bool:
        return self.key == "itself"


CALLERS = (
    Caller("admin", "admin", "an admin (`is_admin: true`; `--dimail-admin` on a real dimail)"),
    Caller("people", "People", "People's API user, with new_domain, create_users and manage_users: it created "
                               "the domain (so it is allowed there) and the users of the other classes, but "
                               "not the operation's user"),
    Caller("allowed", "allowed", "a user without perms, allowed on the domain"),
    Caller("perm_no_allow", "perm, no allow", "a user with People's three perms, allowed on no domain"),
    Caller("other_domain", "other domain", "a user without perms, allowed on another domain only"),
    Caller("manager", "manager", "a user with create_users and manage_users who created, so manages, the "
                                 "operation's user"),
    Caller("not_manager", "not manager", "a user with the manager's perms who manages nobody"),
    Caller("itself", "itself", "the user the operation names (made by the manager, without perms or allows); "
                               "for operations naming no user, just a user without any right"),
    Caller("no_credentials", "none", "no `Authorization` header", authenticated=False),
    Caller("wrong_credentials", "wrong", "Basic: People's user name with a wrong password; Bearer: a token "
                                         "that is not a JWT", authenticated=False),
)
BY_KEY = {c.key: c for c in CALLERS}

# --- who passes --------------------------------------------------------------------------------------------
# Admins pass every rule (CONTRACT.md §3.2, §3.5 [real-2024]).
RULES: dict[str, tuple[str, Callable[[Caller], bool]]] = {
    "anyone": ("any authenticated user", lambda c: True),
    "admin": ("admins only", lambda c: False),
    "allowed": ("allowed on the domain", lambda c: c.allowed),
    "manage_users": ("holds manage_users", lambda c: MANAGE_USERS in c.perms),
    "create_users": ("holds create_users", lambda c: CREATE_USERS in c.perms),
    "create_users+new_domain": ("holds create_users and the perm it gives (new_domain)",
                                lambda c: {CREATE_USERS, NEW_DOMAIN} <= c.perms),
    "new_domain": ("holds new_domain", lambda c: NEW_DOMAIN in c.perms),
    "any_perm": ("holds at least one perm", lambda c: bool(c.perms)),
    "new_domain+allowed": ("holds new_domain and is allowed on the domain",
                           lambda c: NEW_DOMAIN in c.perms and c.allowed),
    "manage_users+allowed": ("holds manage_users and is allowed on the domain",
                             lambda c: MANAGE_USERS in c.perms and c.allowed),
    "reads_user": ("the user itself, or its manager", lambda c: c.itself or c.manages),
    "manages": ("the user's manager", lambda c: c.manages),
    "manages+new_domain": ("the user's manager, holding the perm it gives (new_domain)",
                           lambda c: c.manages and NEW_DOMAIN in c.perms),
    "token_for": ("the user itself, or its manager", lambda c: c.itself or c.manages),
}


def admits(rule: str, caller: Caller) -> bool:
    return caller.authenticated and (caller.admin or RULES[rule][1](caller))


# --- what a passing caller sees in a listing (the run's objects only; an admin sees them all) ---------------

def _domains_of(caller: Caller) -> frozenset[str]:
    return frozenset(DOMAINS if caller.admin else (d for u, d in ALLOWS if u == caller.key))


def _mailboxes_of(caller: Caller) -> frozenset[str]:
    return frozenset(MAILBOXES) if "domain" in _domains_of(caller) else frozenset()


def _aliases_of(caller: Caller) -> frozenset[str]:
    return frozenset(ALIASES) if "domain" in _domains_of(caller) else frozenset()


def _users_of(caller: Caller) -> frozenset[str]:
    if caller.admin:
        return frozenset(USERS)
    managed = {u for u, by in CREATED_BY.items() if by == caller.key} if MANAGE_USERS in caller.perms else set()
    return frozenset({caller.key, *managed} & set(USERS))


def _allows_of(caller: Caller) -> frozenset[str]:
    domains = _domains_of(caller)
    return frozenset(f"{u}@{d}" for u, d in ALLOWS if d in domains)


# key -> (what it lists, what a passing caller sees of the run's objects, source)
LISTINGS: dict[str, tuple[str, Callable[[Caller], frozenset[str]], str]] = {
    "users": ("users", _users_of, "§3.6 [inferred]: itself and the users it manages"),
    "allows": ("allows (user@domain)", _allows_of, "§3.6 [inferred]: the allows on the domains it is allowed on"),
    "domains": ("domains", _domains_of, "§3.6 [inferred]: the domains it is allowed on"),
    "my_domains": ("domains", _domains_of, "§4.17 [inferred]: the domains it is allowed on"),
    "my_mailboxes": ("mailboxes", _mailboxes_of, "§4.17 [inferred]: the mailboxes of its domains"),
    "my_aliases": ("aliases", _aliases_of, "§4.17 [inferred]: the aliases of its domains, public ones included"),
    "my_resources": ("domains, mailboxes, aliases",
                     lambda c: _domains_of(c) | _mailboxes_of(c) | _aliases_of(c), "§4.17 [inferred]: all three"),
    "identities": ("mailboxes linked to the identity", lambda c: frozenset({"box"}) & _mailboxes_of(c),
                   "§3.6, §4.16 [inferred]: the linked mailboxes of the domains it is allowed on"),
}

# --- the rows ------------------------------------------------------------------------------------------------

DENIED = (403, "Permission denied")
BASIC_REFUSAL = "§2.2, §3.6 [real-2024]"
BEARER_REFUSAL = "§3.6 [real-2024]"
MAILBOX_2024 = "§3.5 [real-2024]: allows decide the 2024 Bearer routes"
LIKE_2024 = "§3.6 [inferred]: as the 2024 Bearer routes"
PEOPLE_TOKEN = "[people] People acts with its own token on the domains it created (PEOPLE.md §7)"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    scheme: str  # "Basic" | "Bearer", as the v0.8.2 document declares it
    rule: str  # key of RULES
    success: int  # the answer of a caller who passes
    source: str  # who passes, from where
    guess: bool = True  # who passes is [inferred] (the sources are silent)
    variant: str = ""  # the case, when the rules treat one operation's bodies differently
    refusal: tuple[int, str] = DENIED
    refusal_source: str = ""
    refusal_guess: bool = False
    people: str = ""  # a source for People's own cell, which then is no guess
    listing: str = ""  # key of LISTINGS
    platform: bool = False  # stops, moves or cuts off a platform: sent only with --dimail-system-writes
    success_detail: str | None = None  # when the admin's answer is a fixed text (no object can be made)
    note: str = ""

    @property
    def operation(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.variant})" if self.variant else "")


def _bearer(method: str, path: str, success: int, source: str = LIKE_2024, guess: bool = True, **kw: object) -> Row:
    return Row(method, path, "Bearer", "allowed", success, source, guess, people=PEOPLE_TOKEN,
               refusal_source=BEARER_REFUSAL, **kw)  # type: ignore[arg-type]


def _system(method: str, path: str, success: int, scheme: str = "Basic", **kw: object) -> Row:
    return Row(method, path, scheme, "admin", success, "§4.21 [spec: system tag][inferred: admins only]",
               refusal_source=BASIC_REFUSAL if scheme == "Basic" else BEARER_REFUSAL, **kw)  # type: ignore[arg-type]


_BOX = "/domains/{domain_name}/mailboxes/{user_name}"
_V2 = "/v2" + _BOX
_CRASH = ("admin: 404 `Not found` for a crash log name that does not exist (the API cannot make a crash log on "
          "purpose): the answer after the rights check")

ROWS: tuple[Row, ...] = (
    # token (§4.1)
    Row("GET", "/token/", "Basic", "anyone", 200, "§2.2, §4.1 [real-2024]", guess=False,
        refusal_source=BASIC_REFUSAL),
    Row("GET", "/token/", "Basic", "token_for", 200, "§2.4, §3.3, §4.1 [spec: an admin, or the manager of a "
        "managed user][inferred: the rule; its own name gives its own token]", variant="username: its user",
        refusal_source="§4.1 [inferred]", refusal_guess=True),
    # users (§4.2)
    Row("GET", "/users/", "Basic", "manage_users", 200, "§3.6 [inferred]", listing="users",
        refusal_source=BASIC_REFUSAL),
    Row("POST", "/users/", "Basic", "create_users", 201, "§3.2, §3.6 [inferred]", variant="no perms",
        people="[people] la_regie holds create_users and People created users with it (PEOPLE.md §7)",
        refusal_source=BASIC_REFUSAL),
    Row("POST", "/users/", "Basic", "create_users+new_domain", 201, "§3.2, §3.6 [inferred: only perms the "
        "caller holds]", variant="perms: new_domain", refusal_source=BASIC_REFUSAL),
    Row("POST", "/users/", "Basic", "admin", 201, "§3.2, §3.6 [inferred: non-admins create non-admin users "
        "only]", variant="is_admin: true", refusal_source=BASIC_REFUSAL),
    Row("GET", "/users/{user_name}", "Basic", "reads_user", 200, "§3.6 [inferred]", refusal_source=BASIC_REFUSAL),
    Row("GET", "/users/identity/{proconnect}", "Basic", "reads_user", 200, "§3.6 [inferred]",
        refusal_source=BASIC_REFUSAL),
    Row("PATCH", "/users/{user}", "Basic", "manages", 200, "§3.6 [inferred]; §4.2 [real-2024]: a non-admin "
        "cannot change itself", variant="acls: +x", refusal_source=BASIC_REFUSAL),
    Row("PATCH", "/users/{user}", "Basic", "admin", 200, "§3.6 [inferred: a manager may not make an admin]",
        variant="is_admin: true", refusal_source=BASIC_REFUSAL),
    Row("PATCH", "/users/{user}", "Basic", "manages+new_domain", 200, "§3.6 [inferred: a manager may not add a "
        "perm it lacks]", variant="perms: +new_domain", refusal_source=BASIC_REFUSAL),
    Row("DELETE", "/users/{user_name}", "Basic", "manages", 204, "§3.6 [inferred]; §4.2 [real-2024]",
        refusal_source=BASIC_REFUSAL),
    # allows (§4.3)
    Row("GET", "/allows/", "Basic", "manage_users", 200, "§3.6 [inferred]", listing="allows",
        refusal_source=BASIC_REFUSAL),
    Row("POST", "/allows/", "Basic", "manage_users+allowed", 201, "§3.2, §3.6 [inferred]",
        people="[people] la_regie granted allows on its domains (PEOPLE.md §7, era B)", refusal_source=BASIC_REFUSAL),
    Row("DELETE", "/allows/{domain_name}/{user_name}", "Basic", "manage_users+allowed", 204, "§3.2, §3.6 [inferred]",
        refusal_source="§4.3 [inferred]: the document declares no 403 here; kept like every Basic route",
        refusal_guess=True),
    # domains (§4.4)
    Row("GET", "/domains/", "Basic", "any_perm", 200, "§3.6 [inferred]", listing="domains",
        refusal_source=BASIC_REFUSAL),
    Row("POST", "/domains/", "Basic", "new_domain", 201, "§3.2, §3.6 [inferred]",
        people="[people] la_regie creates domains with new_domain (PEOPLE.md §7)", refusal_source=BASIC_REFUSAL),
    Row("GET", "/domains/{domain_name}", "Bearer", "allowed", 200, MAILBOX_2024, guess=False,
        refusal=(401, "Not authorized."), refusal_source="§3.6, §4.4 [real-2024]"),
    Row("PATCH", "/domains/{domain_name}", "Basic", "new_domain+allowed", 200, "§3.2, §3.6 [inferred]",
        refusal_source=BASIC_REFUSAL),
    Row("DELETE", "/domains/{domain_name}", "Basic", "new_domain+allowed", 204, "§3.2, §3.6 [inferred]",
        refusal_source=BASIC_REFUSAL),
    Row("GET", "/domains/{domain_name}/check", "Basic", "allowed", 200, "§3.6, §7 [inferred]: allowed users",
        people="[people] la_regie checks the domains it created (CONTRACT.md §7)", refusal_source=BASIC_REFUSAL),
    Row("GET", "/domains/{domain_name}/fix", "Basic", "allowed", 200, "§3.6 [inferred]: allowed users",
        people="[people] la_regie fixes the domains it created (PEOPLE.md)", refusal_source=BASIC_REFUSAL),
    # mailboxes, v1 (§4.5, §4.7 to §4.9)
    _bearer("GET", "/domains/{domain_name}/mailboxes/", 200, MAILBOX_2024, guess=False),
    _bearer("GET", _BOX, 200, MAILBOX_2024, guess=False),
    _bearer("POST", _BOX, 201, MAILBOX_2024, guess=False, refusal=(403, "Permisison denied")),
    _bearer("PATCH", _BOX, 200, MAILBOX_2024, guess=False),
    _bearer("DELETE", _BOX, 204, MAILBOX_2024, guess=False),
    _bearer("POST", _BOX + "/force_password", 200),
    _bearer("POST", _BOX + "/reset_password", 200),
    _bearer("POST", _BOX + "/check_password", 200),
    _bearer("POST", _BOX + "/code", 201),
    _bearer("GET", _BOX + "/identities", 200),
    _bearer("POST", _BOX + "/identities/{identity}", 201),
    # mailboxes, v2 (§4.6)
    _bearer("GET", "/v2/domains/{domain_name}/mailboxes/", 200),
    _bearer("GET", _V2, 200),
    _bearer("POST", _V2, 201),
    _bearer("PATCH", _V2, 200),
    # secondary accounts (§4.13)
    _bearer("GET", _BOX + "/master_of", 200),
    _bearer("GET", _BOX + "/mastered_by", 200),
    _bearer("GET", _BOX + "/master_of/{secondary_email}", 200),
    _bearer("POST", _BOX + "/master_of/{secondary_email}", 201),
    _bearer("DELETE", _BOX + "/master_of/{secondary_email}", 204),
    # app passwords (§4.14)
    _bearer("GET", _BOX + "/app_passwords", 200),
    _bearer("POST", _BOX + "/app_passwords", 201),
    _bearer("GET", _BOX + "/app_passwords/{uuid}", 200),
    _bearer("DELETE", _BOX + "/app_passwords/{uuid}", 204),
    # address (§4.10), forwards (§4.12), aliases (§4.11)
    _bearer("GET", "/domains/{domain_name}/address/{user_name}", 200),
    _bearer("GET", "/domains/{domain_name}/forwards/", 200),
    _bearer("POST", "/domains/{domain_name}/forwards/{user_name}", 201),
    _bearer("GET", "/domains/{domain_name}/forwards/{user_name}", 200),
    _bearer("PATCH", "/domains/{domain_name}/forwards/{user_name}", 200),
    _bearer("DELETE", "/domains/{domain_name}/forwards/{user_name}", 204),
    _bearer("GET", "/domains/{domain_name}/aliases/", 200, MAILBOX_2024, guess=False),
    _bearer("POST", "/domains/{domain_name}/aliases/", 201, MAILBOX_2024, guess=False),
    _bearer("PATCH", "/domains/{domain_name}/aliases/{user_name}/{destination}", 200),
    _bearer("DELETE", "/domains/{domain_name}/aliases/{user_name}/{destination}", 204, MAILBOX_2024, guess=False),
    # public aliases (§4.15): the domain concerned is the destination's (here both are the domain)
    _bearer("GET", "/aliases", 200, "§3.6 [inferred]: allowed on the domain concerned"),
    _bearer("GET", "/aliases/domains", 200, "§3.6 [inferred]: allowed on the domain concerned"),
    _bearer("POST", "/aliases", 201, "§3.6 [inferred]: allowed on the domain concerned"),
    _bearer("PATCH", "/aliases/{user_name}@{domain_name}/{destination}", 200,
            "§3.6 [inferred]: allowed on the domain concerned"),
    _bearer("DELETE", "/aliases/{user_name}@{domain_name}/{destination}", 204,
            "§3.6 [inferred]: allowed on the domain concerned"),
    # identities (§4.16): the domain of the mailbox
    Row("GET", "/identities", "Bearer", "anyone", 200, "§4.16 [inferred]: anyone asks, each sees its domains' "
        "mailboxes", listing="identities", refusal_source=BEARER_REFUSAL),
    Row("POST", "/identities", "Bearer", "allowed", 201, "§3.6 [inferred]: allowed on the mailbox's domain",
        refusal_source=BEARER_REFUSAL, refusal_guess=True),
    Row("DELETE", "/identities/{proconnect}/{email}", "Bearer", "allowed", 204,
        "§3.6 [inferred]: allowed on the mailbox's domain", refusal_source=BEARER_REFUSAL, refusal_guess=True),
    # my_stuff (§4.17), codes (§4.7)
    *(Row("GET", f"/my/{what}", "Bearer", "anyone", 200, "§4.17 [spec: the token's own user][inferred]",
          listing=f"my_{what}", refusal_source=BEARER_REFUSAL)
      for what in ("domains", "mailboxes", "aliases", "resources")),
    Row("GET", "/code/{code_string}", "Bearer", "anyone", 200, "§3.6, §4.7 [inferred]: any authenticated user",
        refusal_source=BEARER_REFUSAL),
    # logs (§4.20)
    Row("GET", "/logs/", "Basic", "admin", 200, "§4.20 [spec: admin tag][inferred: admins only]",
        refusal_source=BASIC_REFUSAL),
    Row("GET", "/logs/crashes", "Basic", "admin", 200, "§4.20 [spec: admin tag][inferred: admins only]",
        refusal_source=BASIC_REFUSAL),
    Row("GET", "/logs/crashes/{crash_name}", "Basic", "admin", 404, "§4.20 [spec: admin tag][inferred: admins "
        "only]", refusal_source=BASIC_REFUSAL, success_detail="Not found", note=_CRASH),
    Row("DELETE", "/logs/crashes/{crash_name}", "Basic", "admin", 404, "§4.20 [spec: admin tag][inferred: admins "
        "only]", refusal_source=BASIC_REFUSAL, success_detail="Not found", note=_CRASH),
    # system (§4.21)
    _system("GET", "/system/health_check", 200),
    _system("GET", "/system/version", 200),
    _system("GET", "/system/tech_domain", 200),
    _system("GET", "/system/stores_info", 200),
    _system("GET", "/system/store_info/{store_name}", 200),
    _system("GET", "/system/mailbox_info/{domain_name}/{user_name}", 200),
    _system("GET", "/system/mailboxes_info/{domain_name}", 200),
    _system("GET", "/system/mailqueue/{domain_name}/{user_name}", 200),
    _system("GET", "/system/rate_limits", 200),
    _system("GET", "/system/rate_limits/{name}", 200),
    _system("POST", "/system/rate_limits/{name}", 201),
    _system("PATCH", "/system/rate_limits/{name}", 200),
    _system("DELETE", "/system/rate_limits/{name}", 204),
    _system("GET", "/system/disconnect/{domain_name}/{user_name}", 200, platform=True),
    _system("POST", "/system/check_contexts", 200, platform=True),
    _system("PATCH", "/system/import_domain/{domain_name}", 200, platform=True),
    _system("PATCH", "/system/database/{db_name}", 200, platform=True),
    _system("POST", "/system/database/{db_name}/{schema_name}", 200, platform=True),
    _system("GET", "/system/move_mailbox/{domain_name}/{user_name}", 200, scheme="Bearer", platform=True),
    _system("GET", "/system/shutdown", 200, platform=True),
)
BY_ID = {row.id: row for row in ROWS}


@dataclass(frozen=True)
class Answer:
    status: tuple[int, ...]  # what may answer (two only where FastAPI versions differ, §2.3)
    detail: str | None  # dimail's fixed text, when it has one
    source: str
    guess: bool
    sees: frozenset[str] | None = None  # listings: which of the run's objects it shows
    admitted: bool = False  # the caller passes the rule (the operation's success is expected)
    headers: dict[str, str] = field(default_factory=dict)


def cell(row: Row, key: str) -> Answer:
    """The answer `key`'s class expects from `row`, with its source and whether it is a guess."""
    caller = BY_KEY[key]
    if key == "no_credentials":
        if row.scheme == "Basic":
            return Answer((401,), "Not authenticated", "§2.2 [real-2024]", False, headers={"www-authenticate": "Basic"})
        return Answer((403, 401), "Not authenticated", "§2.3 [real-2024: 403; inferred: 401 on newer FastAPI]", False)
    if key == "wrong_credentials":
        return Answer((403,), "Permission denied", "§2.2 [real-2024]" if row.scheme == "Basic" else "§2.3 [real-2024]",
                      False)
    if admits(row.rule, caller):
        listing = LISTINGS.get(row.listing)
        sees = listing[1](caller) if listing else None
        if caller.admin:
            source, guess = "§3.5 [real-2024]: admins pass every check", bool(listing) and row.listing.startswith("my_")
        elif key == "people" and row.people:
            source, guess = row.people, False
        else:
            source, guess = row.source, row.guess
        if listing and not caller.admin:
            source += f"; sees: {listing[2]}"
        return Answer((row.success,), row.success_detail, source, guess, sees, admitted=True)
    guess = row.guess and not (key == "people" and row.people)
    return Answer((row.refusal[0],), row.refusal[1], f"{row.source}; refusal {row.refusal_source}",
                  guess or row.refusal_guess)


def expected(row_id: str, key: str) -> Answer:
    return cell(BY_ID[row_id], key)


# --- the page -------------------------------------------------------------------------------------------------

CODES = {"Permission denied": "P", "Permisison denied": "T", "Not authenticated": "N", "Not authorized.": "A",
         "Not found": "F"}


def render() -> str:
    out = [PAGE_HEAD]
    out += ["| caller class | key | who |", "|---|---|---|"]
    out += [f"| {c.title} | `{c.key}` | {c.who} |" for c in CALLERS]
    out += ["", MATRIX_HEAD, ""]
    out += ["| operation | " + " | ".join(c.title for c in CALLERS) + " |",
            "|---|" + "---|" * len(CALLERS)]
    for row in ROWS:
        full = LISTINGS[row.listing][1](BY_KEY["admin"]) if row.listing else None
        cells = []
        for caller in CALLERS:
            answer = cell(row, caller.key)
            status = "/".join(str(s) for s in answer.status)
            code = CODES.get(answer.detail or "", "")
            sees = "" if answer.sees is None else (" ●" if answer.sees == full else " ◐")
            cells.append(f"{status}{' ' + code if code else ''}{sees}{'?' if answer.guess else ''}")
        platform = " ⚠" if row.platform else ""
        out.append(f"| `{row.method} {row.path}`{f' ({row.variant})' if row.variant else ''}{platform} | "
                   + " | ".join(cells) + " |")
    out += ["", LISTINGS_HEAD, "", "| operation | " + " | ".join(c.title for c in CALLERS[:8]) + " |",
            "|---|" + "---|" * 8]
    for row in ROWS:
        if row.listing:
            seen = []
            for caller in CALLERS[:8]:
                answer = cell(row, caller.key)
                seen.append("–" if answer.sees is None else ", ".join(sorted(answer.sees)) or "nothing")
            out.append(f"| `{row.id}` | " + " | ".join(seen) + " |")
    out += ["", SOURCES_HEAD, ""]
    for row in ROWS:
        out.append(f"- `{row.id}` — passes: {'admins only' if row.rule == 'admin' else 'admins; ' + RULES[row.rule][0]}"
                   f". Who passes: {row.source}"
                   f"{' (guess)' if row.guess else ''}."
                   + (f" People: {row.people}." if row.people else "")
                   + f" Refusal {row.refusal[0]} `{row.refusal[1]}`: {row.refusal_source}"
                   + (" (guess)." if row.refusal_guess else ".")
                   + (f" Note: {row.note}." if row.note else "")
                   + (" Sent only with `--dimail-system-writes`." if row.platform else ""))
    return "\n".join(out) + "\n"


PAGE_HEAD = """\
<!-- Generated by `python -m contracts.matrix > docs/contracts/authorization-matrix.md` from contracts/matrix.py:
     edit the data there, never this page (tests/test_matrix.py fails when they differ). -->
# The authorization matrix

Who may call what on dimail v0.8.2, as People's contract suite expects it: one row per secured operation of
the v0.8.2 document (88 operations; one operation has several rows where its rules depend on the body or
the query: 93 rows), one column per caller class. Every cell is derived from the rules of the behaviour
contract (CONTRACT.md §2 authentication, §3 authorization) and the document's security declarations, and
carries its source; a cell marked `?` is a guess: the sources are silent and the contract chose.

## The `authz` family

The contract family `authz` checks every cell against the target. It runs with the rest of the suite
(`pytest --pyargs contracts`), or alone (`pytest --pyargs contracts.test_authz`); each row is one contract
of the summary's `authz` line, and passes when all its cells hold. It needs nothing but the target and its
credentials; against a real dimail, give `--dimail-admin USER:PASSWORD` for the admin's column: without it
that column is not judged, and every row says so in the report (`not judged: admin: ...`). A row whose
operation the target does not declare is skipped, naming it. Against a dimail whose users have no perms
(an older one, the admin standing in for People's user) the family is blocked: v0.8.2's perms are what it
judges.

Before the first row the family creates, with the run's name prefix: a domain (`domain`, created by
People's user, so People is allowed on it), another one (`other`), the users of the classes below (made
by People's user, hence managed by it), the operation's user (`itself`, made by `manager`), and on
`domain` three mailboxes (`box`, `peer`, `pw`), an alias and a public alias to `box`, a forward, an app
password, a secondary access, a ProConnect identity and a login code. A write that would use up or change
what other cells rely on acts on an object of its own (a fresh mailbox to delete, a fresh user to patch),
and what it made is removed after the cell. Every write the API can show is read back: a refused write must
leave no trace, an accepted one must show (a password reset, a login code and an alias's description are
not: no answer shows them). At the end everything is deleted; the summary's `authz cost:`
line (and `costs` in the JSON report) says how many requests the family sent, what it created, and
whether all of it was removed. On the in-process fake that is about 1,750 requests.

## Reading a failure

A broken row fails with one line per broken cell: the operation, the caller class (its key, then its
column), what the target answered, what the matrix expects, and the sources of the cell. For instance,
against a dimail that lets a user allowed on some domain create mailboxes on every domain:

```text
FAILED contracts/test_authz.py::test_authorization[POST /domains/{domain_name}/mailboxes/{user_name}]: contracts.expect.ContractBroken: POST /domains/{domain_name}/mailboxes/{user_name}: 1 cell broken: as other_domain (other domain): answered 201 {"email":"ctf08b01-b103@ctf08b01-d2.contract.test","password":"bqQHuhzEfC-sgICE"}, expected 403 {"detail":"Permisison denied"} — §3.5 [real-2024]: allows decide the 2024 Bearer routes; refusal §3.6 [real-2024]
```

The other forms a cell takes: `answered 403 as expected, but the write took effect` (a refused write left a
trace when read back), `answered 200 as expected, but the write does not show when read back`, `answered
200, but of the run's users it shows ..., expected ...` (a listing shows what the class may not see, or
hides what it may), and `could not be judged: ...` (People's user could not make what the cell acts on).
A cell ending in `(a guess)` rests on the contract's own inference: if dimail is right there, the matrix
is what is wrong — say so, with the line.

## The data and the library

The matrix is plain data (`contracts/matrix.py`): `expected(row, caller class)` gives a cell, its source and
whether it is a guess. `contracts/authz.py` judges rows against any target, the way the family does; a test
or a mutation tool can run it on an app in this process:

```python
from contracts.authz import World, judge
from contracts.matrix import BY_ID, expected
from contracts.target import Target, in_process

cell = expected("POST /domains/{domain_name}/mailboxes/{user_name}", "other_domain")
assert (cell.status, cell.detail, cell.guess) == ((403,), "Permisison denied", False)

with in_process() as (url, transport, _):  # a fresh fake seeded like People's dev setup
    target = Target(url, ("admin", "admin"), ("la_regie", "password"), transport=transport)
    target.load_openapi()
    world = World(target)
    broken, not_judged = judge(world, BY_ID["POST /domains/{domain_name}/mailboxes/{user_name}"])
    assert broken == {} and not_judged == []
    assert world.close() == [] and world.cost().endswith("removed all of it")
```

## List edits

The `edits` family (`contracts/test_list_edits.py`, one contract per field) checks the `+x` / `-x` /
plain-set rule of `PATCH /users/{user}` on `perms`, `acls` and `identities` against a model of it
(`contracts/edits.py`): first one body per branch of the rule, then hypothesis-drawn ones (`--dimail-examples
N`, 8 by default, the same every run). People's user patches a user it made, so its own limit is checked
too: it may not add a perm it does not hold. Lists compare as sets; a mix of signed and plain items is
expected to be refused with 422 `Cannot mix set and add/remove`, and an empty list to empty the field
(guesses, CONTRACT.md §4.2).

## Caller classes
"""

MATRIX_HEAD = """\
## The matrix

A cell is the expected status, then dimail's fixed text: `P` `Permission denied`, `T` `Permisison
denied` (dimail's typo, v1 mailbox creation only), `N` `Not authenticated`, `A` `Not authorized.`,
`F` `Not found`. `●`: a listing that shows every object of the run, `◐`: only some (next table). `?`: a
guess. `⚠`: acts on the platform itself (stops, moves, disconnects): these rows are sent only with
`--dimail-system-writes`, and even then not as the admin. `403/401`: a Bearer route without credentials
answers 403 on the recorded server and 401 on newer FastAPI; both are accepted. A Basic route without
credentials also answers `WWW-Authenticate: Basic`."""

LISTINGS_HEAD = """\
## What a passing caller sees

For listings, the objects of the scratch world the answer must show, and no others of the world
(anything else the target holds is not judged): users by class, allows as `user@domain`."""

SOURCES_HEAD = """\
## Sources, row by row

Admins pass every rule (CONTRACT.md §3.5 [real-2024]); no credentials and wrong credentials are refused as
§2.2 (Basic) and §2.3 (Bearer) say [real-2024]. Section numbers are CONTRACT.md's; tags are its sources:
[spec] the v0.8.2 document, [people] People's client, [real-2024] dimail's 2024 code and recordings,
[inferred] the contract's choice where those are silent. CONTRACT.md and PEOPLE.md are dimail's reference
notes, not in this repository: `reference/dimail/README.md` says what they are and where they come from."""


if __name__ == "__main__":
    sys.stdout.write(render())
