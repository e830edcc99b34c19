"""Requests per second over HTTP, beside a bare FastAPI endpoint on the same server stack.

Starts `fake-dimail serve` and a bare FastAPI app (one route answering the
same JSON, nothing else) under the same uvicorn settings, then drives each
with one keep-alive `http.client` connection. The ratio to the bare endpoint
is the fake's own overhead; the framework is the floor.

    python benchmarks/rates.py [--requests N]
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

from fake_dimail import FakeDimail

# Measured in issue 13 against dimail-api 2024 (FAKE mode, SQLite, one uvicorn process),
# same machine kind, one keep-alive client: the reference the goals are stated against.
REAL_2024 = {"bearer_list": 102.0, "bearer_get": 141.0, "mailbox_create": 5.2, "alias_create": 72.0}

BARE_APP = '''
import sys, json
from fastapi import FastAPI, Response
listing = json.loads(sys.argv[2])
app = FastAPI()

@app.get("/listing")
async def get_listing():
    return listing

@app.post("/create", status_code=201)
async def create(body: dict):
    return {"email": "x@example.fr", "password": "0123456789abcdef"}

import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(url: str, started: float, process: subprocess.Popen[bytes]) -> float:
    while True:
        try:
            httpx.get(url, timeout=1)
            return time.perf_counter() - started
        except httpx.TransportError:
            if process.poll() is not None:
                raise SystemExit(f"server died: {process.stderr.read().decode() if process.stderr else ''}")
            time.sleep(0.01)


def rate(port: int, count: int, request: Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(20):  # warm-up
        method, path, body, headers = request(-1 - i)
        connection.request(method, path, body=body, headers=headers)
        connection.getresponse().read()
    started = time.perf_counter()
    for i in range(count):
        method, path, body, headers = request(i)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status >= 400:
            raise SystemExit(f"{method} {path}: {response.status}")
    connection.close()
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests per figure (default: %(default)s)")
    count = parser.parse_args().requests

    fake_port, bare_port = free_port(), free_port()
    started = time.perf_counter()
    fake_process = subprocess.Popen([sys.executable, "-m", "fake_dimail", "serve", "--port", str(fake_port),
                                     "--seed", "people-dev", "--quiet"], stderr=subprocess.PIPE)
    startup = wait(f"http://127.0.0.1:{fake_port}/openapi.json", started, fake_process)
    base = f"http://127.0.0.1:{fake_port}"
    regie = httpx.Client(base_url=base, auth=("la_regie", "password"))
    regie.post("/domains/", json={"name": "bench.fr", "context_name": "bench.fr", "delivery": "virtual",
                                  "features": ["webmail", "mailbox", "alias"]})
    token = regie.get("/token/").json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    for i in range(5):
        httpx.post(f"{base}/domains/bench.fr/mailboxes/m{i}", headers=bearer,
                   json={"givenName": "M", "surName": str(i), "displayName": f"M {i}"})
    listing = httpx.get(f"{base}/domains/bench.fr/mailboxes/", headers=bearer).json()
    bare_process = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port), json.dumps(listing)],
                                    stderr=subprocess.PIPE)
    wait(f"http://127.0.0.1:{bare_port}/listing", time.perf_counter(), bare_process)
    try:
        json_headers = {"Content-Type": "application/json", **bearer}
        figures = {
            "bare GET": rate(bare_port, count, lambda i: ("GET", "/listing", None, {})),
            "bare POST": rate(bare_port, count, lambda i: ("POST", "/create", b'{"a": 1}', json_headers)),
            "bearer_list": rate(fake_port, count, lambda i: ("GET", "/domains/bench.fr/mailboxes/", None, bearer)),
            "bearer_get": rate(fake_port, count, lambda i: ("GET", "/domains/bench.fr", None, bearer)),
            "basic_users": rate(fake_port, count, lambda i: (
                "GET", "/users/", None,
                {"Authorization": "Basic " + base64.b64encode(b"la_regie:password").decode()})),
            "mailbox_create": rate(fake_port, count, lambda i: (
                "POST", f"/domains/bench.fr/mailboxes/u{i + 100}",
                json.dumps({"givenName": "U", "surName": str(i), "displayName": f"U {i}"}).encode(), json_headers)),
            "alias_create": rate(fake_port, count, lambda i: (
                "POST", "/domains/bench.fr/aliases/",
                json.dumps({"user_name": f"a{i + 100}", "destination": "x@example.org"}).encode(), json_headers)),
        }
    finally:
        for process in (fake_process, bare_process):
            process.terminate()
            process.wait(timeout=10)

    fake = FakeDimail(seed="people-dev")
    fake.add_domain("bench.fr", allowed=["la_regie"])
    in_process = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    http_client_rate = _httpx_rate(count)
    ip_started = time.perf_counter()
    for _ in range(count):
        in_process.get("/domains/bench.fr")
    in_process_rate = count / (time.perf_counter() - ip_started)

    rows = [
        ("Bearer GET /domains/{d}/mailboxes/ (5)", figures["bearer_list"], figures["bare GET"], 0.8,
         REAL_2024["bearer_list"]),
        ("Bearer GET /domains/{d}", figures["bearer_get"], figures["bare GET"], 0.8, REAL_2024["bearer_get"]),
        ("Basic GET /users/", figures["basic_users"], figures["bare GET"], None, None),
        ("mailbox creation (v1 POST)", figures["mailbox_create"], figures["bare POST"], 0.6,
         REAL_2024["mailbox_create"]),
        ("alias creation", figures["alias_create"], figures["bare POST"], 0.6, REAL_2024["alias_create"]),
    ]
    print(f"{'over HTTP, one keep-alive client':<40} {'req/s':>8} {'÷ bare':>7} {'goal':>6} {'× real 2024':>12}")
    print(f"{'bare FastAPI GET / POST (same stack)':<40} {figures['bare GET']:8.0f} / {figures['bare POST']:.0f}")
    for name, value, bare, goal, real in rows:
        ratio = value / bare
        goal_text = f"≥{goal}" + ("" if ratio >= goal else " NO") if goal else "-"
        real_text = f"{value / real:.1f}×" if real else "-"
        print(f"{name:<40} {value:8.0f} {ratio:7.2f} {goal_text:>6} {real_text:>12}")
    print(f"in-process fake.client() Bearer GET /domains/{{d}}: {in_process_rate:.0f} req/s "
          f"({in_process_rate / http_client_rate:.1f}× httpx over HTTP, goal ≥1.5)")
    print(f"start-up: `fake-dimail serve` answering after {startup:.2f} s (goal ≤0.8 s)")
    return 0


def _httpx_rate(count: int) -> float:
    """httpx over HTTP against a fresh server, for the in-process comparison with the same library."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "fake_dimail", "serve", "--port", str(port),
                                "--seed", "people-dev", "--quiet"], stderr=subprocess.PIPE)
    try:
        wait(f"http://127.0.0.1:{port}/openapi.json", time.perf_counter(), process)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=("la_regie", "password"))
        client.post("/domains/", json={"name": "bench.fr", "context_name": "bench.fr", "delivery": "virtual",
                                       "features": ["webmail", "mailbox", "alias"]})
        client.auth = None
        client.headers["Authorization"] = "Bearer " + client.get("/token/", auth=("la_regie", "password")).json()[
            "access_token"]
        for _ in range(20):
            client.get("/domains/bench.fr")
        started = time.perf_counter()
        for _ in range(count):
            client.get("/domains/bench.fr")
        return count / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
