"""Rules a client observes in normal use that no other family reaches (CONTRACT.md §4.4-§4.15, §6): the creation
check and `no_check`, a domain change refused while it has mailboxes (or OX users, for its context) and one
made later, the v1 listing's union and statuses, names written by a v2 `+ox` read back, every field a mailbox
write names read back and the others kept (`with_extras=false` too), `wait` set and cleared by admins only, a
login code's expiry, the alias listing's modes, secondary links gone with their mailbox, public aliases created
exactly where the listing says.

Each contract comes from the rule as CONTRACT.md states it, with its source in the docstring and in the failure;
each works on objects of its own, named with the run's prefix and removed at the end. `make mutation` found
these rules unguarded (docs/contracts/mutation.md); the contracts are written from the rules, not the mutants.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest

from provisioner.provisioner import PEOPLE_FEATURES

from .expect import ContractBroken, body, equal, status
from .target import Target

pytestmark = pytest.mark.contract("rules")

DOMAINS = ("POST", "/domains/")
_BOX = "/domains/{domain_name}/mailboxes/{user_name}"
V2_BOX = "/v2" + _BOX
NO_TEST = {"code": "no_test", "detail": "Did not check yet"}


def _domain(target: Target, features: list[str] | None = None, **params: str) -> tuple[str, dict[str, Any]]:
    """A domain of the run, created by People's user as People creates one (unless `features` say otherwise)."""
    name = target.name("domain")
    payload = {"name": name, "context_name": name, "features": PEOPLE_FEATURES if features is None else features,
               "delivery": "virtual"}
    answer = target.call("POST", "/domains/", auth=target.people, params=params, json=payload)
    status(answer, 201, f"POST /domains/{'?' + '&'.join(f'{k}={v}' for k, v in params.items()) if params else ''}")
    target.created_domains.append(name)
    return name, body(answer, "POST /domains/")


def _checks(domain: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in domain.items() if isinstance(value, dict) and "ok" in value}


def _read(target: Target, name: str, bearer: str) -> dict[str, Any]:
    answer = target.call("GET", f"/domains/{quote(name)}", bearer=bearer)
    status(answer, 200, "GET /domains/{d}")
    return body(answer, "GET /domains/{d}")  # type: ignore[no-any-return]


@pytest.mark.dimail_needs(DOMAINS, ("GET", "/domains/{domain_name}"))
def test_a_new_domain_is_checked_unless_no_check_says_otherwise(dimail_target: Target) -> None:
    """§4.4 POST /domains/ side effect 5, §6 #11 [real-2024]: with `no_check` absent or exactly `"false"` the
    DNS check runs once the 201 (which still shows `new`) is built; any other value (`true`, `False`) skips it,
    and the domain reads back `new`, every check `no_test`."""
    token = dimail_target.token()
    for params, checked in (({}, True), ({"no_check": "false"}, True), ({"no_check": "true"}, False),
                            ({"no_check": "False"}, False)):
        name, created = _domain(dimail_target, **params)
        call = f"POST /domains/ {params or '(no no_check)'}"
        if created.get("state") != "new":
            raise ContractBroken(f"{call}: the 201 shows state {created.get('state')!r}, expected 'new' (the check "
                                 "runs after the answer is built) — §4.4 [real-2024]")
        read = _read(dimail_target, name, token)
        deadline = time.monotonic() + 10  # a real dimail checks in the background: give it time
        while checked and read.get("state") == "new" and time.monotonic() < deadline:
            time.sleep(0.5)
            read = _read(dimail_target, name, token)
        untested = sorted(k for k, v in _checks(read).items() if NO_TEST in v.get("errors", []))
        if checked and (read.get("state") == "new" or untested):
            raise ContractBroken(f"{call}, then GET /domains/{{d}}: state {read.get('state')!r}, {untested or 'no'} "
                                 "check(s) still `no_test`: the creation check did not run — §4.4 step 5 [real-2024]")
        if not checked and (read.get("state") != "new" or len(untested) != len(_checks(read))):
            raise ContractBroken(f"{call}, then GET /domains/{{d}}: state {read.get('state')!r}, checked "
                                 f"{sorted(set(_checks(read)) - set(untested))}: only exactly \"false\" runs the "
                                 "creation check — §6 #11 [real-2024]")


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/domains/{domain_name}/aliases/"),
                          ("GET", "/domains/{domain_name}/aliases/"))
