"""API rules: authentication is enforced where the document declares it, with dimail's refusals and texts,
and duplicates answer dimail's 409s (CONTRACT.md §2, §4)."""

from __future__ import annotations

import secrets

import pytest

from provisioner.provisioner import PEOPLE_FEATURES

from .conformance import PLATFORM, PLATFORM_SKIP
from .drift import reference_openapi
from .expect import body, equal, status
from .plugin import platform_writes
from .target import Target

pytestmark = pytest.mark.contract("rules")

SAMPLE = {"domain_name": "unknown.contract.test", "user_name": "nobody", "user": "nobody", "destination": "x@y.fr",
          "proconnect": "nobody", "code_string": "nocode", "name": "nobody", "store_name": "nobody",
          "db_name": "nobody", "schema_name": "nobody",
          "uuid": "00000000-0000-4000-8000-000000000000", "secondary_email": "nobody@unknown.contract.test",
          "email": "nobody@unknown.contract.test", "identity": "nobody",
          "crash_name": "nocrash.log"}


# Built once: `reference_openapi()` builds a whole app each time (it was called once per operation here).
REFERENCE_PATHS = reference_openapi()["paths"]


def _secured() -> list[tuple[str, str, str]]:
    found = []
    for path, item in REFERENCE_PATHS.items():
        for method, operation in item.items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            if schemes:
                found.append((method.upper(), path, "TokenUser" if "TokenUser" in schemes else "BasicUser"))
    return sorted(found)


SECURED = _secured()
IDS = [f"{m} {p}" for m, p, _ in SECURED]
# Reads the document declares without a scheme (`/spec`, `/public/domains/{d}`): anyone may ask.
UNSECURED_READS = sorted(("GET", path) for path, item in REFERENCE_PATHS.items()
                         if "get" in item and not item["get"].get("security"))


def _url(path: str) -> str:
    return path.format(**SAMPLE)


