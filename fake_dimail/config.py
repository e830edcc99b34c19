"""What a fake instance can be told at start-up: the secret and the quirk switches."""

from __future__ import annotations

import logging
from dataclasses import dataclass

# The tokens' HS256 secret. Clients never read it (People takes the token as an opaque string), so
# it is the fake's own, as long as HS256's hash. A shorter one (People's dev stack gives dimail
# `fake_jwt_secret`, 15 bytes) is taken as dimail takes it, signing the same tokens (security.signing_key).
DEFAULT_JWT_SECRET = "fake-dimail-development-jwt-secret"  # guess G-jwt-secret
TOKEN_LIFETIME_SECONDS = 47 * 60  # what the real server issues
# The largest request body taken (`--max-body`), beyond it 413: dimail sets no limit, People sends a few KB.
DEFAULT_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    jwt_secret: str = DEFAULT_JWT_SECRET
    token_lifetime: int = TOKEN_LIFETIME_SECONDS
    # FastAPI >= 0.122 answers a missing or non-Bearer Authorization with 401 and
    # `WWW-Authenticate: Bearer`; the recorded dimail answered 403 (CONTRACT.md §2.3).
    bearer_401: bool = False
    # The real server answers 500 to a token without `exp`/`sub` and to the scheme
    # spelled `bearer`/`BEARER` (quirk #26); off by default, such clients are rare.
    crash_on_odd_tokens: bool = False
    # Emulate a TLS-terminating proxy: slash redirects point at this scheme/host
    # instead of the request's own (quirk #2), e.g. "http://dimail.example".
    redirect_base: str | None = None
    # Publish every new domain's /spec records in the simulated DNS at creation, as
    # if its owner set up the zone at once (`--dns auto`); default: an empty zone.
    dns_auto: bool = False
    # Issue a domain's certificate during /check as soon as its CNAMEs are right;
    # default: only /fix issues it, so a first check fails on `cert` alone (CHECKS.md §4).
    certs_on_check: bool = False
    # The one-line log of each request (logger `fake_dimail.requests`): DEBUG in-process, so a
    # test suite counting log records sees none; `fake-dimail serve` logs at INFO.
    request_log_level: int = logging.DEBUG
    # `/_fake/` then requires `Authorization: Bearer <token>` or the dashboard's login cookie (guard.py).
    control_token: str | None = None
    # Keep the state in this SQLite file across restarts (`--state`): loaded at start (then no seeding),
    # every acknowledged write in it before the answer is sent. None: the state lives in memory only.
    state_file: str | None = None  # guess G-state-memory: memory only by default
    # Without a control token, the host names `/_fake/` answers for besides localhost and loopback addresses
    # (`--host`, `--allowed-host`; guard.py); None (in-process: no socket, nothing to rebind): no Host check.
    allowed_hosts: tuple[str, ...] | None = None
    # Bodies beyond this many bytes are answered 413 (bodies.py).
    max_body: int = DEFAULT_MAX_BODY
