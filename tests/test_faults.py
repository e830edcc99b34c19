"""Injected faults: one model in Python (`fake.faults`) and over HTTP (`/_fake/faults`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import requests

from fake_dimail import FakeDimail

from tests.conftest import served

ADMIN = ("admin", "admin")


@pytest.fixture
def fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


@pytest.fixture
def control(fake) -> httpx.Client:
    return fake.client()


def test_after_and_times_count_matching_requests_only(fake):
    client = fake.client(auth=ADMIN)
    fault = fake.faults.add("GET", "/users/{user_name}", 503, after=1, times=2)
    assert client.get("/users/").status_code == 200  # another operation: not counted
    statuses = [client.get(f"/users/{name}").status_code for name in ("admin", "la_regie", "admin", "la_regie")]
    assert statuses == [200, 503, 503, 200]
    assert (fault.seen, fault.hits) == (3, 2) and len(fake.faults) == 0


def test_a_concrete_path_matches_only_itself_and_body_and_delay_are_answered(fake):
    client = fake.client(auth=ADMIN)
    fake.faults.add("GET", "/users/admin", 418, times=None, body={"detail": "teapot"})
    fake.faults.add("GET", "/users/la_regie", 502, body="upstream down", delay_ms=5)
    teapot = client.get("/users/admin")
    assert (teapot.status_code, teapot.json()) == (418, {"detail": "teapot"})
    assert client.get("/users/admin").status_code == 418  # times=None: every request
    down = client.get("/users/la_regie")
    assert (down.status_code, down.headers["content-type"], down.text) == (502, "text/plain; charset=utf-8",
                                                                            "upstream down")
    assert fake.requests[-1].duration_ms >= 5
    unnamed = fake.faults.add("GET", "/token/", 520)  # no standard phrase: an empty body, not a crash
    odd = client.get("/token/")
    assert (odd.status_code, odd.text) == (520, "")
    assert unnamed.hits == 1
    plain = fake.faults.add("GET", "/token/", 500)
    crash = client.get("/token/")
    assert (crash.status_code, crash.text, crash.headers["connection"]) == (500, "Internal Server Error", "close")
    plain.remove()


def test_a_delay_without_answer_lets_dimail_answer_late(fake):
    fake.faults.add("GET", "/token/", None, delay_ms=20)
    response = fake.client(auth=ADMIN).get("/token/")
    assert response.status_code == 200 and fake.requests[-1].duration_ms >= 20
    assert fake.requests[-1].fault == "delay"


def test_connection_faults_in_process_raise_httpx_errors_from_fake_client(fake):
    client = fake.client(auth=ADMIN)
    fake.faults.add("GET", "/token/", "connection-error")
    with pytest.raises(httpx.ConnectError):
        client.get("/token/")
    fake.faults.add("GET", "/token/", "timeout")
    with pytest.raises(httpx.ReadTimeout):
        client.get("/token/")
    assert [(e.status, e.fault) for e in fake.requests] == [(None, "connection-error"), (None, "timeout")]


def test_reset_clears_faults(fake):
    fake.faults.add("GET", "/token/", 503, times=None)
    fake.reset()
    assert len(fake.faults) == 0 and fake.client(auth=ADMIN).get("/token/").status_code == 200


def test_http_control_plane_add_list_remove(fake, control):
    added = control.post("/_fake/faults", json={"method": "POST", "answer": 503, "times": 2,
                                                "path": "/domains/{domain_name}/mailboxes/{user_name}"})
    assert added.status_code == 201
    assert added.json() == {"id": 1, "method": "POST", "path": "/domains/{domain_name}/mailboxes/{user_name}",
                            "answer": 503, "times": 2, "after": 0, "delay_ms": 0, "body": None, "seen": 0,
                            "hits": 0}
    control.post("/_fake/faults", json={"method": "GET", "path": "/token/", "answer": "timeout", "times": None})
    assert [f["id"] for f in control.get("/_fake/faults").json()] == [1, 2]
    assert [f.answer for f in fake.faults] == [503, "timeout"]
    assert control.delete("/_fake/faults/1").status_code == 204
    assert control.delete("/_fake/faults/1").json() == {"detail": "No such fault"}
    assert control.delete("/_fake/faults").status_code == 204
    assert control.get("/_fake/faults").json() == []


@pytest.mark.parametrize(("body", "loc"), [
    ({"method": "GET", "path": "/users/", "answer": 99}, ["body", "answer", "constrained-int"]),
    ({"method": "GET", "path": "/users/", "answer": "boom"}, ["body", "answer", "str-enum[FaultKind]"]),
    ({"method": "BREW", "path": "/users/"}, ["body", "method"]),
    ({"method": "GET", "path": "/users/", "times": 0}, ["body", "times"]),
    ({"method": "GET", "path": "/users/", "colour": "red"}, ["body", "colour"]),
])
def test_http_bad_fault_bodies_are_422_and_add_nothing(fake, control, body, loc):
    response = control.post("/_fake/faults", json=body)
    assert response.status_code == 422
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert len(fake.faults) == 0


def test_http_fault_on_no_operation_names_it(fake, control):
    response = control.post("/_fake/faults", json={"method": "GET", "path": "/_fake/faults"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("no dimail operation GET /_fake/faults:")
    assert len(fake.faults) == 0


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from served("--seed", "people-dev")


def test_standalone_server_drops_the_connection_or_stalls(server):
    with httpx.Client(base_url=server) as control:
        control.delete("/_fake/faults")
        control.post("/_fake/faults", json={"method": "GET", "path": "/token/", "answer": "connection-error"})
        with pytest.raises(requests.exceptions.ConnectionError, match="Remote end closed connection"):
            requests.get(server + "/token/", auth=ADMIN, timeout=5)
        control.post("/_fake/faults", json={"method": "GET", "path": "/token/", "answer": "timeout", "delay_ms": 700})
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(server + "/token/", auth=ADMIN, timeout=0.3)
        control.post("/_fake/faults", json={"method": "GET", "path": "/token/", "answer": 503})
        refused = requests.get(server + "/token/", auth=ADMIN, timeout=5)
        assert (refused.status_code, refused.text) == (503, "Service Unavailable")
        assert requests.get(server + "/token/", auth=ADMIN, timeout=5).status_code == 200
        assert control.get("/_fake/faults").json() == []


# --- dimail down ----------------------------------------------------------------------------------


def test_down_refuses_every_method_and_path_until_removed_but_not_the_control_plane(fake, control):
    client = fake.client(auth=ADMIN)
    with fake.faults.down() as down:
        for method, path in [("GET", "/token/"), ("POST", "/domains/"), ("DELETE", "/users/x"), ("GET", "/nope")]:
            with pytest.raises(httpx.ConnectError):
                client.request(method, path)
        listed = control.get("/_fake/faults").json()
        assert [(f["method"], f["path"], f["answer"], f["times"], f["hits"]) for f in listed] == [
            ("*", "*", "connection-error", None, 4)]
        assert down.hits == 4
    assert len(fake.faults) == 0 and client.get("/token/").status_code == 200


def test_down_outlasts_a_retrying_session_where_times_1_does_not(fake):
    from fake_dimail import mock_dimail
    from requests.adapters import HTTPAdapter
    from urllib3.util import Retry

    session = requests.Session()  # People's: 4 retries, PATCH only for statuses; connections always retried
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=4, backoff_factor=0.1, status_forcelist=[500, 502],
                                                           allowed_methods=["PATCH"])))
    with mock_dimail("http://dimail:8000", fake=fake):
        fake.faults.add("GET", "/users/", "connection-error")  # times=1: one attempt, as the server sees it
        assert session.get("http://dimail:8000/users/", auth=ADMIN, timeout=5).status_code == 200
        fault = fake.faults.down()
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get("http://dimail:8000/users/", auth=ADMIN, timeout=5)
        fault.remove()
    assert [e.fault for e in fake.requests] == ["connection-error", None] + ["connection-error"] * 5


def test_every_method_on_one_operation_over_http(fake, control):
    added = control.post("/_fake/faults", json={"method": "*", "path": "/users/{user_name}", "answer": 503,
                                                "times": None})
    assert added.status_code == 201 and added.json()["method"] == "*"
    client = fake.client(auth=ADMIN)
    assert [client.request(m, "/users/la_regie").status_code for m in ("GET", "PATCH", "DELETE")] == [503] * 3
    assert client.get("/users/").status_code == 200
    refused = control.post("/_fake/faults", json={"method": "*", "path": "/nowhere"})
    assert refused.status_code == 422 and refused.json()["detail"].startswith("no dimail operation * /nowhere")


# --- People's trailing slash ------------------------------------------------------------------------

ADDRESS = "/domains/{domain_name}/address/{user_name}"


@pytest.mark.parametrize("path", [ADDRESS + "/", "/domains/d.fr/address/jean/"])
def test_peoples_slash_spelling_is_the_operation_and_its_call_meets_the_fault_after_its_307(fake, control, path):
    """People calls `/domains/{d}/address/{u}/`; dimail's template has no slash and answers it with a 307."""
    fake.add_domain("d.fr", allowed=["la_regie"])
    fault = fake.faults.add("GET", path, 500, times=1)
    assert fault.path == path.rstrip("/")  # the operation's spelling, as the fault is listed
    people = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    assert people.get("/domains/d.fr/address/jean/").status_code == 500
    assert people.get("/domains/d.fr/address/jean/").status_code == 200  # times=1
    assert [(c.status, c.fault) for c in fake.calls] == [(307, None), (500, "500"), (307, None), (200, None)]
    # Either spelling, concrete or template, filters the same calls: those that reached the operation's path, the
    # one the fault answered included (it names the operation), not the 307s before them.
    for spelling in ("/domains/d.fr/address/jean/", "/domains/d.fr/address/jean", ADDRESS + "/", ADDRESS):
        assert [c.status for c in fake.calls.filter(method="GET", path=spelling)] == [500, 200], spelling
    assert [c.operation for c in fake.calls] == [None, ADDRESS, None, ADDRESS]
    over_http = control.post("/_fake/faults", json={"method": "GET", "path": path, "answer": 503})
    assert over_http.status_code == 201 and over_http.json()["path"] == path.rstrip("/")
    every_method = fake.faults.add("*", "/token", 503)
    assert every_method.path == "/token/"


def test_a_slash_spelling_of_no_operation_or_of_another_method_is_still_refused(fake):
    with pytest.raises(ValueError, match=r"no dimail operation GET /domains/\{domain_name\}/nothing/"):
        fake.faults.add("GET", "/domains/{domain_name}/nothing/", 500)
    with pytest.raises(ValueError, match=r"no dimail operation PUT /domains/\{domain_name\}/address/"):
        fake.faults.add("PUT", ADDRESS + "/", 500)
    with pytest.raises(ValueError, match="no dimail operation PUT /users/"):
        fake.faults.add("PUT", "/users/", 500)  # an operation's own spelling (GET): no other spelling tried
    assert len(fake.faults) == 0
    assert fake.calls.filter(path="/domains/{domain_name}/nothing/") == []