def test_the_alias_listing_answers_each_of_its_modes(dimail_target: Target) -> None:
    """§4.11 GET /domains/{d}/aliases/ [real-2024]: neither parameter → every row of the domain; `user_name`
    → its destinations, possibly none (200 []); both → that one row, else 404 `Alias not found`; `destination`
    alone → 412 with dimail's text (typo kept)."""
    name, _ = _domain(dimail_target, no_check="true")
    token = dimail_target.token()
    path = f"/domains/{quote(name)}/aliases/"
    rows = [("info", "a@elsewhere.contract.test"), ("info", "b@elsewhere.contract.test"),
            ("team", "c@elsewhere.contract.test")]
    for local, destination in rows:
        answer = dimail_target.call("POST", path, bearer=token, json={"user_name": local, "destination": destination})
        status(answer, 201, "POST /domains/{d}/aliases/")

    def listed(call: str, **params: str) -> set[tuple[str, str]]:
        answer = dimail_target.call("GET", path, bearer=token, params=params)
        status(answer, 200, call)
        return {(a["username"], a["destination"]) for a in body(answer, call)}

    equal(listed("GET aliases/"), set(rows), "GET /domains/{d}/aliases/: every alias row of the domain (§4.11)")
    equal(listed("GET aliases/?user_name=info", user_name="info"), set(rows[:2]),
          "GET /domains/{d}/aliases/?user_name=info: the destinations of info@ only (§4.11)")
    equal(listed("GET aliases/?user_name=nobody", user_name="nobody"), set(),
          "GET /domains/{d}/aliases/?user_name=nobody: 200 [] for a name without alias, not 404 (§4.11)")
    equal(listed("GET aliases/?user_name=team&destination=…", user_name="team", destination=rows[2][1]),
          {rows[2]}, "GET /domains/{d}/aliases/?user_name=team&destination=c@…: that row alone (§4.11)")
    missing = dimail_target.call("GET", path, bearer=token, params={"user_name": "team", "destination": rows[0][1]})
    status(missing, 404, "GET /domains/{d}/aliases/ with a destination the name does not have")
    equal(body(missing, "aliases"), {"detail": "Alias not found"}, "GET /domains/{d}/aliases/ (both, none): body")
    alone = dimail_target.call("GET", path, bearer=token, params={"destination": rows[0][1]})
    status(alone, 412, "GET /domains/{d}/aliases/?destination=… without user_name (§4.11, §6 #13)")
    equal(body(alone, "aliases"), {"detail": "It is forbiden to only provide the destination in a request"},
          "GET /domains/{d}/aliases/?destination=… alone: body (§6 #13, typo kept)")


@pytest.mark.dimail_needs(DOMAINS, ("PATCH", "/domains/{domain_name}"),
                          ("POST", "/domains/{domain_name}/mailboxes/{user_name}"))
def test_a_domain_change_impossible_with_mailboxes_is_refused_and_changes_nothing(dimail_target: Target) -> None:
    """§4.4 PATCH /domains/{d} [spec: 418 "a precondition failed"][inferred: triggers]: removing `mailbox` or
    `webmail`, or moving the domain to another OX context (`context_name`), while the domain has mailboxes
    (OX users) answers 418 and leaves the domain and its mailbox as they were; once it has none, the same
    change is made."""
    name, _ = _domain(dimail_target, no_check="true")
    token = dimail_target.token()
    box = dimail_target.call("POST", f"/domains/{quote(name)}/mailboxes/someone", bearer=token,
                             json={"givenName": "Some", "surName": "One", "displayName": "Some One"})
    status(box, 201, "POST /domains/{d}/mailboxes/{u}")
    for change in ({"features": ["-mailbox"]}, {"features": ["-webmail"]}, {"context_name": f"{name}-elsewhere"}):
        refused = dimail_target.call("PATCH", f"/domains/{quote(name)}", auth=dimail_target.people, json=change)
        status(refused, 418, f"PATCH /domains/{{d}} {change} while the domain has a mailbox",
               "§4.4: a change impossible in the current state [spec][inferred trigger]")
        equal(sorted(_read(dimail_target, name, token)["features"]), sorted(PEOPLE_FEATURES),
              f"GET /domains/{{d}} after the refused {change}: features unchanged")
        kept = dimail_target.call("GET", f"/domains/{quote(name)}/mailboxes/someone", bearer=token)
        status(kept, 200, "GET /domains/{d}/mailboxes/{u}")
        equal(body(kept, "GET /domains/{d}/mailboxes/{u}").get("status"), "ok",
              f"GET /domains/{{d}}/mailboxes/{{u}} after the refused {change}: its Dovecot row and OX user stay")
    status(dimail_target.call("DELETE", f"/domains/{quote(name)}/mailboxes/someone", bearer=token), 204,
           "DELETE /domains/{d}/mailboxes/{u}")
    done = dimail_target.call("PATCH", f"/domains/{quote(name)}", auth=dimail_target.people,
                              json={"features": ["-mailbox"]})
    status(done, 200, "PATCH /domains/{d} features -mailbox once the domain has no mailbox")
    equal(sorted(_read(dimail_target, name, token)["features"]), sorted(set(PEOPLE_FEATURES) - {"mailbox"}),
          "GET /domains/{d} after -mailbox: the feature is gone, the others stay")


