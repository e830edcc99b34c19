"""The transcript format of `reference/dimail/transcripts/` (documented in its README.md), as
`fake-dimail record` writes it and `fake-dimail replay` reads it.

One JSON object a line, one exchange each: `method`, `path` (with its query, not percent-encoded),
`request_headers` (the few that matter, `Authorization` as a label), `request_json` (or
`request_body_raw`), `status`, `response_json` (or `response_text`), `response_headers`
(content-type, location, www-authenticate, CORS), `elapsed_ms`, `note`. A recording adds:

- a first line `{"recording": {...}}`: where and when it was made, the upstream's version
  (`GET /system/version`, else its OpenAPI `info.version`) and, when the upstream is a fake, its
  settings. A line without `method` is not an exchange.
- pseudonyms for every secret: `<password #N>`, `<token #N>`, `<code #N>`. One secret is one
  pseudonym throughout a recording (a password set at `POST /users/` is the one a later Basic
  label names), so a replay can give each its own value, and nothing secret is written.
- Authorization labels carrying them: `Basic <user> <password #N>`, `Bearer <jwt sub='X'> <token #N>`
  with the flags `expired`, `no-exp`, `alg-none`, `other-secret` inside the brackets when the
  token says so (`other-secret`: it does not verify with the recorder's `--jwt-secret` and no
  recorded answer issued it), and the README's `Bearer <not a jwt>`, `Basic <undecodable>`,
  `<scheme> <redacted>`.
- `upstream_error`: the upstream gave no answer (the recorder answered 502 in its place).
"""

from __future__ import annotations

import ast
import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

from .security import _jwt, signing_key

# Request headers worth keeping (the README's "headers that matter"); the others (Host, User-Agent,
# Accept, Content-Length, cookies) say nothing about dimail's answer, or are secret.
REQUEST_HEADERS = ("authorization", "content-type", "origin", "access-control-request-method",
                   "access-control-request-headers")
RESPONSE_HEADERS = ("content-type", "location", "www-authenticate")

# Keys whose string values are secrets, wherever they are in a JSON body.
PASSWORD_KEYS = frozenset({"password", "new_password", "password_hash", "saved_hash", "hash"})
TOKEN_KEYS = frozenset({"access_token", "refresh_token", "token", "control_token"})
TOKEN_FLAGS = ("expired", "no-exp", "alg-none", "other-secret")
PSEUDONYM = re.compile(r"<(password|token|code) #(\d+)>")
# `code` is a secret only in a login code's answers (elsewhere it is a check's error code).
_CODE_ISSUED = re.compile(r"/domains/[^/]+/mailboxes/[^/]+/code")
_CODE_PATH = re.compile(r"(/code/)([^/?]+)")
_FORM_FIELD = re.compile(r"(^|&)([^=&]*)=([^&]*)")

_BASIC = re.compile(r"(?P<scheme>basic) (?:(?P<undecodable><undecodable>)|(?P<user>.*?)(?: (?P<password><password #\d+>))?)",
                    re.IGNORECASE | re.DOTALL)
_BEARER = re.compile(r"(?P<scheme>bearer) <(?:(?P<garbage>not a jwt)|jwt sub=(?P<sub>.*?)"
                     r"(?P<flags>(?: (?:expired|no-exp|alg-none|other-secret))*))>(?: (?P<token><token #\d+>))?",
                     re.IGNORECASE | re.DOTALL)
_TOKEN_VALUE = re.compile(r"<jwt sub=(?P<sub>.*?)(?P<flags>(?: (?:expired|no-exp|alg-none|other-secret))*)>"
                          r"(?: (?P<token><token #\d+>))?", re.DOTALL)


class TranscriptError(ValueError):
    """A recording that cannot be read: the message names the file, the line and what is wrong."""


# =============================================================================
# Reading
# =============================================================================

_REQUIRED = {"method": str, "path": str, "request_headers": dict, "status": (int, type(None))}


@dataclass(frozen=True)
class Transcript:
    path: Path
    header: dict[str, Any]  # the `recording` line, {} for a file without one (the 2024 transcripts)
    exchanges: list[tuple[int, dict[str, Any]]]  # (line number, exchange)


def files(arguments: Iterable[str]) -> list[Path]:
    """The recordings named: files as given, a directory's `*.jsonl` in name order."""
    out: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise TranscriptError(f"{argument}: no .jsonl recording in this directory")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise TranscriptError(f"{argument}: no such file or directory")
    return out


