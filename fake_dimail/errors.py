"""Every text the fake answers with, and the exceptions that carry them.

The texts are dimail's own, byte for byte, typos included: clients compare
them (People shows some to its users), so nothing here is to be "fixed".
Where a text is not attested by a recording of the real server, its line names
its entry in fake_dimail/guesses.py, the register of guesses (all of them
together, the README's row: guess G-error-texts; sources: dimail's CONTRACT.md,
see reference/dimail/README.md).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

# --- authentication -------------------------------------------------------
NOT_AUTHENTICATED = "Not authenticated"
INVALID_CREDENTIALS = "Invalid authentication credentials"
PERMISSION_DENIED = "Permission denied"
# The v1 mailbox creation route alone spells it this way on the real server.
PERMISSION_DENIED_TYPO = "Permisison denied"
# GET /domains/{d} refuses a user that is not allowed on the domain with 401.
NOT_AUTHORIZED = "Not authorized."

# --- routing (FastAPI's own) ----------------------------------------------
ROUTE_NOT_FOUND = "Not Found"
METHOD_NOT_ALLOWED = "Method Not Allowed"
INTERNAL_SERVER_ERROR = "Internal Server Error"

# --- users ----------------------------------------------------------------
USER_NOT_FOUND = "User not found"
USER_EXISTS = "User already exists"
# PATCH and DELETE /users/{x} say "Not found" where GET says "User not found".
NOT_FOUND = "Not found"
CANNOT_MIX_SET_AND_CHANGE = "Cannot mix set and add/remove"  # guess G-list-mix

# --- allows ---------------------------------------------------------------
ALLOW_EXISTS = "Domain already allowed for this user"
ALLOW_NOT_FOUND = "Queried user does not have permissions for this domain."

# --- domains --------------------------------------------------------------
DOMAIN_NOT_FOUND = "Domain not found"
DOMAIN_EXISTS = "Domain already exists"
# The real text says "mailbox" although the condition is the webmail feature.
CONTEXT_NAME_MANDATORY = "OX context name is mandatory for mailbox feature"
DOMAIN_NOT_EMPTY = "Domain is not empty"  # guess G-domain-not-empty
DOMAIN_MOVING = "Domain is moving to another platform"
DOMAIN_HAS_MAILBOXES = "Cannot remove feature '{feature}' while the domain has mailboxes"  # guess G-domain-patch-refusals
DOMAIN_CONTEXT_IN_USE = "Cannot change the OX context of a domain that has OX users"  # guess G-domain-patch-refusals


def mapped_to_context(context_name: str) -> str:
    return f"The domain is currently mapped to OX context {context_name}"


# --- domain checks (CHECKS.md §3, §4) ---------------------------------------
# French, as dimail writes them; People shows the external ones to its users.
NOT_CHECKED = ("no_test", "Did not check yet")
NO_MX = "Il n'y a pas d'enregistrement MX ou CNAME sur le domaine"
NO_MX_NXDOMAIN = "Il n'y a pas d'enregistrement MX sur le domaine"
NO_SPF = "Il faut un SPF record, et il doit contenir include:{include}"
WRONG_SPF = "Le SPF record ne contient pas include:{include}"
NO_DKIM = "Il faut un DKIM record, avec la bonne clef"
WRONG_DKIM = "Le DKIM record ne contient pas la bonne clef"
# Internal checks: only `no_cert` is attested, code and detail, by People's test fixtures
# (mailbox_manager tests, a dimail answer recorded there); the other three are guesses.
INTERNAL_FAILURES = {
    "webmail_ok": ("no_webmail", "Le webmail n'est pas configuré pour ce domaine"),  # guess G-internal-check-texts
    "postfix": ("no_postfix", "Le domaine n'est pas déclaré dans postfix"),  # guess G-internal-check-texts
    "ox": ("no_ox", "Le domaine n'est pas déclaré dans open-xchange"),  # guess G-internal-check-texts
    "cert": ("no_cert", "Pas de certificat pour ce domaine (ls)"),  # as People's fixtures show it
}


# The fake's own control plane (/_fake/), not dimail's.
BREAKABLE_CHECKS = "only webmail_ok, postfix and ox can be broken; remove the certificate with certificate: false"


# --- the fake's own faults and seeding (never dimail's words) ----------------


def injected(kind: str) -> str:
    return f"fake-dimail: injected fault: {kind}"


def no_operation(method: str, path: str) -> str:
    return (f"no dimail operation {method} {path}: give a path template of the OpenAPI document "
            "(e.g. /domains/{domain_name}/mailboxes/{user_name}) or a concrete path one of them matches")


def fault_answer(answer: object) -> str:
    return (f"fault answer {answer!r}: give an HTTP status (200-599), "
            "'connection-error', 'timeout', or nothing to only delay")


# What urllib3 says of a refused connection, and whose fault it is.
CONNECTION_REFUSED = "Failed to establish a new connection: [Errno 111] Connection refused (fake-dimail: injected fault)"
FAULT_NOT_FOUND = "No such fault"
FAULT_COUNTS = "times must be at least 1 (or None: every request), after and delay_ms at least 0"


def unknown_seed(seed: object, known: list[str]) -> str:
    return f"unknown seed {seed!r}: choose one of {', '.join(known)}, or give a list of fake_dimail.seeds.UserSeed"


def bad_base_url(url: object) -> str:
    return f"mock_dimail: base_url {url!r} is not scheme://host[:port] (e.g. http://dimail:8000)"


def not_the_fake(origin: str, fakes: list[str]) -> str:
    """Appended to the error of a refused request to another host while a fake is active."""
    return (f" [fake-dimail: the active fake answers {', '.join(fakes)}, not {origin}; if this request is meant "
            "for dimail, give the fake that URL (pytest ini option dimail_url, or MAIL_PROVISIONING_API_URL) "
            "or point the code at the fake's]")


def must_exist(domain: str) -> str:
    return f"Le domaine {domain} n'existe pas"


def wrong_mx(wanted: str, found: str) -> str:
    return f"Je veux que le MX du domaine soit {wanted}, or je trouve {found}"


def no_cname(host: str, target: str) -> str:
    return f"Il faut un CNAME '{host}' qui renvoie vers '{target}'"


def wrong_cname(host: str, found: str, target: str) -> str:
    return f"Le CNAME pour '{host}' n'est pas bon, il renvoie vers '{found}' et je veux '{target}'"


# --- mailboxes ------------------------------------------------------------
MAILBOX_NOT_FOUND = "Mailbox not found"
TARGET_DOMAIN_NOT_FOUND = "Target domain not found"
NOT_YET_IMPLEMENTED = "Not yet implemented"
OX_DOMAIN_NOT_FOUND = "Domain not found in open-xchange"
OX_MAILBOX_NOT_FOUND = "Mailbox not found in open-xchange"
MISSING_OX_EXTRAS = "Missing extras for feature 'ox'"  # guess G-missing-ox-extras
NO_SAVED_PASSWORD = "No saved password"  # guess G-force-password
CODE_NOT_FOUND = "Code not found"  # guess G-code-not-found


def unknown_feature(feature: str) -> str:
    return f"Unknown feature '{feature}'"  # guess G-unknown-feature: an unknown value would break every later answer


def feature_not_available(feature: str) -> str:
    return f"Feature '{feature}' not available on the domain"


# --- aliases --------------------------------------------------------------
# guess G-alias-409: 409 on an existing (address, destination) pair: the 2024 server's answer, which People maps to "out of
# sync" (its 400) and relies on; v0.8.2 declares no 409 there, kept all the same (CONTRACT.md §4.11).
ALIAS_EXISTS = "Alias already exists"
ALIAS_NOT_FOUND = "Alias not found"
# "forbiden" (sic), answered with 412.
ONLY_DESTINATION = "It is forbiden to only provide the destination in a request"


class ApiError(Exception):
    """An application refusal: `{"detail": <text>}` (or a validation list) with its status."""

    def __init__(self, status: int, detail: str | list[dict[str, Any]], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.headers = headers


class ServerCrash(Exception):
    """A deliberate, documented 500: the real server crashes at this point.

    Answered as the plain-text `Internal Server Error` of an unhandled
    exception, with the connection closed, exactly like uvicorn does.
    """


def forbidden(detail: str = PERMISSION_DENIED) -> ApiError:
    return ApiError(403, detail)


def not_found(detail: str) -> ApiError:
    return ApiError(404, detail)


def conflict(detail: str) -> ApiError:
    return ApiError(409, detail)


def unprocessable(detail: str) -> ApiError:
    return ApiError(422, detail)


def invalid_value(loc: tuple[str | int, ...], value: object, problem: str) -> ApiError:
    """422 in the shape the document declares (HTTPValidationError), for a value of the body that a rule of
    the fake's, not a model, refuses: the item pydantic makes of a validator's ValueError, as FastAPI sends it."""
    return ApiError(422, [{"type": "value_error", "loc": ["body", *loc], "msg": f"Value error, {problem}",
                           "input": value, "ctx": {"error": {}}}])


# --- control plane: state, journal, safe steering (issue 15) -----------------------------
# The fake's own texts (no dimail route answers them): each says what to do instead.

CROSS_ORIGIN_WRITE = ("Cross-origin write refused: /_fake/ accepts writes only from its own origin "
                      "(the dashboard at /_fake/ui) or from clients that send no Origin, such as scripts")
CROSS_ORIGIN_PREFLIGHT = "CORS refused: /_fake/ grants no other origin; steer it from /_fake/ui or a script"
CONTROL_TOKEN_REQUIRED = ("Control token required: send Authorization: Bearer <token> (the --control-token "
                          "the server was started with), or log in at /_fake/ui")
WRONG_CONTROL_TOKEN = "Wrong control token: give the --control-token the server was started with"


def foreign_host(host: str) -> str:
    return (f"Host {host!r} refused: without --control-token, /_fake/ answers only requests addressed to "
            "localhost, a loopback address or the --host it listens on (a guard against DNS rebinding); "
            "start the server with --allowed-host NAME for a name of yours, or with --control-token")


def state_problem(where: str, problem: str) -> str:
    return f"Inconsistent state document: {where}: {problem}"


def body_too_large(size: int, limit: int) -> str:
    """413: the fake's own limit (`--max-body`); dimail sets none."""
    return (f"Request body too large: {size} bytes, where this fake-dimail takes at most {limit} (--max-body): "
            "send a smaller body, or start it with a larger --max-body")


