"""`FakeDimail.state()`: the whole state as plain data, safe to read while requests run."""

from __future__ import annotations

import json
import threading

from fake_dimail import Backend, FakeDimail, Settings
from fake_dimail.backend.base import verify_password

WEBMAIL = {"name": "example.fr", "context_name": "ctx", "features": ["webmail", "mailbox", "alias"],
           "delivery": "virtual"}


def populated() -> tuple[FakeDimail, str]:
    fake = FakeDimail(Settings(dns_auto=True), seed="people-dev")
    regie = fake.client(auth=("la_regie", "password"))
    assert regie.post("/domains/?no_check=true", json=WEBMAIL).status_code == 201
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    password = api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"}).json()
    assert api.post("/domains/example.fr/aliases/", json={"user_name": "contact", "destination": "jean@example.fr"}
                    ).status_code == 201
    assert api.post("/domains/example.fr/mailboxes/jean/code", json={"expires_in": 60, "maxuse": 2}).status_code == 201
    fake.set_platform("example.fr", broken=["postfix"])
    return fake, password["password"]


def test_state_is_plain_data_of_every_store() -> None:
    fake, password = populated()
    state = fake.state()
    assert json.loads(json.dumps(state)) == state
    assert [u["name"] for u in state["users"]] == ["admin", "la_regie"]
    assert state["allows"] == [{"user": "la_regie", "domain": "example.fr"}]
    [domain] = state["domains"]
    assert (domain["name"], domain["state"], domain["context_name"]) == ("example.fr", "new", "ctx")
    assert domain["platform"]["broken"] == ["postfix"] and domain["checks"]["cert"]["ok"] is False
    [context] = state["contexts"]
    assert (context["id"], context["name"], context["domains"]) == (1, "ctx", ["example.fr"])
    assert [(u["username"], u["display_name"]) for u in context["users"]] == [
        ("oxadmin", "Context Admin"), ("jean", "Jean Dupont")]
    [mailbox] = state["mailboxes"]
    assert (mailbox["domain"], mailbox["local"]) == ("example.fr", "jean")
    assert verify_password(password, mailbox["password_hash"])
    assert [(a["local"], a["destination"]) for a in state["aliases"]] == [("contact", "jean@example.fr")]
    assert [(c["local"], c["maxuse"], c["nbuse"]) for c in state["codes"]] == [("jean", 2, 0)]
    assert [r["type"] for r in state["zones"]["example.fr"]][:1] == ["mx"]


def test_state_loads_back_into_a_working_fake() -> None:
    fake, password = populated()
    document = json.loads(json.dumps(fake.state()))
    other = FakeDimail()
    other.backend.load(document)
    assert other.state() == document
    api = other.client(headers={"Authorization": f"Bearer {other.token('la_regie')}"})
    assert api.get("/domains/example.fr/mailboxes/jean").json()["displayName"] == "Jean Dupont"
    assert api.post("/domains/example.fr/mailboxes/jean/check_password", json={"password": password}).json() is True
    assert other.client(auth=("la_regie", "password")).get("/domains/").json()[0]["name"] == "example.fr"
    assert api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"}
                    ).status_code == 500  # the duplicate, found through the loaded indexes


def test_state_is_safe_while_requests_are_in_flight() -> None:
    fake, _ = populated()
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    failures: list[BaseException] = []

    def create() -> None:
        try:
            for i in range(60):
                api.post(f"/domains/example.fr/mailboxes/m{i}", json={"givenName": "M", "surName": str(i)})
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    writer = threading.Thread(target=create)
    writer.start()
    seen: list[int] = []
    while writer.is_alive():
        seen.append(len(fake.state()["mailboxes"]))  # the live dicts raised "changed size" here
    writer.join()
    assert not failures
    assert seen == sorted(seen)  # each snapshot a consistent moment: never fewer rows than before
    assert len(fake.state()["mailboxes"]) == 61


def test_backend_load_refuses_a_bad_document_and_keeps_the_state() -> None:
    backend = Backend()
    fake, _ = populated()
    backend.load(fake.state())
    before = backend.snapshot()
    bad = {**before, "mailboxes": [{"domain": "example.fr"}]}  # no local part, no hash
    try:
        backend.load(bad)
    except ValueError:
        pass
    else:
        raise AssertionError("a mailbox without a local part was loaded")
    assert backend.snapshot() == before


def test_a_new_context_never_reuses_a_loaded_ones_id():
    fake = FakeDimail(seed="people-dev")
    fake.add_domain("five.fr", context_name="five")
    fake.add_domain("two.fr", context_name="two")
    document = fake.state()
    first, second = document["contexts"]
    document["contexts"] = [{**first, "id": 5}, {**second, "id": 2}]  # listed out of id order
    fake.load_state(document)
    fake.add_domain("three.fr", context_name="three")
    contexts = {c["id"]: c["name"] for c in fake.state()["contexts"]}
    assert contexts == {5: "five", 2: "two", 6: "three"}