def read(path: Path) -> Transcript:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    header: dict[str, Any] = {}
    exchanges = []
    for number, text_line in enumerate(text.split("\n"), 1):  # not splitlines(): JSON may hold U+2028 raw
        if not text_line.strip():
            continue
        try:
            row = json.loads(text_line)
        except ValueError as exc:
            raise TranscriptError(f"{path}:{number}: not a JSON line ({exc}): is this a recording?") from None
        if not isinstance(row, dict):
            raise TranscriptError(f"{path}:{number}: a line must be a JSON object")
        if "method" not in row:
            if isinstance(row.get("recording"), dict):
                header = row["recording"]
                continue
            raise TranscriptError(f"{path}:{number}: neither an exchange (no 'method') nor a 'recording' header")
        for key, kind in _REQUIRED.items():
            if not isinstance(row.get(key), kind):
                raise TranscriptError(f"{path}:{number}: '{key}' is missing or not a {_kind_name(kind)}")
        exchanges.append((number, row))
    if not exchanges:
        raise TranscriptError(f"{path}: no exchange in it")
    return Transcript(path, header, exchanges)


def _kind_name(kind: Any) -> str:
    return "/".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


# =============================================================================
# Authorization labels
# =============================================================================

@dataclass(frozen=True)
class Credentials:
    """What an Authorization label says: enough to build an equivalent header for another server."""

    scheme: str  # as sent: "Basic", "Bearer", "bearer", "Token"…
    kind: str  # "basic", "bearer" or "other"
    user: str | None = None  # Basic
    password: str | None = None  # Basic: its pseudonym, None in the 2024 transcripts
    undecodable: bool = False  # Basic that is not base64 of user:password
    jwt: bool = True  # Bearer: False for `<not a jwt>`
    sub: Any = None  # Bearer: the token's `sub` claim (None: it has none)
    flags: frozenset[str] = frozenset()
    token: str | None = None  # Bearer: its pseudonym


def parse_label(label: str) -> Credentials:
    """The `Authorization` label of a transcript, as `Credentials`; ValueError for one no format gives."""
    basic = _BASIC.fullmatch(label)
    if basic:
        return Credentials(basic["scheme"], "basic", user=basic["user"], password=basic["password"],
                           undecodable=bool(basic["undecodable"]))
    bearer = _BEARER.fullmatch(label)
    if bearer:
        if bearer["garbage"]:
            return Credentials(bearer["scheme"], "bearer", jwt=False)
        return Credentials(bearer["scheme"], "bearer", sub=_sub(bearer["sub"]), flags=frozenset(bearer["flags"].split()),
                           token=bearer["token"])
    scheme, _, rest = label.partition(" ")
    if rest == "<redacted>" and scheme:
        return Credentials(scheme, "other")
    raise ValueError(f"unknown Authorization label {label!r}")


