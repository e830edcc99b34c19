"""The command lines of `fake-dimail record` and `fake-dimail replay`, light enough for every start of the CLI:
their modules (record.py, replay.py) are imported only when one of them runs."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from collections.abc import Callable, Iterable
from typing import Any

from .config import Settings


def settings_from(args: argparse.Namespace) -> Settings:
    """The fake's Settings from `serve`'s behaviour options, wherever they were given."""
    names = {f.name for f in dataclasses.fields(Settings)} - {"control_token", "state_file", "request_log_level"}
    given = {name: getattr(args, name) for name in names if hasattr(args, name)}
    if hasattr(args, "dns"):
        given["dns_auto"] = args.dns == "auto"
    return Settings(**given)


def behaviour_actions(serve: argparse.ArgumentParser) -> list[argparse.Action]:
    """`serve`'s options that make the fake behave otherwise (seed, secret, switches, DNS), to give them to
    the commands that build a fake of their own: every option named after a `Settings` field, plus
    `--seed` and `--dns`; not those about serving (address, state file, control token, logging)."""
    names = ({f.name for f in dataclasses.fields(Settings)} | {"seed", "dns"}) - {"control_token", "state_file"}
    return [a for a in serve._actions if a.dest in names]


def _add_behaviour(parser: argparse.ArgumentParser, actions: Iterable[argparse.Action]) -> None:
    group = parser.add_argument_group("the fake's behaviour (as `fake-dimail serve` takes it)")
    for action in actions:
        group._add_action(action)


def _run(module: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module, __package__).main(args))

    return run


def _credentials(value: str) -> tuple[str, str]:
    user, colon, password = value.partition(":")
    if not colon or not user:
        raise argparse.ArgumentTypeError(f"{value!r} is not USER:PASSWORD")
    return user, password


def add_record(commands: Any, behaviour: list[argparse.Action], port: Callable[[str], int],
               base: Callable[[str], str]) -> None:
    """`port`, `base`: serve's validators of a port number and of a scheme://host[:port]."""
    record = commands.add_parser(
        "record", help="record the exchanges with a dimail through a reverse proxy",
        description="Serve a reverse proxy in front of --upstream: point People, the provisioner or the contract "
        "suite at it; every exchange is forwarded unchanged and written to a new file in --out, secrets replaced by "
        "pseudonyms. Stop it with Ctrl-C. `fake-dimail replay` plays the file again on a fake.")
    record.add_argument("--upstream", required=True, type=base, metavar="URL",
                        help="the dimail to forward to, as scheme://host[:port]")
    record.add_argument("--out", required=True, metavar="DIR", help="directory of the recordings (created if missing)")
    record.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    record.add_argument("--port", type=port, default=8002, help="port to listen on (default: %(default)s)")
    record.add_argument("--upstream-admin", type=_credentials, metavar="USER:PASSWORD",
                        help="an admin of the upstream, to read GET /system/version for the recording's header "
                        "(without it: the version its /openapi.json declares)")
    record.add_argument("--upstream-jwt-secret", metavar="SECRET",
                        help="the upstream's JWT secret: a token no recorded answer issued that does not verify "
                        "with it is labelled other-secret (default: none, no token is)")
    record.add_argument("--compare", action="store_true",
                        help="shadow mode: replay each exchange at once on an in-process fake built with the "
                        "behaviour options below, and print every difference")
    record.add_argument("--quiet", action="store_true", help="do not print each exchange")
    _add_behaviour(record, behaviour)
    record.set_defaults(run=_run(".record"))


def add_replay(commands: Any, behaviour: list[argparse.Action]) -> None:
    replay = commands.add_parser(
        "replay", help="replay recorded exchanges on a fresh in-process fake and report the differences",
        description="Replay each recording (a file, or a directory's *.jsonl) on a fresh in-process fake and say, "
        "per exchange, same, differs or skipped. Exit status: 0 all the same, 3 only differences explained by "
        "the fake's registered guesses, 1 an unexplained difference, 2 a recording that cannot be read.")
    replay.add_argument("recordings", nargs="+", metavar="DIR_OR_FILE", help="recordings (JSON Lines) or directories")
    replay.add_argument("--report", metavar="FILE", help="also write the report as JSON to FILE")
    replay.add_argument("--differences-only", action="store_true", help="print only the exchanges that differ")
    _add_behaviour(replay, behaviour)
    replay.set_defaults(run=_run(".replay"))