def state_not_written(reason: str, undone: bool = True) -> str:
    """507 Insufficient Storage: the `--state` file refused a call's write (a full disk, say)."""
    if undone:
        return (f"fake-dimail could not write its state file ({reason}): nothing was changed; "
                "free some space and send the request again")
    return (f"fake-dimail could not write its state file ({reason}), nor read it back: the change is kept in "
            "memory and written once the file can be; check the file and its disk")
# --- forwards and public aliases (CONTRACT.md §4.12, §4.15) ------------------------
FORWARD_EXISTS = "Forward already exists"  # guess G-forward-texts
FORWARD_NOT_FOUND = "Forward not found"  # guess G-forward-texts
ADDRESS_IN_USE = "Address already used by a mailbox or an alias"  # guess G-forward-in-use
PUBLIC_ALIAS_FORBIDDEN = "Public aliases are not allowed for this destination on the domain"  # guess G-public-alias-rules
# --- system (/system/…) ------------------------------------------------------
RATE_LIMIT_NOT_FOUND = "Rate limit not found"  # guess G-rate-limits
RATE_LIMIT_EXISTS = "Rate limit already exists"  # guess G-rate-limits
RATE_LIMIT_NAME_MISMATCH = "The name in the body must be the name in the path"  # guess G-rate-limits
STORE_NOT_FOUND = "Store not found"  # guess G-stores
DATABASE_NOT_FOUND = "Database not found"  # guess G-moves
DOMAIN_NOT_MOVING = "Domain is not moving"  # guess G-moves
MOVE_NOT_FOUND = "Domain is not moving: nothing to complete"  # the fake's own

