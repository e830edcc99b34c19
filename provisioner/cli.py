"""`provisioner`: send People's dimail calls for one People event, from the shell."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from .apply import DesiredStateError, Outcome, load
from .apply import apply as apply_state
from .client import Call, DimailError
from .provisioner import Provisioner

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="provisioner",
        description="Send to dimail (real or fake) the calls People sends for one event, and print them.",
    )
    parser.add_argument("--url", default=os.environ.get("DIMAIL_URL", "http://127.0.0.1:8001"),
                        help="dimail's base URL (env DIMAIL_URL; default: %(default)s)")
    parser.add_argument("--user", default=os.environ.get("DIMAIL_USER", "la_regie"),
                        help="People's dimail user (env DIMAIL_USER; default: %(default)s)")
    parser.add_argument("--password", default=os.environ.get("DIMAIL_PASSWORD", "password"),
                        help="its password (env DIMAIL_PASSWORD; default: People's dev one)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per call (default: %(default)s)")
    parser.add_argument("--cache-token", action="store_true", help="reuse one token (People fetches one per call)")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    events = parser.add_subparsers(dest="event", required=True, metavar="EVENT")
    for name, (_, args, help_text) in EVENTS.items():
        sub = events.add_parser(name, help=help_text, description=help_text)
        for arg in args:
            sub.add_argument(arg)
        if name == "initialise":
            sub.add_argument("--admin", metavar="USER:PASSWORD", help="admin credentials (created if missing)")
        if name == "access-revoked":
            sub.add_argument("--remaining-role", help="the user's remaining role on the domain, if any")
            sub.add_argument("--keep-allows", action="store_true", help="never revoke (People's behaviour)")
    apply = events.add_parser(
        "apply", help="bring dimail to the state a YAML/JSON file declares (idempotent)",
        description="Read what dimail holds, then send only the People events still needed for the domains, "
                    "owners, administrators, mailboxes and aliases FILE declares. Nothing absent from FILE is "
                    "removed. Exit status: 0 done, 1 something failed, 2 some mailboxes stay pending (their "
                    "domain is not enabled yet).",
        epilog="example: provisioner apply examples/people-dev.yaml")
    apply.add_argument("file", help="the declared state (.json, otherwise YAML)")
    apply.add_argument("--dry-run", action="store_true", help="read and print the plan, send nothing")
    apply.add_argument("--admin", metavar="USER:PASSWORD", help="initialise first (bootstrap an empty dimail)")
    return parser


def _credentials(value: str) -> tuple[str, str]:
    user, _, password = value.partition(":")
    return user, password


def _apply(args: argparse.Namespace, provisioner: Provisioner, out: Callable[[str], None]) -> int:
    try:
        desired = load(args.file)
    except DesiredStateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    shown = 0

    def show_calls(calls: list[Call]) -> None:
        nonlocal shown
        if not args.quiet:
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
            provisioner.initialise(admin=_credentials(args.admin))
            show_calls(provisioner.journal)
        out(f"= read {args.file}: {len(desired.domains)} domains")
        report = apply_state(provisioner, desired, progress=show, dry_run=args.dry_run, on_read=show_calls)
    except DimailError as exc:
        show_calls(provisioner.journal[shown:])
        print(f"error: {exc}", file=sys.stderr)
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


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = build_parser().parse_args(argv)
    provisioner = Provisioner(args.url, args.user, args.password, timeout=args.timeout, cache_token=args.cache_token,
                              revoke_allows=not getattr(args, "keep_allows", False))
    if args.event == "apply":
        return _apply(args, provisioner, out)
    method, positional, _ = EVENTS[args.event]
    kwargs: dict[str, Any] = {arg: getattr(args, arg) for arg in positional}
    if args.event == "initialise" and args.admin:
        kwargs["admin"] = _credentials(args.admin)
    if args.event == "access-revoked":
        kwargs["remaining_role"] = args.remaining_role
    code = 0
    try:
        result = getattr(provisioner, method)(**kwargs)
    except DimailError as exc:
        result, code = None, 1
        error = exc
    if not args.quiet:
        for call in provisioner.journal:
            out(str(call))
        writes = len(provisioner.client.writes())
        out(f"-- {len(provisioner.journal)} calls, {writes} writes")
    if code:
        print(f"error: {error}", file=sys.stderr)
    elif result is not None:
        out(json.dumps(_result(result), ensure_ascii=False))
    return code


if __name__ == "__main__":
    sys.exit(main())