@pytest.mark.dimail_needs(DOMAINS, ("PATCH", "/domains/{domain_name}"))
def test_a_domain_takes_webmail_later_with_its_context(dimail_target: Target) -> None:
    """§4.4 PATCH /domains/{d} [spec]: `features` and `context_name` may change; a domain created without
    `webmail` takes it later with the context it names, and reads back with it."""
    name, _ = _domain(dimail_target, features=["mailbox"], no_check="true")
    answer = dimail_target.call("PATCH", f"/domains/{quote(name)}", auth=dimail_target.people,
                                json={"features": ["+webmail"], "context_name": name})
    status(answer, 200, "PATCH /domains/{d} features +webmail with a context_name")
    equal(sorted(_read(dimail_target, name, dimail_target.token())["features"]), ["mailbox", "webmail"],
          "GET /domains/{d} after +webmail")


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/domains/{domain_name}/mailboxes/{user_name}"),
                          ("GET", "/domains/{domain_name}/mailboxes/"))
def test_the_v1_mailbox_listing_is_the_union_with_its_statuses(dimail_target: Target) -> None:
    """§4.5 [real-2024]: `GET /domains/{d}/mailboxes/` is the union of the domain's Dovecot mailboxes and the OX
    users of its context — on a webmail domain the context admin `oxadmin@<d>` shows, `broken` (§6 #9; People
    filters it); `status` is `ok` on a webmail domain iff both sides exist, elsewhere iff the Dovecot row does
    and no OX user."""
    token = dimail_target.token()
    names = {"givenName": "Ann", "surName": "Lee", "displayName": "Ann Lee"}
    for features, expected in ((None, {"ann": "ok", "oxadmin": "broken"}), (["mailbox"], {"ann": "ok"})):
        name, _ = _domain(dimail_target, features=features, no_check="true")
        status(dimail_target.call("POST", f"/domains/{quote(name)}/mailboxes/ann", bearer=token, json=names), 201,
               "POST /domains/{d}/mailboxes/{u}")
        answer = dimail_target.call("GET", f"/domains/{quote(name)}/mailboxes/", bearer=token)
        status(answer, 200, "GET /domains/{d}/mailboxes/")
        listed = {m["email"]: m["status"] for m in body(answer, "GET /domains/{d}/mailboxes/")}
        equal(listed, {f"{local}@{name}": state for local, state in expected.items()},
              f"GET /domains/{{d}}/mailboxes/ on a domain with {features or PEOPLE_FEATURES}: e-mail -> status")


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/v2/domains/{domain_name}/mailboxes/{user_name}"),
                          ("PATCH", "/v2/domains/{domain_name}/mailboxes/{user_name}"),
                          ("GET", "/v2/domains/{domain_name}/mailboxes/{user_name}"),
                          ("GET", "/domains/{domain_name}/mailboxes/{user_name}"))
def test_a_mailbox_given_ox_later_reads_back_with_its_names(dimail_target: Target) -> None:
    """§4.6 PATCH /v2/…/mailboxes/{u} [spec][inferred]: adding `ox` with `extras.ox` creates the OX user; the
    names written read back, in v2's extras and in v1's fields, and the mailbox becomes `ok` (§4.5)."""
    name, _ = _domain(dimail_target, no_check="true")
    token = dimail_target.token()
    v2 = f"/v2/domains/{quote(name)}/mailboxes/bo"
    status(dimail_target.call("POST", v2, bearer=token, json={"features": []}), 201,
           "POST /v2/domains/{d}/mailboxes/{u} without ox")
    names = {"given_name": "Bo", "sur_name": "Ek", "display_name": "Bo Ek (team)"}
    status(dimail_target.call("PATCH", v2, bearer=token, json={"features": ["+ox"], "extras": {"ox": names}}), 200,
           "PATCH /v2/domains/{d}/mailboxes/{u} features +ox with extras.ox")
    read = dimail_target.call("GET", v2, bearer=token)
    status(read, 200, "GET /v2/domains/{d}/mailboxes/{u}")
    got = body(read, "GET /v2/…/mailboxes/{u}")
    equal({k: ((got.get("extras") or {}).get("ox") or {}).get(k) for k in names}, names,
          "GET /v2/domains/{d}/mailboxes/{u} after +ox: extras.ox")
    v1 = dimail_target.call("GET", f"/domains/{quote(name)}/mailboxes/bo", bearer=token)
    status(v1, 200, "GET /domains/{d}/mailboxes/{u}")
    got = body(v1, "GET /domains/{d}/mailboxes/{u}")
    equal({k: got.get(k) for k in ("givenName", "surName", "displayName", "status")},
          {"givenName": "Bo", "surName": "Ek", "displayName": "Bo Ek (team)", "status": "ok"},
          "GET /domains/{d}/mailboxes/{u} after +ox: v1's names and status")


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/domains/{domain_name}/mailboxes/{user_name}"),
                          ("POST", "/domains/{domain_name}/mailboxes/{user_name}/code"))
