"""`provisioner`: send People's dimail calls for one People event, from the shell."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from .client import Call, DimailError, DimailRefused, url_problem
from .provisioner import ENABLED, Provisioner

if TYPE_CHECKING:
    from .apply import Outcome

# People's dev values: its user on the dimail of its compose stack, published on the host's port 8001.
DEV_URL, DEV_USER, DEV_PASSWORD = "http://127.0.0.1:8001", "la_regie", "password"
ROLES = ("owner", "administrator", "viewer")  # People's roles on a mail domain
SETTINGS_HELP = (
    "Settings, first found wins: the flags (before or after EVENT), then DIMAIL_URL, DIMAIL_USER, DIMAIL_PASSWORD, "
    "then People's own MAIL_PROVISIONING_API_URL, MAIL_PROVISIONING_API_CREDENTIALS (base64 of user:password) and "
    f"MAIL_PROVISIONING_API_TIMEOUT, then People's dev values ({DEV_URL}, {DEV_USER}:{DEV_PASSWORD}, 20 s)."
)

# subcommand -> (Provisioner method, positional arguments, help)
EVENTS: dict[str, tuple[str, list[str], str]] = {
    "initialise": ("initialise", [], "make sure People's user exists with its perms (with --admin: bootstrap)"),
    "domain-created": ("domain_created", ["domain", "owner_sub"], "create a domain with its owner, fetch its status"),
    "user-created": ("user_created", ["sub"], "create the dimail user of a People user"),
    "access-granted": ("access_granted", ["domain", "sub", "role"], "owner/administrator: user + allow; viewer: none"),
    "access-revoked": ("access_revoked", ["domain", "sub"], "remove the allow (see --remaining-role)"),
    "mailbox-created": ("mailbox_created", ["domain", "local_part", "first_name", "last_name"],
                        "create a mailbox (kept pending unless the domain is enabled)"),
    "mailbox-disabled": ("mailbox_disabled", ["domain", "local_part"], "disable a mailbox"),
    "mailbox-enabled": ("mailbox_enabled", ["domain", "local_part", "first_name", "last_name"], "enable a mailbox"),
    "alias-created": ("alias_created", ["domain", "local_part", "destination"], "create an alias"),
    "alias-deleted": ("alias_deleted", ["domain", "local_part", "destination"], "delete an alias"),
    "login-code": ("login_code", ["domain", "local_part"], "get a login code for a mailbox"),
    "password-reset": ("password_reset", ["domain", "local_part"], "reset a mailbox password"),
    "status": ("domain_status", ["domain"], "People's status fetch: check, and fix when only internals fail"),
}


class UsageError(Exception):
    """A setting that cannot work: one line, exit status 2."""


def _url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def _credentials(value: str) -> tuple[str, str]:
    user, colon, password = value.partition(":")
    if not (user and colon and password):
        raise argparse.ArgumentTypeError(f"{value!r} is not USER:PASSWORD (for instance admin:admin)")
    return user, password


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return seconds


def _settings_options() -> argparse.ArgumentParser:
    """Options every command takes, before or after its EVENT (SUPPRESS: a later place does not reset them)."""
    options = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    options.add_argument("--url", type=_url, help="dimail's base URL (else DIMAIL_URL, MAIL_PROVISIONING_API_URL, "
                                                  f"{DEV_URL})")
    options.add_argument("--user", help="People's dimail user (else DIMAIL_USER, the user of "
                                        f"MAIL_PROVISIONING_API_CREDENTIALS, {DEV_USER})")
    options.add_argument("--password", help="its password (else DIMAIL_PASSWORD, the password of "
                                            "MAIL_PROVISIONING_API_CREDENTIALS, People's dev one)")
    options.add_argument("--timeout", type=_seconds, help="seconds per call (else MAIL_PROVISIONING_API_TIMEOUT, 20)")
    options.add_argument("--cache-token", action="store_true", help="reuse one token (People fetches one per call)")
    options.add_argument("--quiet", action="store_true", help="print only the result")
    return options


def build_parser() -> argparse.ArgumentParser:
    options = _settings_options()
    parser = argparse.ArgumentParser(
        prog="provisioner", parents=[options],
        description="Send to dimail (real or fake) the calls People sends for one event, and print them.",
        epilog=SETTINGS_HELP,
    )
    parser.add_argument("--version", action="version", version=f"provisioner (fake-dimail) {version('fake-dimail')}")
    events = parser.add_subparsers(dest="event", required=True, metavar="EVENT")
    for name, (_, args, help_text) in EVENTS.items():
        sub = events.add_parser(name, help=help_text, description=help_text, parents=[options], epilog=SETTINGS_HELP)
        for arg in args:
            sub.add_argument(arg, **({"choices": ROLES} if arg == "role" else {}))
        if name == "initialise":
            sub.add_argument("--admin", metavar="USER:PASSWORD", type=_credentials,
                             help="admin credentials (created if missing)")
        if name == "access-revoked":
            sub.add_argument("--remaining-role", choices=ROLES, help="the user's remaining role on the domain, if any")
            sub.add_argument("--keep-allows", action="store_true", help="never revoke (People's behaviour)")
    apply = events.add_parser(
        "apply", help="bring dimail to the state a YAML/JSON file declares (idempotent)", parents=[options],
        description="Read what dimail holds, then send only the People events still needed for the domains, "
                    "owners, administrators, mailboxes and aliases FILE declares. Nothing absent from FILE is "
                    "removed. Exit status: 0 done, 1 something failed, 2 some mailboxes stay pending (their "
                    "domain is not enabled yet).",
        epilog="example: provisioner apply examples/people-dev.yaml. " + SETTINGS_HELP)
    apply.add_argument("file", help="the declared state (.json, otherwise YAML)")
    apply.add_argument("--dry-run", action="store_true", help="read and print the plan, send nothing")
    apply.add_argument("--admin", metavar="USER:PASSWORD", type=_credentials,
                       help="initialise first (bootstrap an empty dimail)")
    return parser


@dataclass(frozen=True)
class Target:
    """Where the commands go, and which settings said so."""

    url: str
    user: str
    password: str
    timeout: float
    sources: tuple[str, ...]  # the environment variables used

    @property
    def banner(self) -> str:
        return f"→ {self.url} as {self.user}" + (f" (from {', '.join(self.sources)})" if self.sources else "")

    @property
    def password_hint(self) -> str:
        """Where to correct the password that was used."""
        used = [s for s in self.sources if s in ("DIMAIL_PASSWORD", "MAIL_PROVISIONING_API_CREDENTIALS")]
        return f"check {used[0]}" if used else "check --password"


def resolve(args: argparse.Namespace, environ: Mapping[str, str]) -> Target:
    """Flags, then DIMAIL_*, then People's MAIL_PROVISIONING_API_*, then People's dev values."""
    sources: list[str] = []

    def first(flag: str, names: tuple[str, ...], people: Callable[[], str | None], default: str) -> str:
        if hasattr(args, flag):
            return getattr(args, flag)
        for name in names:
            if environ.get(name):
                sources.append(name)
                return environ[name]
        value = people()
        return default if value is None else value

    def people_credentials(index: int) -> str | None:
        encoded = environ.get("MAIL_PROVISIONING_API_CREDENTIALS")
        if not encoded:
            return None
        try:
            user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, colon, password = "", "", ""
        if not (user and colon):
            raise UsageError("MAIL_PROVISIONING_API_CREDENTIALS is not the base64 of USER:PASSWORD: "
                             "set it to the output of `printf la_regie:password | base64`")
        if "MAIL_PROVISIONING_API_CREDENTIALS" not in sources:
            sources.append("MAIL_PROVISIONING_API_CREDENTIALS")
        return (user, password)[index]

    url = first("url", ("DIMAIL_URL", "MAIL_PROVISIONING_API_URL"), lambda: None, DEV_URL)
    problem = url_problem(url)
    if problem is not None:
        raise UsageError(f"{sources[-1]}: {problem}")
    user = first("user", ("DIMAIL_USER",), lambda: people_credentials(0), DEV_USER)
    password = first("password", ("DIMAIL_PASSWORD",), lambda: people_credentials(1), DEV_PASSWORD)
    timeout = first("timeout", ("MAIL_PROVISIONING_API_TIMEOUT",), lambda: None, "20")
    try:
        seconds = _seconds(timeout) if isinstance(timeout, str) else timeout
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"MAIL_PROVISIONING_API_TIMEOUT: {exc}") from exc
    return Target(url.rstrip("/"), user, password, seconds, tuple(sources))


def explain(error: DimailError, provisioner: Provisioner, target: Target) -> str:
    """The error in one line, with the way out when dimail refused."""
    if not isinstance(error, DimailRefused) or error.call.user != target.user:
        return str(error)  # not about People's user (an admin refused, say): nothing to probe
    if error.call.path.startswith("/token/"):
        return f"{error}: {target.password_hint}"
    try:  # the token call needs nothing but valid credentials: it tells credentials from rights
        provisioner.client.send("GET", "/token/")
    except DimailRefused as refused:
        return f"{refused}: {target.password_hint}"
    except DimailError:
        return str(error)
    return (f"{error}: {target.user}'s credentials are accepted, but it may not do this here "
            f"(not allowed on the domain, or lacking a perm: `provisioner initialise` says which)")


def _apply(args: argparse.Namespace, provisioner: Provisioner, out: Callable[[str], None],
           explained: Callable[[DimailError], str] = str) -> int:
    # Only `apply` reads a desired state: its models (pydantic, YAML) are not every command's start-up (0.1 s).
    from .apply import DesiredStateError, load
    from .apply import apply as apply_state

    try:
        desired = load(args.file)
    except DesiredStateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not desired.domains:
        print(f"error: {args.file} declares no domains, so there is nothing to apply "
              "(see examples/people-dev.yaml for the format)", file=sys.stderr)
        return 1
    shown = 0

    def show_calls(calls: list[Call]) -> None:
        nonlocal shown
        if not getattr(args, "quiet", False):
            for call in calls:
                out(f"  {call}")
        shown += len(calls)

    def show(outcome: Outcome) -> None:
        mark = {"done": "+", "pending": "~", "failed": "!", "skipped": "-", "planned": "?"}[outcome.result]
        note = "" if outcome.result == "done" else f" [{outcome.result}]"
        out(f"{mark} {outcome.action}{note}")
        show_calls(outcome.calls)
        if outcome.error is not None:
            out(f"  error: {outcome.error}")

    try:
        if args.admin:
            out("= initialise")
            provisioner.initialise(admin=args.admin)
            show_calls(provisioner.journal)
        out(f"= read {args.file}: {len(desired.domains)} domains")
        report = apply_state(provisioner, desired, progress=show, dry_run=args.dry_run, on_read=show_calls)
    except DimailError as exc:
        shown_before = shown
        message = explained(exc)
        show_calls(provisioner.journal[shown_before:])
        print(f"error: {message}", file=sys.stderr)
        return 1
    out(f"-- {report.summary()}")
    if report.count("failed") or report.count("skipped"):
        return 1
    return 2 if report.count("pending") else 0


def _result(value: Any) -> Any:
    if hasattr(value, "status") and hasattr(value, "check"):  # DomainStatus
        return {"status": value.status, "state": value.check.get("state"), "fixed": value.fixed,
                "details": value.details, "sent": value.sent}
    return value


def main(argv: list[str] | None = None, out: Callable[[str], None] = print,
         environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        target = resolve(args, os.environ if environ is None else environ)
    except UsageError as exc:
        print(f"provisioner: error: {exc}", file=sys.stderr)
        return 2
    quiet = getattr(args, "quiet", False)  # absent unless given: the options are SUPPRESSed
    provisioner = Provisioner(target.url, target.user, target.password, timeout=target.timeout,
                              cache_token=getattr(args, "cache_token", False),
                              revoke_allows=not getattr(args, "keep_allows", False),
                              on_retry=lambda line: print(line, file=sys.stderr, flush=True))
    if not quiet:
        out(target.banner)
    if args.event == "apply":
        return _apply(args, provisioner, out, lambda error: explain(error, provisioner, target))
    method, positional, _ = EVENTS[args.event]
    kwargs: dict[str, Any] = {arg: getattr(args, arg) for arg in positional}
    if args.event == "initialise" and args.admin:
        kwargs["admin"] = args.admin
    if args.event == "access-revoked":
        kwargs["remaining_role"] = args.remaining_role
    code, message = 0, ""
    try:
        result = getattr(provisioner, method)(**kwargs)
    except DimailError as exc:
        result, code, message = None, 1, explain(exc, provisioner, target)
    if args.event == "mailbox-created" and code == 0 and result is None:
        domain, address = args.domain, f"{args.local_part.lower()}@{args.domain}"
        status = provisioner.statuses.get(domain, "pending")
        result = {"email": address, "status": "pending", "domain_status": status}
        code, message = 2, (f"{address} stays pending: domain {domain} is {status.replace('_', ' ')}, not "
                            f"{ENABLED} (`provisioner status {domain}` says what fails); fix it, then run this again")
    if not quiet:
        for call in provisioner.journal:
            out(str(call))
        writes = len(provisioner.client.writes())
        out(f"-- {len(provisioner.journal)} calls, {writes} writes")
    if result is not None:
        out(json.dumps(_result(result), ensure_ascii=False))
    if code:
        print(f"error: {message}" if code == 1 else message, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
