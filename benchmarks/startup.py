"""What starting the fake costs: importing it in a fresh interpreter, and `fake-dimail serve` until its first answer.

    .venv/bin/python benchmarks/startup.py [--runs N]

Import: `import fake_dimail.fake` (what `FakeDimail` needs) timed inside a new
interpreter, the interpreter's own start-up left out. Serve: from starting
`fake-dimail serve --seed people-dev` to the first 200 of `GET /token/` (the
first call People makes), polled every 5 ms. Bytecode is cached as in an
installed package (in a temporary PYTHONPYCACHEPREFIX, after a first run left
out). Medians of N runs, wall clock;
the goals are for a quiet machine. Beside each, the CPU time the fake used
(on Linux for serve): on a busy machine, the wall clock also counts the
time spent waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

import goals

IMPORT_GOAL_S = 0.5
SERVE_GOAL_S = 0.8
IMPORT = ("import time; t, c = time.perf_counter(), time.process_time(); import fake_dimail.fake; "
          "print(time.perf_counter() - t, time.process_time() - c)")


# The children's environment: compiled modules cached, as pip leaves an installed package.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def import_seconds() -> tuple[float, float]:
    """Wall and CPU seconds of the import."""
    out = subprocess.run([sys.executable, "-c", IMPORT], check=True, capture_output=True, text=True, env=ENV).stdout
    wall, cpu = map(float, out.split())
    return wall, cpu


def cpu_seconds(pid: int) -> float:
    """CPU seconds process `pid` used so far (Linux's /proc; NaN elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_seconds() -> tuple[float, float]:
    """Wall seconds from the start to the first answer, and the CPU seconds the server used by then."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/token/"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "fake_dimail", "serve", "--port", str(port), "--seed", "people-dev", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV,
    )
    try:
        with httpx.Client(auth=("admin", "admin"), timeout=5) as client:
            while True:
                try:
                    if client.get(url).status_code == 200:
                        return time.perf_counter() - started, cpu_seconds(process.pid)
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError(process.stderr.read().decode() if process.stderr else "server died")
                if time.perf_counter() - started > 30:
                    raise RuntimeError("no answer within 30 s")
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait(timeout=10)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each measure (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        ENV["PYTHONPYCACHEPREFIX"] = cache
        serve_seconds(), import_seconds()  # compiles and caches every module
        imports = [import_seconds() for _ in range(args.runs)]
        serves = [serve_seconds() for _ in range(args.runs)]
    for name, samples, goal in [("import fake_dimail.fake", imports, IMPORT_GOAL_S),
                                ("fake-dimail serve: start to first answer", serves, SERVE_GOAL_S)]:
        median = statistics.median(wall for wall, _ in samples)
        cpu = statistics.median(cpu for _, cpu in samples)
        cells = " ".join(f"{wall:.2f}" for wall, _ in samples)
        print(f"{name}: median {median:.2f} s, CPU {cpu:.2f} s (goal ≤ {goal} s) {verdict(median <= goal)}"
              f"   runs: {cells}")
        goals.record(name, f"{median:.2f} s", f"≤ {goal} s", median <= goal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