def test_a_login_code_carries_its_expiry(dimail_target: Target) -> None:
    """§4.7 [people][inferred]: the 201 MailboxCode has `expires_at` = now + `expires_in` and `expires_in` the time
    left (People's fixture: 3599 for 3600), `maxuse` as asked, `nbuse` 0; a null `expires_in` never expires
    (`expires_at` null)."""
    name, _ = _domain(dimail_target, features=["mailbox"], no_check="true")
    token = dimail_target.token()
    status(dimail_target.call("POST", f"/domains/{quote(name)}/mailboxes/cy", bearer=token, json={}), 201,
           "POST /domains/{d}/mailboxes/{u}")
    path = f"/domains/{quote(name)}/mailboxes/cy/code"
    before = int(time.time())
    answer = dimail_target.call("POST", path, bearer=token, json={"expires_in": 3600, "maxuse": 3})
    status(answer, 201, "POST /domains/{d}/mailboxes/{u}/code")
    code = body(answer, "POST …/code")
    expires_at, left = code.get("expires_at"), code.get("expires_in")
    if not (isinstance(expires_at, int) and before + 3600 - 5 <= expires_at <= int(time.time()) + 3600 + 5):
        raise ContractBroken(f"POST …/code {{expires_in: 3600}}: expires_at {expires_at!r}, expected now + 3600 "
                             "(§4.7 [people])")
    if not (isinstance(left, int) and 3600 - 60 <= left <= 3600):
        raise ContractBroken(f"POST …/code {{expires_in: 3600}}: expires_in {left!r}, expected the time left, "
                             "at most 3600 (§4.7 [people])")
    equal((code.get("maxuse"), code.get("nbuse")), (3, 0), "POST …/code {maxuse: 3}: (maxuse, nbuse)")
    forever = dimail_target.call("POST", path, bearer=token, json={"expires_in": None, "maxuse": 1})
    status(forever, 201, "POST /domains/{d}/mailboxes/{u}/code with expires_in null")
    equal(body(forever, "POST …/code")["expires_at"], None,
          "POST …/code {expires_in: null}: expires_at (never expires, §4.7 [inferred])")


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/aliases"), ("GET", "/aliases/domains"),
                          ("DELETE", "/aliases/{user_name}@{domain_name}/{destination}"))
def test_public_aliases_are_created_exactly_where_the_listing_says(dimail_target: Target) -> None:
    """§4.15 [spec][inferred]: `GET /aliases/domains?destination=` names the domains where a public alias to that
    destination may be created — so `POST /aliases` succeeds (201) on each domain it names and is refused (403)
    on the others; a domain whose `public_alias` is false is never one of them."""
    home, _ = _domain(dimail_target, no_check="true")
    destination = f"pat@{home}"
    domains = {home: {"public_alias": False}, _public_domain(dimail_target, []): {"public_alias": True},
               _public_domain(dimail_target, ["nomatch.invalid"]): {"public_alias": True}}
    listing = dimail_target.call("GET", "/aliases/domains", bearer=dimail_target.token(),
                                 params={"destination": destination})
    status(listing, 200, "GET /aliases/domains?destination=…")
    offered = set(body(listing, "GET /aliases/domains")) & set(domains)
    if home in offered:
        raise ContractBroken(f"GET /aliases/domains names {home}, whose public_alias is false (§4.15)")
    made = []
    try:
        for domain in sorted(domains):
            answer = dimail_target.call("POST", "/aliases", bearer=dimail_target.token(),
                                        json={"domain": domain, "destination": destination, "description": "c"})
            if answer.status_code == 201:
                made.append(body(answer, "POST /aliases")["alias"])
            status(answer, 201 if domain in offered else 403,
                   f"POST /aliases on {domain}, which GET /aliases/domains {'names' if domain in offered else 'omits'}",
                   "§4.15: the listing names the domains where one may be created")
    finally:
        for alias in made:
            dimail_target.call("DELETE", f"/aliases/{quote(alias, safe='@')}/{quote(destination, safe='@')}",
                               bearer=dimail_target.token())


