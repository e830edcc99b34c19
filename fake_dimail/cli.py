"""`fake-dimail serve`: the fake as a standalone server, a drop-in for the dimail container."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import signal
import socket
import sys
from urllib.parse import urlsplit

from . import __version__, record_cli
from .config import DEFAULT_JWT_SECRET, DEFAULT_MAX_BODY, Settings
from .seeds import SEEDS

# The app (FastAPI, the models, the backend: 0.5 s) is imported once the command line is read and the port
# taken: `--help`, a usage error or a port in use answer at once.


def _port(value: str) -> int:
    if not (value.isdigit() and 1 <= int(value) <= 65535):
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1-65535)")
    return int(value)


def _base(value: str) -> str:
    parts = urlsplit(value)
    try:
        parts.port  # a port outside 1-65535, or not a number, raises here
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
        raise argparse.ArgumentTypeError(f"{value!r} is not scheme://host[:port] (for instance https://dimail.example)")
    return value


def _token(value: str) -> str:
    if not value.strip():  # an unset $TOKEN: authentication would be silently off
        raise argparse.ArgumentTypeError("the control token must not be empty")
    return value


_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}


def _size(value: str) -> int:
    number, unit = value[:-1], value[-1:].upper()
    if unit not in _UNITS or unit == "":
        number, unit = value, ""
    if not (number.isdigit() and int(number) > 0):
        raise argparse.ArgumentTypeError(f"{value!r} is not a size in bytes (for instance 16M, 512K or 1000000)")
    return int(number) * _UNITS[unit]


def _listen(host: str, port: int) -> socket.socket:
    """The bound socket, or SystemExit with one line: the banner must not announce a server that cannot start."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise SystemExit(f"fake-dimail: error: cannot listen on {host} ({exc}): give one of this machine's "
                         "addresses with --host (or HOST= with make run)") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(f"fake-dimail: error: port {port} on {host} is already in use (another fake-dimail, or "
                             "dimail's container?): stop it, or pick another with --port (PORT= with make run)") \
                from None
        raise SystemExit(f"fake-dimail: error: cannot listen on {host}:{port} ({exc.strerror}): "
                         "choose another --host or --port") from None
    return sock


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fake-dimail", description="A faithful fake of the dimail API (v0.8.2).")
    parser.add_argument("--version", action="version", version=f"fake-dimail {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the fake over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8001, help="port to listen on (default: %(default)s)")
    serve.add_argument(
        "--seed",
        choices=sorted(SEEDS),
        default="empty",
        help="API users to start with; people-dev = admin/admin and la_regie/password "
        "(default: %(default)s, an empty dimail in bootstrap mode)",
    )
    serve.add_argument("--jwt-secret", default=DEFAULT_JWT_SECRET,
                       help="HS256 secret of the tokens (default: the fake's own; clients never read it; a short one, "
                       "such as People's dev secret, signs as dimail signs with it, and PyJWT warns nobody)")
    serve.add_argument("--bearer-401", action="store_true",
                       help="answer a missing/non-Bearer Authorization with 401, as FastAPI >= 0.122 does")
    serve.add_argument("--crash-on-odd-tokens", action="store_true",
                       help="answer 500 to tokens without exp/sub and to 'bearer'/'BEARER', as dimail does")
    serve.add_argument("--redirect-base", metavar="URL", type=_base,
                       help="send slash redirects to this scheme://host (emulates a TLS-terminating proxy)")
    serve.add_argument("--dns", choices=("empty", "auto"), default="empty",
                       help="simulated DNS of a new domain: empty (like a real new domain: every check fails "
                       "until records are published) or auto (its /spec records are published at creation, "
                       "so it becomes valid after a check and a fix) (default: %(default)s)")
    serve.add_argument("--certs-on-check", action="store_true",
                       help="issue a domain's certificate during /check as soon as its CNAMEs are right "
                       "(default: only /fix issues it, as People expects)")
    serve.add_argument("--control-token", metavar="TOKEN", type=_token,
                       help="make /_fake/ require 'Authorization: Bearer TOKEN' (or the dashboard's login cookie); "
                       "default: no authentication, fine on 127.0.0.1")
    serve.add_argument("--allowed-host", metavar="NAME", action="append", default=[],
                       help="without --control-token, /_fake/ answers only requests addressed (Host) to localhost, "
                       "a loopback address or --host: also to NAME (repeatable), e.g. the compose service name")
    serve.add_argument("--state", metavar="FILE",
                       help="keep the state in this SQLite file across restarts: loaded at start (it then wins "
                       "over --seed), created if missing, every acknowledged write in it before the answer")
    serve.add_argument("--max-body", metavar="SIZE", type=_size, default=DEFAULT_MAX_BODY,
                       help="answer 413 to a request body beyond SIZE bytes (K, M, G: binary multiples; "
                       "default: 16M; dimail itself sets no limit)")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    # `record` and `replay` build fakes of their own: they take serve's behaviour options.
    behaviour = record_cli.behaviour_actions(serve)
    record_cli.add_record(commands, behaviour, _port, _base)
    record_cli.add_replay(commands, behaviour)
    return parser


def exposure_warning(address: str, seed: str, control_token: str | None) -> str | None:
    """One line naming what a listener beyond this machine exposes; None on a loopback address."""
    try:
        if ipaddress.ip_address(address.split("%")[0]).is_loopback:
            return None
    except ValueError:
        pass
    exposed = []
    if control_token is None:
        exposed.append("the /_fake/ control plane without authentication (anyone can reset, load or steer it; "
                       "give --control-token TOKEN)")
    if seed == "empty":
        exposed.append("the empty-database bootstrap (anyone's first POST /users/ creates an administrator)")
    else:
        exposed.append(f"the {seed} accounts and their well-known passwords")
    return f"fake-dimail: warning: listening on {address}, reachable from other machines: it exposes " + \
        " and ".join(exposed)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        return int(args.run(args))
    sock = _listen(args.host, args.port)
    import uvicorn

    from .backend.persistence import StateFileError, StateWriteError
    from .fake import FakeDimail
    from .faults import uvicorn_abort
    from .shutdown import shutdown_of

    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(message)s",
                        stream=sys.stderr)
    settings = Settings(
        jwt_secret=args.jwt_secret,
        bearer_401=args.bearer_401,
        crash_on_odd_tokens=args.crash_on_odd_tokens,
        redirect_base=args.redirect_base,
        dns_auto=args.dns == "auto",
        certs_on_check=args.certs_on_check,
        request_log_level=logging.INFO,
        control_token=args.control_token,
        state_file=args.state,
        max_body=args.max_body,
        allowed_hosts=(args.host, *args.allowed_host),
    )
    try:
        fake = FakeDimail(settings=settings, seed=args.seed)
    except StateFileError as error:
        raise SystemExit(f"fake-dimail: error: --state {error}") from None
    except StateWriteError as error:  # the seed, on a disk that took the new file and then filled up
        raise SystemExit(f"fake-dimail: error: --state {args.state}: {error.detail}") from None
    users = ", ".join(u.name for u in SEEDS[args.seed]) or "none (bootstrap mode)"
    if args.state:  # the file's users, not the seed's
        names = list(fake.backend.users)
        users = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "") + \
            f" (state: {args.state})" if names else f"none (bootstrap mode; state: {args.state})"
    host = f"[{args.host}]" if ":" in args.host else args.host
    # guess G-root-404: `/` stays dimail's 404: a redirect there would answer clients probing dimail's root with
    # a page of the fake's.
    print(f"fake-dimail {__version__} on http://{host}:{args.port}/ — users: {users} — DNS: {args.dns} "
          "— control: /_fake/ (dashboard /_fake/ui) — docs: /docs",
          file=sys.stderr, flush=True)
    warning = exposure_warning(sock.getsockname()[0], args.seed, args.control_token)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(fake.app, access_log=False, log_level="warning"))
    fake.faults.abort = uvicorn_abort(server)
    shutdown_of(fake.app).stop_server = lambda: setattr(server, "should_exit", True)
    if args.state:
        # uvicorn stops gracefully, then raises SIGTERM again: here, so that the file is closed
        # (its write-ahead log folded in) and `docker stop` leaves one self-contained file.
        signal.signal(signal.SIGTERM, _terminated)
    try:
        with sock:
            server.run(sockets=[sock])
    finally:
        fake.close()
    if fake.stopped:
        print("fake-dimail: stopped by GET /system/shutdown", file=sys.stderr, flush=True)
    return 0


def _terminated(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)
