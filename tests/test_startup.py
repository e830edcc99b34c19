"""Start-up loads what every request needs, and the rest when first needed (benchmarks/startup.py times it)."""

from __future__ import annotations

import subprocess
import sys

# Needed only by some requests, some clients, or some commands.
DEFERRED = ("httpx", "uvicorn", "jwt", "cryptography", "fastapi_offline", "sqlite3")


def run(code: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *options, "-c", code], capture_output=True, text=True, timeout=120)


def run_through(code: str, *options: str) -> str:
    """Run `code` in a fresh interpreter, which must get past its last line; what it wrote to stderr."""
    done = run(code + '\nprint("done")\n', *options)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    return done.stderr


def test_importing_the_fake_leaves_out_what_only_some_requests_need():
    code = f"import sys, fake_dimail.fake; print([m for m in {DEFERRED!r} if m in sys.modules])"
    done = run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_route_is_built_by_its_first_request_and_the_document_builds_them_all():
    # In a fresh interpreter: the routes are the modules' own, shared by every app of a process.
    code = """
from fake_dimail import FakeDimail
from fake_dimail.strict_json import LazyRoute

def built():
    return [route.path for route in routes if route.__dict__.get("_arguments") is None]

fake = FakeDimail(seed="people-dev")
routes = [route for route in fake.app.routes if isinstance(route, LazyRoute)]
assert len(routes) > 100 and built() == [], built()
# A fault is checked against the operations' paths and methods, which every route has from the start.
fake.faults.add("POST", "/domains/{domain_name}/mailboxes/{user_name}", 503)
fake.faults.add("GET", "/domains/x.fr", 503).remove()
assert built() == [], built()
fake.faults.clear()
assert fake.client(auth=("admin", "admin")).get("/token/").status_code == 200
assert built() == ["/token/"], built()
# Routing reads only what every route has from the start: a 404 and a 405 build nothing more.
assert fake.client().get("/no/such/path").status_code == 404
assert fake.client().delete("/token/").status_code == 405
assert built() == ["/token/"], built()
# The document is the package's (fake_dimail/openapi_document.py): serving it builds nothing; building it, all.
assert "/domains/{domain_name}/mailboxes/" in fake.app.openapi()["paths"]
assert built() == ["/token/"], built()
from fake_dimail import openapi_document
assert openapi_document.build() == fake.app.openapi()
assert len(built()) == len(routes)
"""
    run_through(code)


def test_threads_reaching_a_route_first_together_build_it_once():
    code = """
import threading
from fake_dimail import FakeDimail

fake = FakeDimail(seed="people-dev")
route = next(r for r in fake.app.routes if getattr(r, "path", None) == "/users/")
assert route.__dict__["_arguments"] is not None
apps, statuses = [], []

def ask():
    statuses.append(fake.client(auth=("admin", "admin")).get("/users/").status_code)
    apps.append(route.app)

threads = [threading.Thread(target=ask) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert statuses == [200] * 8, statuses
assert len({id(app) for app in apps}) == 1
"""
    run_through(code)


def test_building_routes_late_warns_of_nothing():
    """pydantic warns about FastAPI's parameter aliases when an adapter is built outside FastAPI's own filter."""
    code = """
from fake_dimail import FakeDimail
fake = FakeDimail(seed="people-dev")
api = fake.client(auth=("admin", "admin"))
assert api.get("/domains/").status_code == 200
assert api.put("/_fake/state", json=fake.state()).status_code == 200
assert api.get("/openapi.json").status_code == 200
assert api.get("/docs").status_code == 200
"""
    stderr = run_through(code, "-W", "error::UserWarning", "-W", "error::DeprecationWarning")
    assert "Warning" not in stderr.replace("ResourceWarning", "")
