"""How the contract suite's `Target` talks to a real server (a socket, not the in-process transport)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from contracts.conftest import _bootstrap
from contracts.report import Report
from contracts.target import IN_PROCESS_URL, Target
from fake_dimail.fake import FakeDimail
from fake_dimail.transport import ASGISyncTransport
from tests import mutants

CRASH = b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: 21\r\n\r\n" \
        b"Internal Server Error"
FINE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


def _serve(connection: socket.socket, first: bool) -> None:
    """The first connection crashes, then dies under the next request sent on it, without a word: what
    uvicorn does after an unhandled exception, the client's next request won over its FIN. Others answer 200."""
    with connection:
        while connection.recv(65536):
            if not first:
                connection.sendall(FINE)
                continue
            connection.sendall(CRASH)
            first = False
            connection.recv(65536)
            return


@pytest.fixture
def crashing_server() -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = 0

    def accept() -> None:
        nonlocal accepted
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted += 1
            threading.Thread(target=_serve, args=(connection, accepted == 1), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_after_a_server_error_the_next_call_gets_a_fresh_connection(crashing_server: str) -> None:
    target = Target(crashing_server, None, ("la_regie", "password"))
    try:
        assert target.call("POST", "/domains/0/aliases/").status_code == 500
        answer = target.call("POST", "/domains/0/mailboxes/x")
        assert (answer.status_code, answer.json()) == (200, {})
    finally:
        target.close()


def test_without_domain_deletion_the_clean_up_empties_the_domains_and_names_them() -> None:
    """dimail's 2024 server cannot delete a domain: what the run created in it goes, the domain is named, and the
    verdict stays the contracts' (People never deletes a domain)."""
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("ct0-d1.contract.test", allowed=["la_regie"])
    fake.add_mailbox("ct0-d1.contract.test", "jeanne")
    fake.add_alias("ct0-d1.contract.test", "contact", "someone@example.org")
    target = Target(IN_PROCESS_URL, ("admin", "admin"), ("la_regie", "password"),
                    transport=ASGISyncTransport(mutants.without_domain_deletion(fake)),
                    created_domains=["ct0-d1.contract.test"])
    target.load_openapi()
    assert target.cleanup() == []
    assert target.left_behind == ["ct0-d1.contract.test"]
    admin = fake.client(headers={"Authorization": f"Bearer {fake.token('admin')}"})
    assert admin.get("/domains/ct0-d1.contract.test/aliases/").json() == []
    assert [m["email"] for m in admin.get("/domains/ct0-d1.contract.test/mailboxes/").json()
            if not m["email"].startswith("oxadmin@")] == []
    report = Report(left_behind=target.left_behind)
    assert report.verdict == "compatible"
    assert report.summary_lines()[-2:] == [
        "left behind: 1 domain, emptied (ct0-d1.contract.test): the target does not declare "
        "DELETE /domains/{domain_name}", "verdict: compatible"]
    assert report.as_dict()["left_behind"] == ["ct0-d1.contract.test"]


def test_good_credentials_that_cannot_read_their_user_stop_as_not_usable_saying_so() -> None:
    """dimail's 2024 server lets only admins read users: People's credentials work, its perms cannot be read."""
    target = Target(IN_PROCESS_URL, None, ("la_regie", "password"),
                    transport=ASGISyncTransport(mutants.users_read_by_admins_only()))
    report = Report()
    _bootstrap(target, report)
    assert report.stopped == "NOT USABLE"
    assert report.blocker == ("People's user cannot be set up: dimail accepts the credentials of 'la_regie' "
                              "(GET /token/ answered 200) but refused GET /users/la_regie (403: 'Permission denied'), "
                              "so its perms cannot be checked; give --dimail-admin USER:PASSWORD")