def _sub(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def token_value(label: str) -> tuple[Any, frozenset[str], str | None] | None:
    """(sub, flags, pseudonym) of a token written in a body (`<jwt sub='X'> <token #N>`); None if it is not one."""
    found = _TOKEN_VALUE.fullmatch(label)
    if found is None:
        return None
    return _sub(found["sub"]), frozenset(found["flags"].split()), found["token"]


def mint_token(secret: str, sub: Any, flags: Iterable[str] = (), now: float | None = None,
               lifetime: int = 47 * 60) -> str:
    """A JWT like the label's: HS256 with `secret`, `exp` in `lifetime` seconds, `sub` (none when None), and
    each flag applied: `expired` (exp a minute ago), `no-exp`, `alg-none` (unsigned), `other-secret`."""
    jwt = _jwt()
    flags = set(flags)
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {} if sub is None else {"sub": sub}
    if "no-exp" not in flags:
        claims["exp"] = issued - 60 if "expired" in flags else issued + lifetime
    if "alg-none" in flags:
        return jwt.encode(claims, None, algorithm="none")
    if "other-secret" in flags:
        secret = "another-secret-not-the-one-of-the-server"
    return jwt.encode(claims, signing_key(secret), algorithm="HS256")


# =============================================================================
# Redaction: what `fake-dimail record` writes
# =============================================================================

class Pseudonyms:
    """One label per distinct secret of each kind, numbered in order of first sight. Only digests of the
    secrets are kept, so the recorder holds no secret longer than a request."""

    def __init__(self) -> None:
        self._labels: dict[tuple[str, bytes], str] = {}
        self._counts: dict[str, int] = {}

    @staticmethod
    def _key(kind: str, value: str) -> tuple[str, bytes]:
        return kind, hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()

    def known(self, kind: str, value: str) -> bool:
        return self._key(kind, value) in self._labels

    def __call__(self, kind: str, value: str) -> str:
        key = self._key(kind, value)
        label = self._labels.get(key)
        if label is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            label = self._labels[key] = f"<{kind} #{self._counts[kind]}>"
        return label


def canonical(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


class Redactor:
    """Turns one exchange's raw parts into a transcript line, every secret replaced by its pseudonym.

    `jwt_secret`: the upstream's, if known; a Bearer token that does not verify with it, and that no
    recorded answer issued, is labelled `other-secret` (without it, no token is).
    """

    def __init__(self, jwt_secret: str | None = None) -> None:
        self.pseudonyms = Pseudonyms()
        self.jwt_secret = jwt_secret

    def exchange(self, method: str, target: str, request_headers: list[tuple[str, str]], request_body: bytes,
                 status: int | None, response_headers: list[tuple[str, str]], response_body: bytes,
                 elapsed_ms: float | None = None, upstream_error: str | None = None) -> dict[str, Any]:
        """`target`: the raw path and query as sent (percent-encoded); headers: (name, value) pairs."""
        path = self.path(method, unquote(target))
        content_type = ""
        kept: dict[str, str] = {}
        for name, value in request_headers:
            name = name.lower()
            if name == "content-type":
                content_type = value
            if name in REQUEST_HEADERS and canonical(name) not in kept:
                kept[canonical(name)] = self.authorization(value) if name == "authorization" else value
        row: dict[str, Any] = {"method": method, "path": path, "request_headers": kept, "request_json": None}
        request = _json(request_body)
        if request is not _NOT_JSON:
            row["request_json"] = self.body(request)
        elif request_body:
            row["request_body_raw"] = self._raw(request_body, content_type)
        row["status"] = status
        code_too = method == "GET" and path.startswith("/code/") or \
            method == "POST" and _CODE_ISSUED.fullmatch(path.split("?")[0]) is not None
        answer = _json(response_body)
        row["response_json"] = None if answer is _NOT_JSON else self.body(answer, code_too)
        if answer is _NOT_JSON and response_body:
            row["response_text"] = response_body.decode("utf-8", "replace")
        row["response_headers"] = {n.lower(): v for n, v in response_headers
                                   if n.lower() in RESPONSE_HEADERS or n.lower().startswith("access-control-")}
        if elapsed_ms is not None:
            row["elapsed_ms"] = round(elapsed_ms, 1)
        if upstream_error is not None:
            row["upstream_error"] = upstream_error
        return row

    def path(self, method: str, path: str) -> str:
        """A login code in `GET /code/{code}` becomes its pseudonym."""
        if method == "GET" and path.startswith("/code/"):
            return _CODE_PATH.sub(lambda m: m[1] + self.pseudonyms("code", m[2]), path, count=1)
        return path

    def authorization(self, value: str) -> str:
        scheme, _, credentials = value.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return f"{scheme} <undecodable>"
            user, colon, password = decoded.partition(":")
            if not colon:
                return f"{scheme} <undecodable>"
            return f"{scheme} {user} {self.pseudonyms('password', password)}"
        if scheme.lower() == "bearer":
            return f"{scheme} {self.token(credentials, issued=False)}"
        return f"{scheme or '<none>'} <redacted>"

    def token(self, token: str, issued: bool) -> str:
        """`<jwt sub='X' flags> <token #N>`, or `<not a jwt>`. `issued`: seen in an answer (a /token/ body)."""
        jwt = _jwt()
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            return "<not a jwt>"
        if not isinstance(claims, dict):
            return "<not a jwt>"
        flags = []
        if "exp" not in claims:
            flags.append("no-exp")
        elif isinstance(claims["exp"], (int, float)) and claims["exp"] < time.time():
            flags.append("expired")
        if str(header.get("alg", "")).lower() == "none":
            flags.append("alg-none")
        elif self.jwt_secret is not None and not issued and not self.pseudonyms.known("token", token):
            try:
                jwt.decode(token, signing_key(self.jwt_secret), algorithms=[header.get("alg", "HS256")],
                           options={"verify_exp": False})
            except (jwt.PyJWTError, ValueError, TypeError):
                flags.append("other-secret")
        sub = repr(claims["sub"]) if "sub" in claims else "None"
        return f"<jwt sub={sub}{''.join(' ' + f for f in flags)}> {self.pseudonyms('token', token)}"

    def body(self, value: Any, code_too: bool = False) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(item, str) and item:
                    if key in PASSWORD_KEYS:
                        item = self.pseudonyms("password", item)
                    elif key in TOKEN_KEYS:
                        item = self.token(item, issued=True)
                    elif key == "code" and code_too:
                        item = self.pseudonyms("code", item)
                    out[key] = item
                else:
                    out[key] = self.body(item, code_too)
            return out
        if isinstance(value, list):
            return [self.body(item, code_too) for item in value]
        return value

    def _raw(self, body: bytes, content_type: str) -> str:
        """A body that is not JSON, as text; in a form, the values of secret fields become pseudonyms."""
        text = body.decode("utf-8", "replace")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return text

        def field(match: re.Match[str]) -> str:
            value = unquote_plus(match[3])
            secret = match[2] in PASSWORD_KEYS | TOKEN_KEYS and value
            return match[1] + match[2] + "=" + (self.pseudonyms("password", value) if secret else match[3])

        return _FORM_FIELD.sub(field, text)


_NOT_JSON = object()


def _json(body: bytes) -> Any:
    if not body:
        return _NOT_JSON
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


# Characters that end a line for some readers (str.splitlines, JavaScript) though JSON lets them stand in a
# string: escaped, so that a line of the file is a line for everyone.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def line(value: dict[str, Any]) -> str:
    """One line of a recording (with its newline): readable JSON, every line break escaped."""
    return json.dumps(value, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"