def _send(dimail_target: Target, method: str, path: str, **kwargs: object) -> object:
    json_body = {} if method in ("POST", "PATCH", "PUT") else None
    return dimail_target.call(method, _url(path), json=json_body, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path", "scheme"), SECURED, ids=IDS)
def test_no_credentials_are_refused(dimail_target: Target, method: str, path: str, scheme: str) -> None:
    if dimail_target.lacks((method, path)):
        pytest.skip(f"the target does not declare {method} {path}")
    answer = _send(dimail_target, method, path)
    call = f"{method} {path} without credentials"
    if scheme == "BasicUser":
        status(answer, 401, call, "Basic routes")
        equal(answer.headers.get("www-authenticate"), "Basic", f"{call}: WWW-Authenticate")
    else:
        status(answer, (401, 403), call, "Bearer routes: 403 recorded, 401 on newer FastAPI")
    equal(body(answer, call), {"detail": "Not authenticated"}, f"{call}: body")


@pytest.mark.parametrize(("method", "path", "scheme"), SECURED, ids=IDS)
def test_wrong_credentials_are_403_permission_denied(dimail_target: Target, method: str, path: str,
                                                     scheme: str) -> None:
    if dimail_target.lacks((method, path)):
        pytest.skip(f"the target does not declare {method} {path}")
    if scheme == "BasicUser":
        answer = _send(dimail_target, method, path, auth=(dimail_target.people[0], dimail_target.people[1] + "-wrong"))
        call = f"{method} {path} with a wrong password"
    else:
        answer = _send(dimail_target, method, path, bearer="not.a.jwt")
        call = f"{method} {path} with a token that is not a JWT"
    status(answer, 403, call)
    equal(body(answer, call), {"detail": "Permission denied"}, f"{call}: body")


@pytest.mark.parametrize(("method", "path"), UNSECURED_READS, ids=[f"{m} {p}" for m, p in UNSECURED_READS])
def test_operations_without_a_scheme_answer_anyone(dimail_target: Target, method: str, path: str) -> None:
    if dimail_target.lacks((method, path)):
        pytest.skip(f"the target does not declare {method} {path}")
    answer = _send(dimail_target, method, path)
    call = f"{method} {path} without credentials, for an unknown domain"
    status(answer, 404, call, "no authentication asked")
    equal(body(answer, call), {"detail": "Domain not found"}, f"{call}: body")


@pytest.mark.dimail_needs(("POST", "/domains/"), ("POST", "/allows/"), ("POST", "/users/"))
def test_duplicates_answer_dimails_409s(dimail_target: Target) -> None:
    domain, sub = dimail_target.name("domain"), dimail_target.name("user")
    payload = {"name": domain, "context_name": domain, "features": PEOPLE_FEATURES, "delivery": "virtual"}
    status(dimail_target.call("POST", "/domains/", auth=dimail_target.people, json=payload), 201, "POST /domains/")
    dimail_target.created_domains.append(domain)
    again = dimail_target.call("POST", "/domains/", auth=dimail_target.people, json=payload)
    status(again, 409, "POST /domains/ a second time")
    equal(body(again, "POST /domains/"), {"detail": "Domain already exists"}, "POST /domains/ duplicate: body")
    user = {"name": sub, "password": "no", "is_admin": False, "perms": []}
    status(dimail_target.call("POST", "/users/", auth=dimail_target.people, json=user), 201, "POST /users/")
    dimail_target.created_users.append(sub)
    status(dimail_target.call("POST", "/users/", auth=dimail_target.people, json=user), 409,
           "POST /users/ a second time")
    allow = {"user": sub, "domain": domain}
    status(dimail_target.call("POST", "/allows/", auth=dimail_target.people, json=allow), 201, "POST /allows/")
    again = dimail_target.call("POST", "/allows/", auth=dimail_target.people, json=allow)
    status(again, 409, "POST /allows/ a second time")
    equal(body(again, "POST /allows/"), {"detail": "Domain already allowed for this user"},
          "POST /allows/ duplicate: body")


@pytest.mark.dimail_needs(("GET", "/domains/{domain_name}/check"))
def test_unknown_domain_is_404_domain_not_found(dimail_target: Target) -> None:
    answer = dimail_target.call("GET", "/domains/unknown.contract.test/check", auth=dimail_target.people)
    status(answer, 404, "GET /domains/{unknown}/check")
    equal(body(answer, "check"), {"detail": "Domain not found"}, "GET /domains/{unknown}/check: body")


# --- /system/… and the `admin` tag (`/logs/…`): admins only (CONTRACT.md §3.6) --------------

SYSTEM = [(m, p, s) for m, p, s in SECURED
          if p.startswith("/system/") or "admin" in REFERENCE_PATHS[p][m.lower()].get("tags", [])]
# Valid bodies, so that the refusal, not the validation, answers.
SYSTEM_BODIES = {
    "/system/rate_limits/{name}": {"name": "nobody", "limits": []},
    "/system/check_contexts": {"contexts": []},
    "/system/import_domain/{domain_name}": {"moving_from": "nowhere", "moving_mailboxes": [], "moving_aliases": [],
                                            "moving_senders": [], "moving_dkim": None},
    "/system/database/{db_name}": {"move_to": "nowhere"},
}


@pytest.fixture(scope="module")
def non_admin(dimail_target: Target) -> tuple[str, str]:
    """A user of the run without any right: People's user creates it (it has `create_users`)."""
    name, password = dimail_target.name("user"), secrets.token_urlsafe(12)
    answer = dimail_target.call("POST", "/users/", auth=dimail_target.people,
                                json={"name": name, "password": password, "is_admin": False, "perms": []})
    status(answer, 201, "POST /users/ for a user without rights")
    dimail_target.created_users.append(name)
    return name, password


@pytest.mark.parametrize(("method", "path", "scheme"), SYSTEM, ids=[f"{m} {p}" for m, p, _ in SYSTEM])
def test_system_operations_refuse_a_non_admin(dimail_target: Target, non_admin: tuple[str, str],
                                              request: pytest.FixtureRequest, method: str, path: str,
                                              scheme: str) -> None:
    if dimail_target.lacks((method, path)):
        pytest.skip(f"the target does not declare {method} {path}")
    if (method, path) in PLATFORM and not platform_writes(request.config):
        pytest.skip(f"{method} {path} {PLATFORM_SKIP}")  # a dimail that let it through would stop or move
    credentials: dict[str, object] = {"auth": non_admin}
    if scheme == "TokenUser":
        token = dimail_target.call("GET", "/token/", auth=non_admin)
        status(token, 200, "GET /token/ for a user without rights")
        credentials = {"bearer": token.json()["access_token"]}
    json_body = SYSTEM_BODIES.get(path, {}) if method in ("POST", "PATCH") else None
    answer = dimail_target.call(method, _url(path), json=json_body, **credentials)  # type: ignore[arg-type]
    call = f"{method} {path} as a user who is not an admin"
    status(answer, 403, call)
    equal(body(answer, call), {"detail": "Permission denied"}, f"{call}: body")
