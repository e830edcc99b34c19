"""The two security schemes of dimail: HTTP Basic (`BasicUser`) and JWT Bearer (`TokenUser`).

They subclass FastAPI's classes only so that the OpenAPI document declares
them as the real one does; the refusals are dimail's recorded ones, which
newer FastAPI releases no longer give (CONTRACT.md §2.2, §2.3).
"""

from __future__ import annotations

import binascii
import functools
import threading
import time
from base64 import b64decode
from collections import OrderedDict
from types import ModuleType

from fastapi import Request
from fastapi.security import HTTPBasic, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from . import errors
from .backend import Backend
from .config import Settings
from .errors import ApiError, ServerCrash
from .records import Caller


@functools.cache
def _jwt() -> ModuleType:
    # PyJWT loads `cryptography` (~50 ms) though HS256 needs none of it: paid at the first token, not at start-up.
    import jwt

    # No warning to silence: a short secret is padded as HMAC pads it (`signing_key`), so PyJWT never warns.
    return jwt


# People's dev secret is 15 bytes; dimail accepts it, so must the fake, and PyJWT warns below 32.
# HMAC pads a key shorter than its block (64 bytes for SHA-256) with zeros, so the secret padded to
# 32 bytes signs and verifies exactly as the secret itself: the same tokens, and no warning in
# anyone's test run (a warnings filter would not do: pytest resets the filters at every test).
_HMAC_SHORT_KEY = 32


@functools.cache
def signing_key(secret: str) -> bytes:
    """The HMAC key of `secret`: the secret itself, zero-padded to 32 bytes (the same tokens, no warning)."""
    key = secret.encode()
    return key.ljust(_HMAC_SHORT_KEY, b"\0")  # unchanged when 32 bytes or more


def encode_token(settings: Settings, subject: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return _jwt().encode({"sub": subject, "exp": issued + settings.token_lifetime}, signing_key(settings.jwt_secret),
                         algorithm="HS256")


# Verified tokens whose only claims are `sub` and `exp`: a client sends the same token for
# minutes, and verifying its signature again is most of what a Bearer request costs.
# Only `exp` can change the verdict later, and it is checked at every use, as PyJWT does.
_VERIFIED: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
_VERIFIED_SIZE = 4096
_VERIFIED_LOCK = threading.Lock()


def _claims(settings: Settings, token: str) -> dict[str, object]:
    known = _VERIFIED.get((settings.jwt_secret, token))
    if known is not None:
        if known[1] <= time.time():
            raise errors.forbidden()  # jwt.ExpiredSignatureError, as PyJWT says it
        return {"sub": known[0], "exp": known[1]}
    jwt = _jwt()
    try:
        claims = jwt.decode(token, signing_key(settings.jwt_secret), algorithms=["HS256"], options={"require": []}, leeway=0)
    except jwt.PyJWTError:
        raise errors.forbidden() from None
    exp, sub = claims.get("exp"), claims.get("sub")
    if claims.keys() == {"sub", "exp"} and isinstance(sub, str) and isinstance(exp, (int, float)):
        with _VERIFIED_LOCK:
            _VERIFIED[(settings.jwt_secret, token)] = (sub, exp)
            if len(_VERIFIED) > _VERIFIED_SIZE:
                _VERIFIED.popitem(last=False)
    return claims


def token_subject(settings: Settings, token: str) -> str:
    claims = _claims(settings, token)
    subject = claims.get("sub")
    if "exp" not in claims or not isinstance(subject, str):
        if settings.crash_on_odd_tokens:  # guess G-odd-tokens: dimail's 500 only when switched on
            raise ServerCrash("token without exp or sub")
        raise errors.forbidden()
    return subject


class BasicUserScheme(HTTPBasic):
    async def __call__(self, request: Request) -> tuple[str, str]:  # type: ignore[override]
        challenge = {"WWW-Authenticate": "Basic"}
        scheme, param = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "basic":
            raise ApiError(401, errors.NOT_AUTHENTICATED, challenge)
        try:
            name, sep, password = b64decode(param).decode("ascii").partition(":")
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise ApiError(401, errors.INVALID_CREDENTIALS, challenge) from None
        if not sep:
            raise ApiError(401, errors.INVALID_CREDENTIALS, challenge)
        return name, password


class TokenUserScheme(HTTPBearer):
    async def __call__(self, request: Request) -> str:  # type: ignore[override]
        settings: Settings = request.app.state.settings
        status = 401 if settings.bearer_401 else 403  # guess G-bearer-403: the recorded 403 unless switched
        challenge = {"WWW-Authenticate": "Bearer"} if settings.bearer_401 else None
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not (scheme and token):
            raise ApiError(status, errors.NOT_AUTHENTICATED, challenge)
        if scheme.lower() != "bearer":
            raise ApiError(status, errors.INVALID_CREDENTIALS, challenge)
        if scheme != "Bearer" and settings.crash_on_odd_tokens:
            raise ServerCrash("scheme spelled otherwise than 'Bearer'")
        return token


def backend_of(request: Request) -> Backend:
    return request.app.state.backend


async def get_backend(request: Request) -> Backend:
    # A dependency, so async: FastAPI runs a plain `def` one in a worker thread, at every request.
    return request.app.state.backend


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


# The callers are the schemes themselves, one dependency each rather than a dependency on
# a scheme: FastAPI's dependency solving is a large share of a request's cost.


class BasicCallerScheme(BasicUserScheme):
    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        caller = backend_of(request).authenticate_basic(*await super().__call__(request))
        request.scope["dimail.user"], request.scope["dimail.auth"] = caller.name, "basic"
        return caller


class TokenCallerScheme(TokenUserScheme):
    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        subject = token_subject(get_settings(request), await super().__call__(request))
        caller = backend_of(request).caller_for_token(subject)
        request.scope["dimail.user"], request.scope["dimail.auth"] = caller.name, "bearer"
        return caller


basic_user = BasicCallerScheme(scheme_name="BasicUser")
token_user = TokenCallerScheme(scheme_name="TokenUser")
