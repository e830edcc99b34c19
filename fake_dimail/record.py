"""`fake-dimail record`: a reverse proxy in front of a dimail (or a fake) that writes every exchange
in the transcript format (`fake_dimail.transcript`), secrets replaced by pseudonyms.

Requests and answers pass unchanged — status, headers, body, 307s included (never followed) —
but for the hop-by-hop headers and one rewrite: a `Location` pointing at the upstream points at
the proxy instead (as nginx's `proxy_redirect` does), so a client following a slash redirect
comes back through the proxy and that request is recorded too. The file keeps the upstream's own
`Location`. With `--compare`, each exchange is also replayed at once on an in-process fake
(`fake_dimail.replay`) and every difference printed as it happens (shadow mode).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import socket
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import httpx

from . import __version__
from .record_cli import settings_from
from .replay import Replayer
from .transcript import Redactor, line

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
                        b"proxy-authenticate", b"proxy-authorization", b"proxy-connection"})
UPSTREAM_TIMEOUT = 60.0  # dimail's /check waits ~5.5 s per unanswered DNS lookup


def probe(upstream: str, admin: tuple[str, str] | None) -> dict[str, Any]:
    """What the recording's header says of the upstream; SystemExit (one line) when nothing answers."""
    header: dict[str, Any] = {"upstream": upstream, "upstream_version": None, "upstream_version_from": None}
    with httpx.Client(base_url=upstream, timeout=10, follow_redirects=False) as client:
        try:
            answer = client.get("/system/version", auth=admin)
        except httpx.HTTPError as exc:
            raise SystemExit(f"fake-dimail record: error: nothing answers at {upstream} ({exc.__class__.__name__}: "
                             f"{exc}): is dimail running there (a fake: `fake-dimail serve`)?") from None
        version = _field(answer, "version")
        if version is not None:
            header.update(upstream_version=version, upstream_version_from="GET /system/version")
        else:
            version = _field(client.get("/openapi.json"), "info", "version")
            if version is not None:
                header.update(upstream_version=version, upstream_version_from="GET /openapi.json" + (
                    "" if admin else " (GET /system/version needs an admin: --upstream-admin)"))
        index = client.get("/_fake/")
        if _field(index, "fake") == "fake-dimail":
            body = index.json()
            header["upstream_fake"] = {"version": body.get("version"), "imitates": body.get("imitates"),
                                       "settings": body.get("settings")}
    return header


def _field(answer: httpx.Response, *keys: str) -> Any:
    if answer.status_code != 200:
        return None
    try:
        value = answer.json()
    except ValueError:
        return None
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


class Proxy:
    """The ASGI app of the recorder: forward, answer, then write the line (and replay it in shadow mode)."""

    def __init__(self, upstream: str, out: TextIO, redactor: Redactor, shadow: Replayer | None = None,
                 log: TextIO = sys.stderr, quiet: bool = False) -> None:
        self.upstream = upstream
        self.out = out
        self.redactor = redactor
        self.shadow = shadow
        self.log = log
        self.quiet = quiet
        self.line = 1  # the header's
        self.recorded = 0
        self.differing = 0
        self._client: httpx.AsyncClient | None = None
        self._lock: asyncio.Lock | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, follow_redirects=False)
            self._lock = asyncio.Lock()
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await self._forward(scope, b"".join(chunks), send)

    async def _forward(self, scope: dict[str, Any], body: bytes, send: Any) -> None:
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        target = raw_path.decode("latin-1") + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"]
                                               else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP | {b"host", b"content-length"}]
        method = scope["method"]
        assert self._client is not None and self._lock is not None
        started = time.perf_counter()
        error = None
        try:
            request = self._client.build_request(method, httpx.URL(self.upstream + target), headers=headers,
                                                 content=body)
            response = await self._client.send(request, stream=True)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        if error is not None:
            status, answer_headers = 502, [(b"content-type", b"text/plain; charset=utf-8")]
            raw = f"fake-dimail record: no answer from the upstream {self.upstream} ({error})".encode()
            answer_headers.append((b"content-length", str(len(raw)).encode()))
            recorded_headers: list[tuple[bytes, bytes]] = []
        else:
            status, recorded_headers = response.status_code, list(response.headers.raw)
            answer_headers = [(k, self._location(v, scope) if k.lower() == b"location" else v)
                              for k, v in recorded_headers if k.lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": status, "headers": answer_headers})
        await send({"type": "http.response.body", "body": raw})
        async with self._lock:
            row = self.redactor.exchange(
                method, target, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]], body,
                None if error else status, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in recorded_headers],
                _decoded(raw, recorded_headers), elapsed, upstream_error=error)
            self.out.write(line(row))
            self.out.flush()
            self.line += 1
            self.recorded += 1
            if not self.quiet:
                self._print(row, elapsed)
            if self.shadow is not None:
                await self._compare(row)

    async def _compare(self, row: dict[str, Any]) -> None:
        """Shadow mode: the exchange replayed at once on the in-process fake, its differences printed."""
        assert self.shadow is not None
        try:
            result = await asyncio.to_thread(self.shadow.play, self.line, row)
        except Exception as exc:  # the recording goes on whatever the shadow fake does
            self._print_text(f"  shadow {self.line} not replayed: {exc.__class__.__name__}: {exc}")
            return
        if result.verdict == "differs":
            self.differing += 1
            self._print_text("  shadow " + result.line_text().lstrip())

    def _location(self, value: bytes, scope: dict[str, Any]) -> bytes:
        location = value.decode("latin-1")
        if not location.startswith(self.upstream + "/"):
            return value
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if not host:
            server = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}{location[len(self.upstream):]}".encode("latin-1")

    def _print(self, row: dict[str, Any], elapsed: float) -> None:
        status = "---" if row["status"] is None else row["status"]
        self._print_text(f"{self.line:>5} {row['method']:<6} {row['path']:<44} {status:>3} {elapsed:>6.0f} ms"
                         + (f"  ({row['upstream_error']})" if "upstream_error" in row else ""))

    def _print_text(self, text: str) -> None:
        print(text, file=self.log, flush=True)