def _public_domain(target: Target, rules: list[str]) -> str:
    name = target.name("domain")
    answer = target.call("POST", "/domains/", auth=target.people, params={"no_check": "true"},
                         json={"name": name, "features": ["alias"], "public_alias": True, "public_alias_rules": rules})
    status(answer, 201, "POST /domains/ with public_alias")
    target.created_domains.append(name)
    return name


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/domains/{domain_name}/mailboxes/{user_name}"),
                          ("DELETE", "/domains/{domain_name}/mailboxes/{user_name}"),
                          ("POST", "/domains/{domain_name}/mailboxes/{user_name}/master_of/{secondary_email}"),
                          ("GET", "/domains/{domain_name}/mailboxes/{user_name}/master_of/{secondary_email}"))
def test_a_deleted_mailbox_takes_its_secondary_links_with_it(dimail_target: Target) -> None:
    """§4.13 [spec] and exact deletions: a mailbox given access to another (`master_of`) loses it when the other
    is deleted — a mailbox created again under the same address starts without the old link (404 `Secondary not
    found`), while the link itself answered 200 before."""
    name, _ = _domain(dimail_target, no_check="true")
    token = dimail_target.token()

    def mailbox(local: str, method: str = "POST") -> None:
        path = f"/domains/{quote(name)}/mailboxes/{local}"
        # display names ("given sur", §6 #7) are unique in an OX context
        names = {"givenName": "Dee", "surName": local.capitalize(), "displayName": f"Dee {local}"}
        answer = dimail_target.call(method, path, bearer=token, json=names if method == "POST" else None)
        status(answer, 201 if method == "POST" else 204, f"{method} /domains/{{d}}/mailboxes/{{u}} ({local})")

    mailbox("boss")
    mailbox("desk")
    link = f"/domains/{quote(name)}/mailboxes/boss/master_of/{quote(f'desk@{name}', safe='@')}"
    status(dimail_target.call("POST", link, bearer=token, json={}), 201, "POST …/mailboxes/{u}/master_of/{e}")
    status(dimail_target.call("GET", link, bearer=token), 200, "GET …/mailboxes/{u}/master_of/{e} once linked")
    mailbox("desk", "DELETE")
    mailbox("desk")
    again = dimail_target.call("GET", link, bearer=token)
    status(again, 404, "GET …/master_of/{e} after the secondary mailbox was deleted and created again",
           "the deletion takes what hangs on the mailbox")


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/domains/{domain_name}/mailboxes/{user_name}"),
                          ("POST", "/domains/{domain_name}/mailboxes/{user_name}/reset_password"),
                          ("POST", "/domains/{domain_name}/mailboxes/{user_name}/force_password"),
                          ("POST", "/domains/{domain_name}/mailboxes/{user_name}/check_password"))
def test_a_mailbox_password_is_the_one_last_set(dimail_target: Target) -> None:
    """§4.8 [spec][people][inferred]: `reset_password` answers the new password, which `check_password` accepts
    (the old one stops working); `force_password` puts its password in force and keeps the previous hash aside;
    `restore_password` puts that one back (answering `""`), and with nothing saved is 404 `No saved password`."""
    name, _ = _domain(dimail_target, features=["mailbox"], no_check="true")
    token = dimail_target.token()
    box = f"/domains/{quote(name)}/mailboxes/pw"
    status(dimail_target.call("POST", box, bearer=token, json={}), 201, "POST /domains/{d}/mailboxes/{u}")

    def works(password: str) -> bool:
        answer = dimail_target.call("POST", f"{box}/check_password", bearer=token, json={"password": password})
        status(answer, 200, "POST …/check_password")
        return body(answer, "check_password") is True

    reset = dimail_target.call("POST", f"{box}/reset_password", bearer=token)
    status(reset, 200, "POST …/reset_password")
    first = body(reset, "reset_password")["password"]
    equal((works(first), works(first + "x")), (True, False), "check_password (new, wrong) after reset_password")
    forced = dimail_target.call("POST", f"{box}/force_password", bearer=token,
                                json={"password": "Forced-pass-1", "save_password": True})
    status(forced, 200, "POST …/force_password")
    equal((works("Forced-pass-1"), works(first)), (True, False), "check_password (forced, reset one) after force")
    restored = dimail_target.call("POST", f"{box}/force_password", bearer=token,
                                  json={"password": None, "restore_password": True})
    status(restored, 200, "POST …/force_password restore_password")
    equal(body(restored, "force_password")["password"], "", "force_password restore: the answered password")
    equal((works(first), works("Forced-pass-1")), (True, False), "check_password (reset one, forced) after restore")
    again = dimail_target.call("POST", f"{box}/force_password", bearer=token,
                               json={"password": None, "restore_password": True})
    status(again, 404, "POST …/force_password restore_password with nothing saved")
    equal(body(again, "force_password"), {"detail": "No saved password"}, "force_password restore, none saved: body")