# Whether the operation being served declares 410 (set per request by `strict_json.DimailRoute`):
# only those refuse a moving domain, and the rights helpers do it, where the document orders it.
MOVING_DECLARED: ContextVar[bool] = ContextVar("fake_dimail_moving_declared", default=False)


def not_in_domain(address: str, domain: str) -> str:
    return f"{address} is not an address of {domain}"  # guess G-moves


# --- app passwords, secondary accounts, ProConnect identities -------------------
APP_PASSWORD_NOT_FOUND = "App password not found"  # guess G-app-password-not-found
SECONDARY_NOT_FOUND = "Secondary not found"  # guess G-secondary-not-found
OWN_SECONDARY = "A mailbox cannot be its own secondary account"  # guess G-secondary-again
IDENTITY_EXISTS = "Identity already exists"  # guess G-identity-texts
IDENTITY_NOT_FOUND = "Identity not found"  # guess G-identity-texts


# --- my/, public, webhook, logs ------------------------------------------------
# The webhook's success, a bare JSON string (CONTRACT.md §1.1, §4.19).
PASSWORD_CHANGED = "OK"
# guess G-webhook-body: what the webhook says of a body that names no mailbox and password (no body is declared).
WEBHOOK_BODY = 'Mailbox not found: send {"email": "<user>@<domain>", "password": "<new password>"}'
