"""Requests per second over HTTP, beside a bare FastAPI endpoint on the same server stack.

Starts `fake-dimail serve` and a bare FastAPI app (one GET answering the same
JSON as the fake's listing, one POST answering a fixed body: nothing else)
under the same uvicorn settings, and drives each with one keep-alive
`http.client` connection. Rounds alternate between the two servers and the
best round counts, so a busy machine slows both alike; the ratio to the bare
endpoint is the fake's own overhead, the framework being the floor.

    python benchmarks/rates.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

import goals
from fake_dimail import FakeDimail

# Measured in issue 13 against dimail-api 2024 (its FAKE mode, SQLite, one uvicorn process) on
# the same kind of machine with one keep-alive client: what the "× real 2024" column divides by.
REAL_2024 = {"bearer_list": 102.0, "bearer_get": 141.0, "basic_users": 4.7, "mailbox_create": 5.2,
             "alias_create": 72.0}

BARE_APP = '''
import json, sys
import uvicorn
from fastapi import FastAPI
listing = json.loads(sys.argv[2])
app = FastAPI()

@app.get("/listing")
async def get_listing():
    return listing

@app.post("/create", status_code=201)
async def create(body: dict):
    return {"email": "x@example.fr", "password": "0123456789abcdef"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
'''

Request = tuple[str, str, "bytes | None", dict[str, str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(url: str, process: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    while True:
        try:
            httpx.get(url, timeout=1)
            return time.perf_counter() - started
        except httpx.TransportError:
            if process.poll() is not None:
                raise SystemExit(f"server died: {process.stderr.read().decode() if process.stderr else ''}")
            time.sleep(0.005)


def round_rate(port: int, count: int, start: int, request: Callable[[int], Request]) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    began = time.perf_counter()
    for i in range(start, start + count):
        method, path, body, headers = request(i)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status >= 400:
            raise SystemExit(f"{method} {path}: {response.status}")
    connection.close()
    return count / (time.perf_counter() - began)


def slowest_ms(port: int, requests: list[Request]) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    worst = 0.0
    for method, path, body, headers in requests:
        began = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        worst = max(worst, (time.perf_counter() - began) * 1000)
        if response.status >= 400:
            raise SystemExit(f"{method} {path}: {response.status} {response.reason}")
    connection.close()
    return worst


def serve_fake() -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "fake_dimail", "serve", "--port", str(port),
                                "--seed", "people-dev", "--quiet"], stderr=subprocess.PIPE)
    return process, port, wait(f"http://127.0.0.1:{port}/openapi.json", process)


def setup(base: str) -> dict[str, str]:
    regie = httpx.Client(base_url=base, auth=("la_regie", "password"))
    for domain in ("bench.fr", "created.fr"):  # created.fr takes the creations: bench.fr's listing stays 5 long
        regie.post("/domains/", json={"name": domain, "context_name": domain, "delivery": "virtual",
                                      "features": ["webmail", "mailbox", "alias"]})
    bearer = {"Authorization": f"Bearer {regie.get('/token/').json()['access_token']}"}
    for i in range(5):
        httpx.post(f"{base}/domains/bench.fr/mailboxes/m{i}", headers=bearer,
                   json={"givenName": "M", "surName": str(i), "displayName": f"M {i}"})
    return bearer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per figure, best counts (default: %(default)s)")
    args = parser.parse_args()

    fake_process, fake_port, startup = serve_fake()
    base = f"http://127.0.0.1:{fake_port}"
    bearer = setup(base)
    listing = httpx.get(f"{base}/domains/bench.fr/mailboxes/", headers=bearer).json()
    bare_port = free_port()
    bare_process = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port), json.dumps(listing)],
                                    stderr=subprocess.PIPE)
    wait(f"http://127.0.0.1:{bare_port}/listing", bare_process)
    json_bearer = {"Content-Type": "application/json", **bearer}
    basic = {"Authorization": "Basic " + base64.b64encode(b"la_regie:password").decode()}
    fake_requests: dict[str, Callable[[int], Request]] = {
        "bearer_list": lambda i: ("GET", "/domains/bench.fr/mailboxes/", None, bearer),
        "bearer_get": lambda i: ("GET", "/domains/bench.fr", None, bearer),
        "basic_users": lambda i: ("GET", "/users/", None, basic),
        "mailbox_create": lambda i: ("POST", f"/domains/created.fr/mailboxes/u{i}", json.dumps(
            {"givenName": "U", "surName": str(i), "displayName": f"U {i}"}).encode(), json_bearer),
        "alias_create": lambda i: ("POST", "/domains/created.fr/aliases/", json.dumps(
            {"user_name": f"a{i}", "destination": "x@example.org"}).encode(), json_bearer),
    }
    bare_get = lambda i: ("GET", "/listing", None, {})  # noqa: E731
    bare_post = lambda i: ("POST", "/create", b'{"a": 1}', {"Content-Type": "application/json"})  # noqa: E731
    try:
        best = {name: 0.0 for name in [*fake_requests, "bare GET", "bare POST"]}
        for r in range(args.rounds):
            start = r * args.requests
            best["bare GET"] = max(best["bare GET"], round_rate(bare_port, args.requests, start, bare_get))
            best["bare POST"] = max(best["bare POST"], round_rate(bare_port, args.requests, start, bare_post))
            for name, request in fake_requests.items():
                best[name] = max(best[name], round_rate(fake_port, args.requests, start, request))
        perms = json.dumps({"perms": [f"+p{i}" for i in range(40_000)]}).encode()
        description = json.dumps({"user_name": "big", "destination": "x@example.org",
                                  "description": "d" * 900_000}).encode()
        big = slowest_ms(fake_port, [
            ("POST", "/users/", json.dumps({"name": "big", "password": "p", "is_admin": False,
                                            "perms": []}).encode(),
             {"Content-Type": "application/json", **basic}),
            ("PATCH", "/users/big", perms, {"Content-Type": "application/json",
                                            "Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}),
            ("POST", "/domains/bench.fr/aliases/", description, json_bearer),
        ])
    finally:
        for process in (fake_process, bare_process):
            process.terminate()
            process.wait(timeout=10)

    in_process, over_http = in_process_vs_http(args.requests * args.rounds)
    print(f"{'over HTTP, one keep-alive client, best of ' + str(args.rounds):<44} {'req/s':>7} {'÷ bare':>7} "
          f"{'goal':>6} {'× real 2024':>12}")
    print(f"{'bare FastAPI endpoint, GET / POST':<44} {best['bare GET']:7.0f} / {best['bare POST']:.0f}")
    rows = [("Bearer GET /domains/{d}/mailboxes/ (5)", "bearer_list", "bare GET", 0.8),
            ("Bearer GET /domains/{d}", "bearer_get", "bare GET", 0.8),
            ("Basic GET /users/", "basic_users", "bare GET", None),
            ("mailbox creation (v1 POST)", "mailbox_create", "bare POST", 0.6),
            ("alias creation", "alias_create", "bare POST", 0.6)]
    for label, name, bare, goal in rows:
        value, ratio, real = best[name], best[name] / best[bare], best[name] / REAL_2024[name]
        goal_text = f"≥{goal}" if goal else "-"
        print(f"{label:<44} {value:7.0f} {ratio:7.2f} {goal_text:>6} {real:11.1f}×")
        if goal:
            goals.record(f"{label} ÷ bare FastAPI", f"{ratio:.2f}×", f"≥ {goal}×", ratio >= goal)
        if name in ("bearer_list", "bearer_get"):
            goals.record(f"{label} ÷ real dimail 2024", f"{real:.1f}×", "≥ 10×", real >= 10)
    print(f"in-process fake.client(), Bearer GET /domains/{{d}}: {in_process:.0f} req/s, "
          f"httpx over HTTP: {over_http:.0f} req/s ({in_process / over_http:.1f}×)")
    goals.record("in-process ÷ HTTP, same client library (httpx)", f"{in_process / over_http:.1f}×", "≥ 1.5×",
                 in_process / over_http >= 1.5)
    print(f"slowest of three requests with a body under 1 MB (40,000 +perms, a 900 KB alias description): "
          f"{big:.0f} ms")
    goals.record("slowest request with a body under 1 MB", f"{big:.0f} ms", "≤ 100 ms", big <= 100)
    print(f"start-up: `fake-dimail serve` answering {startup:.2f} s after it was spawned")
    goals.record("`fake-dimail serve` start to first answer", f"{startup:.2f} s", "≤ 0.8 s", startup <= 0.8)
    return 0


def in_process_vs_http(count: int) -> tuple[float, float]:
    """The same httpx client code, in-process and over HTTP, best of three rounds each."""
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("bench.fr", allowed=["la_regie"])
    in_process = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    process, port, _ = serve_fake()
    try:
        over_http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=setup(f"http://127.0.0.1:{port}"))

        def rate(client: httpx.Client) -> float:
            began = time.perf_counter()
            for _ in range(count // 3):
                client.get("/domains/bench.fr")
            return count // 3 / (time.perf_counter() - began)

        rates = [(rate(in_process), rate(over_http)) for _ in range(3)]
    finally:
        process.terminate()
        process.wait(timeout=10)
    return max(r[0] for r in rates), max(r[1] for r in rates)


if __name__ == "__main__":
    sys.exit(main())