@pytest.mark.dimail_needs(("POST", "/users/"), ("PATCH", "/users/{user}"), ("GET", "/token/"))
def test_a_user_password_changed_is_the_one_that_authenticates(dimail_target: Target) -> None:
    """§4.2 PATCH /users/{user} [spec][real-2024]: a new `password` authenticates at once and the old one no longer
    does; the value `no` means no password: nothing authenticates."""
    user = dimail_target.name("user")
    status(dimail_target.call("POST", "/users/", auth=dimail_target.people,
                              json={"name": user, "password": "Old-pass-1", "is_admin": False, "perms": []}),
           201, "POST /users/")
    dimail_target.created_users.append(user)

    def token_status(password: str) -> int:
        return dimail_target.call("GET", "/token/", auth=(user, password)).status_code

    equal(token_status("Old-pass-1"), 200, "GET /token/ with the user's password")
    for new, works in (("New-pass-2", {"New-pass-2": 200, "Old-pass-1": 403}), ("no", {"New-pass-2": 403, "no": 403})):
        status(dimail_target.call("PATCH", f"/users/{quote(user)}", auth=dimail_target.people, json={"password": new}),
               200, f"PATCH /users/{{user}} password {new!r}")
        equal({p: token_status(p) for p in works}, works, f"GET /token/ (password -> status) after password {new!r}")


@pytest.mark.dimail_needs(DOMAINS, ("POST", "/domains/{domain_name}/mailboxes/{user_name}"),
                          ("PATCH", "/domains/{domain_name}/mailboxes/{user_name}"))
def test_renaming_or_moving_a_mailbox_is_not_yet_implemented(dimail_target: Target) -> None:
    """§4.5 PATCH /domains/{d}/mailboxes/{u}, steps 3 and 6, §6 #18 [real-2024]: a `user_name`, or a `domain` that
    exists and the caller is allowed on, in the body is refused with 422 `{"detail": "Not yet implemented"}` (a
    string detail), and the mailbox stays where it is."""
    name, _ = _domain(dimail_target, features=["mailbox"], no_check="true")
    other, _ = _domain(dimail_target, features=["mailbox"], no_check="true")
    token = dimail_target.token()
    box = f"/domains/{quote(name)}/mailboxes/ren"
    status(dimail_target.call("POST", box, bearer=token, json={}), 201, "POST /domains/{d}/mailboxes/{u}")
    for change in ({"user_name": "other"}, {"domain": other}):
        answer = dimail_target.call("PATCH", box, bearer=token, json=change)
        status(answer, 422, f"PATCH /domains/{{d}}/mailboxes/{{u}} with {next(iter(change))}")
        equal(body(answer, "PATCH mailbox"), {"detail": "Not yet implemented"},
              f"PATCH …/mailboxes/{{u}} with {next(iter(change))}: body")
    status(dimail_target.call("GET", box, bearer=token), 200, "GET /domains/{d}/mailboxes/{u} after the refusal")



@pytest.mark.dimail_needs(DOMAINS, ("POST", "/users/"), ("DELETE", "/allows/{domain_name}/{user_name}"))
def test_revoking_an_allow_that_does_not_exist_is_404(dimail_target: Target) -> None:
    """§4.3 DELETE /allows/{d}/{u} [real-2024]: a user and a domain that both exist, without an allow between them,
    answer 404 `Queried user does not have permissions for this domain.`, not 204."""
    name, _ = _domain(dimail_target, no_check="true")
    user = dimail_target.name("user")
    status(dimail_target.call("POST", "/users/", auth=dimail_target.people,
                              json={"name": user, "password": "no", "is_admin": False, "perms": []}), 201, "POST /users/")
    dimail_target.created_users.append(user)
    answer = dimail_target.call("DELETE", f"/allows/{quote(name)}/{quote(user)}", auth=dimail_target.people)
    status(answer, 404, "DELETE /allows/{d}/{u} without such an allow")
    equal(body(answer, "DELETE /allows/"), {"detail": "Queried user does not have permissions for this domain."},
          "DELETE /allows/{d}/{u} without such an allow: body (§4.3 [real-2024])")


V2_MAILBOX = "/v2/domains/{domain_name}/mailboxes/{user_name}"


@pytest.mark.dimail_needs(DOMAINS, ("PATCH", "/domains/{domain_name}"), ("GET", "/domains/{domain_name}"),
                          ("POST", V2_MAILBOX), ("PATCH", V2_MAILBOX), ("GET", V2_MAILBOX))
