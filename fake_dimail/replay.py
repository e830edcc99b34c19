"""`fake-dimail replay`: play recorded exchanges again on a fresh in-process fake and say, per exchange,
`same`, `differs` (with the differences) or `skipped` (why).

A recording (`fake-dimail record`, or the 2024 transcripts of `reference/dimail/transcripts/`) is one
sequence: each file gets its own fresh fake, built with `serve`'s behaviour options. What the
recorded server generated (uuids, tokens, mailbox passwords, login codes, DKIM keys, public alias
names, queue ids) differs on every run: each recorded value is bound, the first time an answer
shows it, to what the fake answered in its place; later requests send the fake's value, and later
answers must show it again. Secrets the recording only names by pseudonym get a value of the
replay's own (a seeded user's first password is taken to be its seed password).

Differences where the fake's answer shows one of the guesses of its register (`fake_dimail.guesses`)
are *explained* by that entry, which the exchange contradicts; an identical answer showing an entry
confirms it. Exit status: 0 every exchange replayed the same, 3 differences all explained by
guesses, 1 an unexplained difference, 2 a recording that cannot be read.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from starlette.routing import compile_path

from . import guesses, record_cli
from .config import Settings
from .fake import FakeDimail
from .seeds import SEEDS
from .transcript import PSEUDONYM, Credentials, Transcript, TranscriptError, files, mint_token, parse_label, read, \
    token_value

EXIT = {"same": 0, "differ": 1, "differ (guesses only)": 3}
EXIT_UNREADABLE = 2

# Generated inside a string: compared by shape, bound to the fake's own value.
GENERATED = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # uuids
    r"|MI[A-Za-z0-9+/]{60,}={0,2}"  # DKIM public keys (base64 DER)
    r"|eyJ[\w-]*\.[\w-]*\.[\w-]*"  # JWTs (the 2024 transcripts keep them)
    r"|crash-\d{8}-\d{6}-[0-9a-f]{6}\.log"  # crash log names
)
# Keys whose values the server makes up: bound, whatever they are.
BOUND_KEYS = frozenset({"uuid", "alias", "queue_id"})
# Keys whose values depend on the clock: only their type is compared.
VOLATILE_KEYS = frozenset({"expires_at", "date", "logs", "time", "duration_ms", "last_use"})
# Listings whose order the API does not promise (CONTRACT.md §4.3, §4.5): compared as multisets.
UNORDERED = frozenset({("GET", "/allows/"), ("GET", "/domains/{domain_name}/mailboxes/")})

_PATH_SAFE = "/:@!$&'()*+,;=~"  # what a path keeps unencoded (RFC 3986 pchar and /)
_QUERY_SAFE = _PATH_SAFE + "?"
_SHOWN = 100  # characters of a value shown in a difference
_LISTED = 3  # differences of one exchange on its line (the JSON report has them all)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


# =============================================================================
# Bindings: recorded value -> the replay's value
# =============================================================================

class Bindings:
    """Recorded values and what this replay knows them as; a child holds tentative ones until `commit`."""

    def __init__(self, parent: Bindings | None = None) -> None:
        self.parent = parent
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        node: Bindings | None = self
        while node is not None:
            if key in node.values:
                return node.values[key]
            node = node.parent
        return None

    def set(self, key: str, value: Any) -> None:
        if key != value:
            self.values[key] = value

    def child(self) -> Bindings:
        return Bindings(self)

    def commit(self) -> None:
        assert self.parent is not None
        self.parent.values.update(self.values)


# =============================================================================
# Comparing one answer with its recording
# =============================================================================

def header_problems(recorded: Mapping[str, str], response: httpx.Response, host: str | None = None) -> list[str]:
    """The recorded `content-type`, `www-authenticate`, `location` (its path and query: the host is the
    server's own; `host` given, it must be that) and CORS headers, against the response's."""
    out = []
    for name in ("content-type", "www-authenticate", "location"):
        want, got = recorded.get(name), response.headers.get(name)
        if name == "location" and want is not None and got is not None:
            want_url, got_url = urlsplit(want), urlsplit(got)
            if (got_url.path, got_url.query) != (want_url.path, want_url.query) or \
                    host is not None and got_url.netloc != host:
                out.append(f"header location {got!r} (recorded {want!r}; the path is compared"
                           + (f", the host must be {host!r})" if host else ")"))
        elif want != got:
            out.append(f"header {name}: {got!r} (recorded {want!r})")
    for name, want in recorded.items():
        if name.startswith("access-control-") and response.headers.get(name) != want:
            out.append(f"header {name}: {response.headers.get(name)!r} (recorded {want!r})")
    return out


class Comparison:
    """A JSON answer against the recorded one, binding what the server generated."""

    def __init__(self, unordered: bool) -> None:
        self.unordered = unordered

    def problems(self, recorded: Any, actual: Any, where: str, bindings: Bindings, key: str | None = None) -> list[str]:
        if key in VOLATILE_KEYS:
            same_kind = type(recorded) is type(actual) or recorded is None or actual is None
            return [] if same_kind else [f"{where}: {_show(actual)} (recorded {_show(recorded)})"]
        if isinstance(recorded, str):
            return self._string(recorded, actual, where, bindings, key)
        if isinstance(recorded, dict):
            return self._object(recorded, actual, where, bindings)
        if isinstance(recorded, list):
            return self._list(recorded, actual, where, bindings)
        if type(recorded) is not type(actual) or recorded != actual:
            return [f"{where}: {_show(actual)} (recorded {_show(recorded)})"]
        return []

    def _string(self, recorded: str, actual: Any, where: str, bindings: Bindings, key: str | None) -> list[str]:
        known = bindings.get(recorded)
        if known is not None:
            if actual == known:
                return []
            return [f"{where}: {_show(actual)} (recorded {_show(recorded)}, known here as {_show(known)})"]
        if not isinstance(actual, str):
            return [f"{where}: {_show(actual)} (recorded {_show(recorded)})"]
        token = token_value(recorded)
        if token is not None:
            return self._token(token, actual, where, bindings)
        if PSEUDONYM.fullmatch(recorded) or key in BOUND_KEYS:
            bindings.set(recorded, actual)
            return []
        made, kept = GENERATED.findall(recorded), GENERATED.findall(actual)
        if made and len(made) == len(kept) and GENERATED.sub("\0", recorded) == GENERATED.sub("\0", actual):
            for was, now in zip(made, kept):
                if bindings.get(was) not in (None, now):
                    return [f"{where}: {_show(actual)} (recorded {_show(recorded)}: {was} is known here as "
                            f"{bindings.get(was)})"]
                bindings.set(was, now)
            return []
        return [] if recorded == actual else [f"{where}: {_show(actual)} (recorded {_show(recorded)})"]

    @staticmethod
    def _token(token: tuple[Any, frozenset[str], str | None], actual: str, where: str, bindings: Bindings) -> list[str]:
        from .security import _jwt

        sub, _, pseudonym = token
        jwt = _jwt()
        try:
            claims = jwt.decode(actual, options={"verify_signature": False})
        except jwt.PyJWTError:
            return [f"{where}: {_show(actual)} is not a JWT (recorded a token of sub {sub!r})"]
        if claims.get("sub") != sub:
            return [f"{where}: a token of sub {claims.get('sub')!r} (recorded sub {sub!r})"]
        if pseudonym:
            bindings.set(pseudonym, actual)
        return []

    def _object(self, recorded: dict[str, Any], actual: Any, where: str, bindings: Bindings) -> list[str]:
        if not isinstance(actual, dict):
            return [f"{where}: {_show(actual)} (recorded an object)"]
        out = [f"{where}: no {k!r} (recorded {_show(v)})" for k, v in recorded.items() if k not in actual]
        out += [f"{where}.{k}: not recorded ({_show(v)})" for k, v in actual.items() if k not in recorded]
        for k, value in recorded.items():
            if k in actual:
                out += self.problems(value, actual[k], f"{where}.{k}", bindings, k)
        return out

    def _list(self, recorded: list[Any], actual: Any, where: str, bindings: Bindings) -> list[str]:
        if not isinstance(actual, list):
            return [f"{where}: {_show(actual)} (recorded a list)"]
        if len(actual) != len(recorded):
            return [f"{where}: {len(actual)} items (recorded {len(recorded)}): {_show(actual)}"]
        trial = bindings.child()
        out = [p for i, (r, a) in enumerate(zip(recorded, actual)) for p in self.problems(r, a, f"{where}[{i}]", trial)]
        if not out:
            trial.commit()
            return []
        if self.unordered and where == "body" and self._as_multiset(recorded, actual, bindings):
            return []
        return out

    def _as_multiset(self, recorded: list[Any], actual: list[Any], bindings: Bindings) -> bool:
        trial, left = bindings.child(), list(actual)
        for item in recorded:
            for i, candidate in enumerate(left):
                attempt = trial.child()
                if not self.problems(item, candidate, "body[]", attempt):
                    attempt.commit()
                    del left[i]
                    break
            else:
                return False
        trial.commit()
        return True


# =============================================================================
# Operations: a concrete path's template in the fake's document
# =============================================================================

_TEMPLATES: list[tuple[str, frozenset[str], re.Pattern[str]]] | None = None


def operation_of(app: Any, method: str, path: str) -> tuple[str, str] | None:
    """(METHOD, template of the v0.8.2 document) of a request, None when no operation has that path."""
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = [(template, frozenset(m.upper() for m in ops), compile_path(template)[0])
                      for template, ops in app.openapi()["paths"].items()]
    method = method.upper()
    for template, methods, regex in _TEMPLATES:
        if method in methods and regex.match(path):
            return method, template
    return None


# =============================================================================
# Replaying a sequence
# =============================================================================

def fixed_authorization(credentials: Credentials) -> str | None:
    """The header of a label that needs no password nor token: undecodable Basic, `<not a jwt>`, other schemes."""
    if credentials.kind == "basic" and credentials.undecodable:
        return f"{credentials.scheme} !!not*base64!!"
    if credentials.kind == "bearer" and not credentials.jwt:
        return f"{credentials.scheme} not-a-jwt"
    if credentials.kind == "other":
        return f"{credentials.scheme} redacted-credentials"
    return None


@dataclass
class Result:
    line: int
    method: str
    path: str
    status: int | None  # recorded
    verdict: str  # same, differs, skipped
    template: str | None = None
    answered: int | None = None  # the fake's status
    differences: list[str] = field(default_factory=list)
    reason: str | None = None  # why skipped
    confirmed: list[str] = field(default_factory=list)  # ids of the register's entries
    contradicted: list[str] = field(default_factory=list)

    @property
    def explained(self) -> bool:
        return self.verdict == "differs" and bool(self.contradicted)

    def line_text(self, width: int = 44) -> str:
        status = "---" if self.status is None else str(self.status)
        head = f"{self.line:>5} {self.method:<6} {self.path:<{width}} {status:>3}  {self.verdict}"
        if self.verdict == "skipped":
            return f"{head}: {self.reason}"
        if self.verdict == "differs":
            shown = self.differences[:_LISTED]
            more = len(self.differences) - len(shown)
            head += ": " + "; ".join(shown) + (f"; {more} more (--report lists them)" if more else "")
        if self.contradicted:
            head += f" [contradicts {', '.join(self.contradicted)}]"
        if self.confirmed:
            head += f" [confirms {', '.join(self.confirmed)}]"
        return head


class Replayer:
    """One fresh fake and what this sequence taught it: bindings, users' passwords."""

    def __init__(self, settings: Settings, seed: str = "empty") -> None:
        self.fake = FakeDimail(settings, seed=seed)
        self.client = self.fake.client(follow_redirects=False)
        self.bindings = Bindings()
        self.seed_passwords = {u.name: u.password for u in SEEDS[seed]}
        self.passwords: dict[str, str] = {}  # set by this sequence's requests (users created or changed)
        self._seed_claimed: set[str] = set()

    def close(self) -> None:
        self.client.close()
        self.fake.close()

    # -- the request ------------------------------------------------------------

    def _value(self, pseudonym: str) -> str:
        known = self.bindings.get(pseudonym)
        if known is None:
            kind, number = PSEUDONYM.fullmatch(pseudonym).groups()  # type: ignore[union-attr]
            known = f"replayed-{kind}-{number}"
            self.bindings.set(pseudonym, known)
        return str(known)

    def _swap(self, text: str) -> str:
        known = self.bindings.get(text)
        if known is not None:
            return str(known)
        text = PSEUDONYM.sub(lambda m: self._value(m[0]), text)
        return GENERATED.sub(lambda m: str(self.bindings.get(m[0]) or m[0]), text)

    def _swap_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._swap(value)
        if isinstance(value, dict):
            return {k: self._swap_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._swap_json(v) for v in value]
        return value

    def _swap_path(self, path: str) -> str:
        def segment(text: str) -> str:
            known = self.bindings.get(text)
            return str(known) if known is not None else "@".join(self._swap(p) for p in text.split("@"))

        return "/".join(segment(s) for s in path.split("/"))

    def authorization(self, credentials: Credentials) -> str:
        fixed = fixed_authorization(credentials)
        if fixed is not None:
            return fixed
        if credentials.kind == "basic":
            user = credentials.user or ""
            pair = f"{user}:{self._password(user, credentials.password)}"
            return f"{credentials.scheme} " + base64.b64encode(pair.encode()).decode()
        token = self.bindings.get(credentials.token) if credentials.token else None
        if token is None:
            settings = self.fake.settings
            token = mint_token(settings.jwt_secret, credentials.sub, credentials.flags, self.fake.backend.clock(),
                               settings.token_lifetime)
            if credentials.token:
                self.bindings.set(credentials.token, token)
        return f"{credentials.scheme} {token}"

    def _password(self, user: str, pseudonym: str | None) -> str:
        if pseudonym is None:  # a 2024 transcript: the password this sequence gave the user, else its seed's
            return self.passwords.get(user) or self.seed_passwords.get(user, "any-password")
        known = self.bindings.get(pseudonym)
        if known is None:
            # A seeded user this sequence never set a password for: its first password is taken to be the seed's.
            if user in self.seed_passwords and user not in self.passwords and user not in self._seed_claimed:
                self._seed_claimed.add(user)
                known = self.seed_passwords[user]
                self.bindings.values[pseudonym] = known
            else:
                known = self._value(pseudonym)
        return str(known)

    def request(self, row: Mapping[str, Any]) -> httpx.Request:
        headers = {}
        for name, value in row["request_headers"].items():
            if name.lower() == "authorization":
                headers[name] = self.authorization(parse_label(value))
            elif name.lower() != "host":
                headers[name] = self._swap(value)
        # The file's path is decoded (the transcripts' format): encoded again, control characters included.
        path, question, query = row["path"].partition("?")
        target = quote(self._swap_path(path), safe=_PATH_SAFE) + question + quote(self._swap(query), safe=_QUERY_SAFE)
        content = None
        if "request_body_raw" in row:
            content = self._swap(row["request_body_raw"]).encode()
        elif row.get("request_json") is not None:
            content = json.dumps(self._swap_json(row["request_json"])).encode()
        return self.client.build_request(row["method"], target, headers=headers, content=content)

    # -- one exchange -----------------------------------------------------------

    def play(self, line: int, row: Mapping[str, Any]) -> Result:
        method, path = row["method"], row["path"]
        operation = operation_of(self.fake.app, method, path.partition("?")[0])
        result = Result(line, method, path, row.get("status"), "skipped",
                        template=operation[1] if operation else None)
        if row.get("upstream_error"):
            result.reason = f"the upstream gave no answer ({row['upstream_error']})"
            return result
        if row.get("status") is None:
            result.reason = "no answer recorded"
            return result
        try:
            request = self.request(row)
        except (ValueError, httpx.InvalidURL) as exc:
            result.reason = f"cannot rebuild the request: {exc}"
            return result
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            result.verdict, result.differences = "differs", [f"no answer from the fake ({exc})"]
            return result
        result.answered = response.status_code
        result.differences = self._differences(row, response, operation)
        result.verdict = "differs" if result.differences else "same"
        self._learn(request, response)
        if operation is not None:
            result.confirmed, result.contradicted = guesses.judge(
                *operation, response.status_code, _body(response), response.headers, same=not result.differences)
        return result

    def _differences(self, row: Mapping[str, Any], response: httpx.Response,
                     operation: tuple[str, str] | None) -> list[str]:
        out = []
        if response.status_code != row["status"]:
            out.append(f"status {response.status_code} (recorded {row['status']})")
        if "response_headers" in row:
            out += header_problems(row["response_headers"], response)
        text, recorded = row.get("response_text"), row.get("response_json")
        if text is not None:
            if response.text != text:
                out.append(f"body {_show(response.text)} (recorded text {_show(text)})")
        elif recorded is None:
            if response.content and response.content != b"null":
                out.append(f"body {_show(response.text)} (recorded none)")
        else:
            actual = _body(response)
            if actual is _NO_JSON:
                out.append(f"body {_show(response.text)} is not JSON (recorded {_show(recorded)})")
            else:
                out += Comparison(operation in UNORDERED).problems(recorded, actual, "body", self.bindings)
        return out

    def _learn(self, request: httpx.Request, response: httpx.Response) -> None:
        """Passwords this sequence gives its users (for Basic labels without a pseudonym)."""
        if not 200 <= response.status_code < 300 or request.method not in ("POST", "PATCH"):
            return
        parts = request.url.path.strip("/").split("/")
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            return
        if parts[0] != "users" or not isinstance(body, dict) or not isinstance(body.get("password"), str):
            return
        name = body.get("name") if request.method == "POST" and len(parts) == 1 else parts[-1]
        if isinstance(name, str):
            self.passwords[name] = body["password"]


_NO_JSON = object()


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return _NO_JSON


# =============================================================================
# The report
# =============================================================================

@dataclass
class SequenceReport:
    transcript: Transcript
    notes: list[str]
    results: list[Result]


def settings_notes(header: Mapping[str, Any], settings: Settings, seed: str) -> list[str]:
    """Where the recording's upstream fake was started otherwise than this replay's fake."""
    upstream = header.get("upstream_fake")
    if not isinstance(upstream, dict):
        return []
    theirs = dict(upstream.get("settings") or {})
    ours = {**dataclasses.asdict(settings), "seed": seed}
    out = []
    for name in ("seed", "bearer_401", "crash_on_odd_tokens", "dns_auto", "certs_on_check", "redirect_base"):
        if name in theirs and theirs[name] != ours.get(name):
            out.append(f"note: the recording's fake ran with {name}={json.dumps(theirs[name])}, this replay's with "
                       f"{name}={json.dumps(ours.get(name))}")
    return out


def verdict(results: Iterable[Result]) -> str:
    differing = [r for r in results if r.verdict == "differs"]
    if not differing:
        return "same"
    return "differ (guesses only)" if all(r.explained for r in differing) else "differ"


def summary(reports: list[SequenceReport]) -> list[str]:
    results = [r for report in reports for r in report.results]
    counts = Counter(r.verdict for r in results)
    explained = sum(r.explained for r in results)
    lines = [f"-- {len(results)} exchanges: {counts['same']} same, {counts['differs']} differ"
             + (f" ({explained} explained by guesses)" if counts["differs"] else "") + f", {counts['skipped']} skipped"]
    fake = any(_from_fake(report.transcript.header) for report in reports)
    caveat = "the recording's upstream is a fake: the two fakes agree, dimail may not" if fake else ""
    return lines + _tally(results).lines(caveat)


def _tally(results: Iterable[Result]) -> guesses.Tally:
    tally = guesses.Tally()
    for result in results:
        tally.add(result.confirmed, result.contradicted)
    return tally


def _from_fake(header: Mapping[str, Any]) -> bool:
    return "upstream_fake" in header or "fake-dimail" in str(header.get("upstream_version") or "")


def as_json(reports: list[SequenceReport], final: str) -> dict[str, Any]:
    results = [r for report in reports for r in report.results]
    return {
        "verdict": final,
        "exit_status": EXIT[final],
        "counts": dict(Counter(r.verdict for r in results)),
        "guesses": _tally(results).as_json(),
        "recordings": [
            {"file": str(report.transcript.path), "header": report.transcript.header, "notes": report.notes,
             "exchanges": [dataclasses.asdict(r) | {"explained": r.explained} for r in report.results]}
            for report in reports
        ],
    }


# =============================================================================
# The command
# =============================================================================

def main(args: argparse.Namespace) -> int:
    settings = record_cli.settings_from(args)
    try:
        transcripts = [read(path) for path in files(args.recordings)]
    except TranscriptError as exc:
        print(f"fake-dimail replay: error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    reports = []
    for transcript in transcripts:
        report = SequenceReport(transcript, settings_notes(transcript.header, settings, args.seed), [])
        reports.append(report)
        header = transcript.header
        upstream = f"{header['upstream']}, {header.get('upstream_version') or 'version unknown'}" \
            if header.get("upstream") else "no recording header"
        print(f"== {transcript.path} ({upstream}): {len(transcript.exchanges)} exchanges on a fresh fake "
              f"(seed {args.seed}, dns {args.dns}{''.join(f', --{n}' for n in _switches(settings))})")
        for note in report.notes:
            print(note)
        replayer = Replayer(settings, args.seed)
        width = min(max(len(row["path"]) for _, row in transcript.exchanges), 60)
        try:
            for line, row in transcript.exchanges:
                result = replayer.play(line, row)
                report.results.append(result)
                if result.verdict == "differs" or not args.differences_only:
                    print(result.line_text(width))
        finally:
            replayer.close()
    final = verdict(r for report in reports for r in report.results)
    for line in summary(reports):
        print(line)
    print(f"verdict: {final}")
    if args.report:
        try:
            Path(args.report).write_text(json.dumps(as_json(reports, final), indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
        except OSError as exc:
            print(f"fake-dimail replay: error: cannot write --report {args.report} ({exc.strerror})", file=sys.stderr)
            return EXIT_UNREADABLE
        print(f"report: {args.report}")
    return EXIT[final]


def _switches(settings: Settings) -> list[str]:
    return [name.replace("_", "-") for name in ("bearer_401", "crash_on_odd_tokens", "certs_on_check")
            if getattr(settings, name)]
