"""The standalone server as People's dev stack uses it: its set-up twice, the image's commands, the host warning.

This machine cannot build container images, so the Dockerfile's command line
and health check are run here, outside a container, against a started server.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import requests
import yaml

from fake_dimail.cli import exposure_warning
from tests.conftest import _free_port, start_server

ROOT = Path(__file__).resolve().parents[1]
LA_REGIE = {"name": "la_regie", "password": "password", "is_admin": False,
            "perms": ["new_domain", "create_users", "manage_users"]}
# The domains of People's dev fixtures that setup_dimail_db posts (PEOPLE.md §3, step 4).
FIXTURE_DOMAINS = ("test.domain.com", "ministere.example.gouv.fr")


def setup_dimail_db(url: str) -> list[tuple[str, int]]:
    """People's `setup_dimail_db` calls (PEOPLE.md §3): its own requests, auth tuples, 10 s timeout."""
    answers = []
    calls = [("/users/", ("", ""), {"name": "admin", "password": "admin", "is_admin": True, "perms": []}),
             ("/users/", ("admin", "admin"), LA_REGIE)]
    calls += [("/domains/", ("la_regie", "password"),
               {"name": d, "context_name": d, "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"})
              for d in FIXTURE_DOMAINS]
    for path, auth, body in calls:
        response = requests.post(url + path, json=body, auth=auth, timeout=10)
        answers.append((path, response.status_code))
        if response.status_code != 201:
            break  # the command stops at the first refusal
    return answers


def test_peoples_setup_twice_with_a_reset_between():
    process, url = start_server("--seed", "empty", "--dns", "auto")
    try:
        done = [("/users/", 201), ("/users/", 201)] + [("/domains/", 201)] * len(FIXTURE_DOMAINS)
        assert setup_dimail_db(url) == done
        assert setup_dimail_db(url) == [("/users/", 403)]  # what a replay met before /_fake/reset
        reset = requests.post(url + "/_fake/reset", timeout=10)
        assert reset.status_code == 200
        assert {k: reset.json()["counts"][k] for k in ("users", "domains", "allows")} == {
            "users": 0, "domains": 0, "allows": 0}
        assert setup_dimail_db(url) == done
        domains = requests.get(url + "/domains/", auth=("admin", "admin"), timeout=10).json()
        assert sorted(d["name"] for d in domains) == sorted(FIXTURE_DOMAINS)
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- the image: Dockerfile and People's compose override ---------------------------------


def dockerfile() -> dict[str, list[str]]:
    """ENTRYPOINT, CMD and the HEALTHCHECK's CMD (exec forms), FROM and USER of the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word in ("ENTRYPOINT", "CMD"):
            found[word] = json.loads(rest)
        elif word == "HEALTHCHECK":
            found[word] = json.loads(rest.partition(" CMD ")[2])
        elif word in ("FROM", "USER"):
            found[word] = rest.split()
    return found


def test_the_image_is_slim_python_not_root():
    image = dockerfile()
    assert re.fullmatch(r"python:3\.\d+-slim", image["FROM"][0])
    assert image["USER"] != ["root"] and image["USER"] != ["0"]
    assert image["ENTRYPOINT"] + image["CMD"] == [
        "fake-dimail", "serve", "--host", "0.0.0.0", "--port", "8000", "--seed", "empty", "--dns", "auto"]
    assert image["HEALTHCHECK"][:2] == ["python", "-c"]  # the standard library: the slim image has no curl


def test_the_compose_override_runs_the_images_command_where_people_expects_dimail():
    service = yaml.safe_load((ROOT / "examples/people-compose/compose.override.yml").read_text())["services"]["dimail"]
    image = dockerfile()
    assert service["entrypoint"] + service["command"] == image["ENTRYPOINT"] + image["CMD"]
    assert service["ports"] == ["8001:8000"]  # People's containers: dimail:8000; its developers: 127.0.0.1:8001
    assert service["pull_policy"] == "build" and "context" in service["build"]


def _on_port(argv: list[str], port: int) -> list[str]:
    return [arg.replace("8000", str(port)) for arg in argv]


def test_the_images_command_serves_and_its_health_check_says_so():
    image, port = dockerfile(), _free_port()
    program = shutil.which(image["ENTRYPOINT"][0], path=str(Path(sys.executable).parent))
    assert program is not None
    server = subprocess.Popen([program, *_on_port(image["CMD"], port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    health = [sys.executable, *_on_port(image["HEALTHCHECK"][1:], port)]
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(health, capture_output=True, timeout=10).returncode != 0:
            assert server.poll() is None and time.monotonic() < deadline, "the image's command did not serve"
            time.sleep(0.2)
        answer = httpx.get(f"http://127.0.0.1:{port}/_fake/", timeout=5).json()
        assert (answer["settings"]["seed"], answer["settings"]["dns_auto"], answer["counts"]["users"]) == (
            "empty", True, 0)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    banner, warning = err.splitlines()[:2]
    assert banner.startswith("fake-dimail ") and f"on http://0.0.0.0:{port}/" in banner and "/_fake/" in banner
    assert warning == exposure_warning("0.0.0.0", "empty", None)
    assert subprocess.run(health, capture_output=True, timeout=10).returncode != 0  # nothing answers: unhealthy


# --- the host warning ------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.1.1", "::1"])
def test_no_warning_on_loopback(address):
    assert exposure_warning(address, "empty", None) is None


def test_the_warning_names_what_is_exposed():
    assert exposure_warning("0.0.0.0", "empty", None) == (
        "fake-dimail: warning: listening on 0.0.0.0, reachable from other machines: it exposes the /_fake/ control "
        "plane without authentication (anyone can reset, load or steer it; give --control-token TOKEN) and the "
        "empty-database bootstrap (anyone's first POST /users/ creates an administrator)")
    assert exposure_warning("192.0.2.7", "people-dev", "token") == (
        "fake-dimail: warning: listening on 192.0.2.7, reachable from other machines: it exposes the people-dev "
        "accounts and their well-known passwords")


def test_serve_control_token_guards_the_control_plane_only():
    process, url = start_server("--seed", "people-dev", "--control-token", "tok-42")
    try:
        assert httpx.get(url + "/_fake/", timeout=5).status_code == 401
        assert httpx.post(url + "/_fake/reset", timeout=5).status_code == 401
        opened = httpx.get(url + "/_fake/", headers={"Authorization": "Bearer tok-42"}, timeout=5)
        assert (opened.status_code, opened.json()["settings"]["control_token"]) == (200, True)
        assert httpx.get(url + "/token/", auth=("la_regie", "password"), timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