def test_a_feature_outside_the_documented_enumeration_is_never_stored(dimail_target: Target) -> None:
    """[spec]: every answer declares a domain's `features` as DomainFeature (webmail, mailbox, alias, mx, relay)
    and a v2 mailbox's as MailboxFeature (ox, schedule). A PATCH adding any other value by `+x` is refused with a
    4xx (the document declares 418 and 422 for a change it cannot make; which one, and its text, are the fake's
    guess G-unknown-feature, not judged here) and leaves the features as they were."""
    token = dimail_target.token()
    name, _ = _domain(dimail_target, no_check="true")
    v2 = f"/v2/domains/{quote(name)}/mailboxes/cy"
    status(dimail_target.call("POST", v2, bearer=token, json={"features": []}), 201,
           "POST /v2/domains/{d}/mailboxes/{u} without features")
    for path, auth, read, enumeration in (
            (f"/domains/{quote(name)}", {"auth": dimail_target.people}, f"/domains/{quote(name)}", "DomainFeature"),
            (v2, {"bearer": token}, v2, "MailboxFeature")):
        before = body(dimail_target.call("GET", read, bearer=token), f"GET {read}").get("features")
        answer = dimail_target.call("PATCH", path, json={"features": ["+carrier_pigeon"]}, **auth)
        if not 400 <= answer.status_code < 500:
            raise ContractBroken(f"PATCH {path} features [\"+carrier_pigeon\"]: answered {answer.status_code}, "
                                 f"expected a 4xx: the value is outside {enumeration}, which every answer declares "
                                 f"[spec]; body: {answer.text[:200]!r}")
        after = body(dimail_target.call("GET", read, bearer=token), f"GET {read}").get("features")
        equal(after, before, f"GET {read} after the refused +carrier_pigeon: features unchanged")


@pytest.mark.dimail_needs(DOMAINS, ("POST", V2_BOX), ("PATCH", V2_BOX), ("GET", V2_BOX),
                          ("GET", "/v2/domains/{domain_name}/mailboxes/"))
def test_every_field_a_mailbox_write_names_reads_back_and_the_others_stay(dimail_target: Target) -> None:
    """§4.5-§4.6 [spec][inferred: stored fields]: on a domain with `webmail` and on one without, each field a v2
    creation or PATCH names reads back as written in every view of the mailbox (its answer, the v1 and v2 GET
    and listings, the address probe), what a PATCH does not name stays as it was, `-ox` removes the OX user
    and `extras.ox`, `extras.schedule.max` is the one last written; `with_extras=false` answers the same mailbox
    with `extras` null [spec: the query parameter, `extras` nullable][inferred]. The writes go through the
    read-back the stateful run applies to generated writes (contracts/written.py)."""
    from .readback import ReadBack
    from .written import Written

    written = Written(ReadBack(dimail_target))
    token = dimail_target.token()
    # A mailbox's `rate_limit` names a profile (§4.21): made by the admin when there is one (the clean-up
    # deletes it); without an admin the field is left out.
    rate_limit = None
    if dimail_target.admin is not None and not dimail_target.lacks(("POST", "/system/rate_limits/{name}")):
        rate_limit = dimail_target.name("rl")
        status(dimail_target.call("POST", f"/system/rate_limits/{rate_limit}", auth=dimail_target.admin,
                                  json={"name": rate_limit, "limits": []}), 201, "POST /system/rate_limits/{name}")

    def write(method: str, url: str, payload: dict[str, Any], expected: int, template: str, **params: str) -> None:
        basic = template == "/domains/"
        answer = dimail_target.call(method, url, json=payload, params=params,
                                    **({"auth": dimail_target.people} if basic else {"bearer": token}))
        status(answer, expected, f"{method} {template} {payload}")
        written.after(method, template, url, payload, body(answer, f"{method} {template}"), expected)

    for features in (PEOPLE_FEATURES, ["mailbox", "alias"]):
        name = dimail_target.name("domain")
        write("POST", "/domains/", {"name": name, "context_name": name, "features": features,
                                    "delivery": "virtual"}, 201, "/domains/", no_check="true")
        dimail_target.created_domains.append(name)
        url = f"/v2/domains/{quote(name)}/mailboxes/ann"
        ox = ["ox"] if "webmail" in features else []
        first = {"features": [*ox, "schedule"], "extras": {"schedule": {"max": 5}},
                 "additionalSenders": [f"team@{name}"], "quota": "1G"}
        if ox:
            first["extras"]["ox"] = {"given_name": "Ann", "sur_name": "Lee", "display_name": "Ann Lee (desk)"}
        if rate_limit is not None:
            first["rate_limit"] = rate_limit
        write("POST", url, first, 201, "/v2" + _BOX)
        # One field at a time: each reads back, and every other stays.
        for change in ({"extras": {"schedule": {"max": 7}}}, {"additionalSenders": [f"desk@{name}"]},
                       {"quota": "2G"}, *([{"extras": {"ox": {"given_name": "Anna"}}}, {"features": ["-ox"]}]
                                          if ox else []), {"features": ["-schedule"]}):
            write("PATCH", url, change, 200, "/v2" + _BOX)
        for one, path in (("GET /v2/domains/{d}/mailboxes/{u}", url),
                          ("GET /v2/domains/{d}/mailboxes/", f"/v2/domains/{quote(name)}/mailboxes/")):
            answer = dimail_target.call("GET", path, bearer=token, params={"with_extras": "false"})
            status(answer, 200, f"{one}?with_extras=false")
            got = body(answer, one)
            shown = got if isinstance(got, dict) else next((m for m in got if isinstance(m, dict)
                                                            and m.get("email") == f"ann@{name}"), None)
            if not isinstance(shown, dict) or shown.get("extras") is not None:
                raise ContractBroken(f"{one}?with_extras=false: the mailbox reads {shown!r:.200}, expected it with "
                                     "`extras` null — §4.6 [spec: with_extras][inferred]")


