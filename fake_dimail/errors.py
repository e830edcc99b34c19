"""Every text the fake answers with, and the exceptions that carry them.

The texts are dimail's own, byte for byte, typos included: clients compare
them (People shows some to its users), so nothing here is to be "fixed".
Where a text is not attested by a recording of the real server, it is marked
as a guess (see ../shared/dimail/CONTRACT.md for the sources).
"""

from __future__ import annotations

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
CANNOT_MIX_SET_AND_CHANGE = "Cannot mix set and add/remove"  # guess

# --- allows ---------------------------------------------------------------
ALLOW_EXISTS = "Domain already allowed for this user"
ALLOW_NOT_FOUND = "Queried user does not have permissions for this domain."

# --- domains --------------------------------------------------------------
DOMAIN_NOT_FOUND = "Domain not found"
DOMAIN_EXISTS = "Domain already exists"
# The real text says "mailbox" although the condition is the webmail feature.
CONTEXT_NAME_MANDATORY = "OX context name is mandatory for mailbox feature"
DOMAIN_NOT_EMPTY = "Domain is not empty"  # guess
DOMAIN_MOVING = "Domain is moving to another platform"
DOMAIN_HAS_MAILBOXES = "Cannot remove feature '{feature}' while the domain has mailboxes"  # guess
DOMAIN_CONTEXT_IN_USE = "Cannot change the OX context of a domain that has OX users"  # guess


def mapped_to_context(context_name: str) -> str:
    return f"The domain is currently mapped to OX context {context_name}"


# --- mailboxes ------------------------------------------------------------
MAILBOX_NOT_FOUND = "Mailbox not found"
TARGET_DOMAIN_NOT_FOUND = "Target domain not found"
NOT_YET_IMPLEMENTED = "Not yet implemented"
OX_DOMAIN_NOT_FOUND = "Domain not found in open-xchange"
OX_MAILBOX_NOT_FOUND = "Mailbox not found in open-xchange"
MISSING_OX_EXTRAS = "Missing extras for feature 'ox'"  # guess
NO_SAVED_PASSWORD = "No saved password"  # guess
CODE_NOT_FOUND = "Code not found"  # guess


def unknown_feature(feature: str) -> str:
    return f"Unknown feature '{feature}'"  # guess: an unknown value would break every later answer


def feature_not_available(feature: str) -> str:
    return f"Feature '{feature}' not available on the domain"


# --- aliases --------------------------------------------------------------
ALIAS_EXISTS = "Alias already exists"
ALIAS_NOT_FOUND = "Alias not found"
# "forbiden" (sic), answered with 412.
ONLY_DESTINATION = "It is forbiden to only provide the destination in a request"


class ApiError(Exception):
    """An application refusal: `{"detail": <text>}` with its status."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
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