def _decoded(raw: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    encoding = dict((k.lower(), v) for k, v in headers).get(b"content-encoding", b"").strip().lower()
    try:
        if encoding in (b"gzip", b"x-gzip"):
            return zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        if encoding == b"deflate":
            return zlib.decompress(raw)
    except zlib.error:
        pass
    return raw


def listen(host: str, port: int) -> socket.socket:
    """The bound socket, or SystemExit with one line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        busy = exc.errno == errno.EADDRINUSE
        raise SystemExit("fake-dimail record: error: " + (
            f"port {port} on {host} is already in use: pick another with --port" if busy else
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another --host or --port")) from None
    return sock


def recording_file(out: str) -> tuple[Path, TextIO]:
    directory = Path(out)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            path = directory / (f"recording-{stamp}.jsonl" if n == 1 else f"recording-{stamp}-{n}.jsonl")
            try:
                return path, path.open("x", encoding="utf-8")
            except FileExistsError:
                continue
    except OSError as exc:
        raise SystemExit(f"fake-dimail record: error: cannot write in --out {out} ({exc.strerror or exc})") from None
    raise SystemExit(f"fake-dimail record: error: too many recordings named recording-{stamp}* in {out}")


def main(args: argparse.Namespace) -> int:
    sock = listen(args.host, args.port)
    header = probe(args.upstream, args.upstream_admin)
    path, out = recording_file(args.out)
    header = {"recorder": f"fake-dimail {__version__}", "started": datetime.now(UTC).isoformat(timespec="seconds"),
              **header}
    out.write(line({"recording": header}))
    out.flush()
    shadow = Replayer(settings_from(args), args.seed) if args.compare else None
    proxy = Proxy(args.upstream, out, Redactor(args.upstream_jwt_secret), shadow, quiet=args.quiet)
    host = f"[{args.host}]" if ":" in args.host else args.host
    version = header["upstream_version"] or "version unknown"
    print(f"fake-dimail record on http://{host}:{args.port}/ -> {args.upstream} ({version}); recording to {path}"
          + ("; shadow fake: differences are printed" if shadow else "") + " — Ctrl-C stops",
          file=sys.stderr, flush=True)
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(proxy, access_log=False, log_level="warning", lifespan="on"))
    try:
        with sock:
            server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops gracefully on Ctrl-C, then raises it again: the usual way out
        pass
    finally:
        out.close()
        if shadow is not None:
            shadow.close()
    print(f"fake-dimail record: {proxy.recorded} exchanges recorded in {path}"
          + (f"; {proxy.differing} differed on the shadow fake" if shadow else ""), file=sys.stderr, flush=True)
    return 0