@pytest.mark.dimail_needs(DOMAINS, ("POST", V2_BOX), ("PATCH", V2_BOX), ("GET", V2_BOX),
                          ("PATCH", _BOX), ("GET", _BOX))
@pytest.mark.dimail_people_perms  # People's user, not an admin standing in for it, is the one refused
def test_only_an_admin_sets_or_clears_wait(dimail_target: Target) -> None:
    """§4.5 PATCH, error 8 [spec: only admins set or clear `wait`][inferred text]: People's user, allowed on the
    domain, is refused 403 `Permission denied` when it sets `wait` (v1 `active`, v2 `imap_active`/`smtp_active`)
    and when it clears it, and the mailbox reads back unchanged; the admin sets and clears it, and it reads back."""
    name, _ = _domain(dimail_target, ["mailbox"], no_check="true")
    token = dimail_target.token()
    v1, v2 = f"/domains/{quote(name)}/mailboxes/wes", f"/v2/domains/{quote(name)}/mailboxes/wes"
    status(dimail_target.call("POST", v2, bearer=token, json={"features": []}), 201,
           "POST /v2/domains/{d}/mailboxes/{u}")

    def flags(expected: tuple[str, str], after: str) -> None:
        read = dimail_target.call("GET", v2, bearer=token)
        status(read, 200, "GET /v2/domains/{d}/mailboxes/{u}")
        got = body(read, "GET /v2/…/mailboxes/{u}")
        equal((got.get("imap_active"), got.get("smtp_active")), expected,
              f"GET /v2/domains/{{d}}/mailboxes/{{u}} after {after}: (imap_active, smtp_active)")

    def refused(path: str, payload: dict[str, str], now: tuple[str, str]) -> None:
        call = f"PATCH {path.replace(name, '{d}')} {payload} as People's user"
        answer = dimail_target.call("PATCH", path, bearer=token, json=payload)
        status(answer, 403, call, "only admins set or clear `wait` [spec]")
        equal(body(answer, call), {"detail": "Permission denied"}, f"{call}: body")
        flags(now, f"the refused {call}")

    for path, payload in ((v1, {"active": "wait"}), (v2, {"imap_active": "wait"}), (v2, {"smtp_active": "wait"})):
        refused(path, payload, ("yes", "yes"))
    if dimail_target.admin is None:
        return
    admin = dimail_target.call("GET", "/token/", auth=dimail_target.admin)
    status(admin, 200, "GET /token/ as the admin")
    root = admin.json()["access_token"]
    for path, payload, after in ((v2, {"imap_active": "wait"}, ("wait", "yes")),
                                 (v1, {"active": "wait"}, ("wait", "wait"))):
        call = f"PATCH {path.replace(name, '{d}')} {payload} as the admin"
        status(dimail_target.call("PATCH", path, bearer=root, json=payload), 200, call)
        flags(after, call)
    for path, payload in ((v1, {"active": "yes"}), (v2, {"imap_active": "yes"})):
        refused(path, payload, ("wait", "wait"))
    status(dimail_target.call("PATCH", v1, bearer=root, json={"active": "yes"}), 200,
           "PATCH /domains/{d}/mailboxes/{u} active yes as the admin")
    flags(("yes", "yes"), "the admin's active yes")
