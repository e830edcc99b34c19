"""`--state FILE` / `Settings(state_file=…)`: the state kept in SQLite across restarts, changed rows only."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fake_dimail import FakeDimail, Settings
from fake_dimail.backend import snapshot
from fake_dimail.backend.base import settled
from fake_dimail.backend.persistence import SCHEMA_VERSION, StateFileError, StateWriteError, _document, read_document
from fake_dimail.backend.state import STORES
from tests.conftest import start_server

WEBMAIL = {"name": "example.fr", "context_name": "ctx", "features": ["webmail", "mailbox", "alias"],
           "delivery": "virtual"}


def kept(path: Path, seed: str = "people-dev", **settings: object) -> FakeDimail:
    return FakeDimail(Settings(state_file=str(path), **settings), seed=seed)  # type: ignore[arg-type]


def reopened(fake: FakeDimail, path: Path) -> dict[str, object]:
    """What a new fake started on the file holds (the first one let go of the file)."""
    fake.close()
    other = kept(path, seed="empty")
    try:
        return other.state()
    finally:
        other.close()


def workload(fake: FakeDimail) -> None:
    """A write of every family, so that a change made beside the stores would be missed here."""
    admin = fake.client(auth=("admin", "admin"))
    regie = fake.client(auth=("la_regie", "password"))
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    ok = {200, 201, 204}
    calls = [
        admin.post("/users/", json={"name": "op", "password": "p", "is_admin": False, "perms": ["new_domain"]}),
        admin.patch("/users/op", json={"perms": ["+create_users"], "identities": ["sub-1"]}),
        admin.post("/users/", json={"name": "gone", "password": "p", "is_admin": False, "perms": []}),
        admin.delete("/users/gone"),
        regie.post("/domains/?no_check=true", json=WEBMAIL),
        regie.post("/domains/", json={**WEBMAIL, "name": "second.fr"}),
        regie.post("/domains/", json={"name": "plain.fr", "features": ["mailbox", "alias"]}),
        admin.post("/allows/", json={"user": "op", "domain": "example.fr"}),
        admin.delete("/allows/example.fr/op"),
        admin.post("/allows/", json={"user": "op", "domain": "second.fr"}),
        api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"}),
        api.post("/domains/example.fr/mailboxes/marie", json={"givenName": "Marie", "surName": "Curie"}),
        api.patch("/domains/example.fr/mailboxes/jean", json={"givenName": "Jeanne", "surName": "Durand"}),
        api.patch("/domains/example.fr/mailboxes/marie", json={"active": "no"}),
        api.post("/domains/example.fr/mailboxes/jean/reset_password"),
        api.post("/domains/example.fr/mailboxes/marie/code", json={"expires_in": 3600, "maxuse": 2}),
        api.post("/v2/domains/example.fr/mailboxes/ana", json={"features": ["ox"], "extras": {"ox": {
            "given_name": "Ana", "sur_name": "Lima", "display_name": "Dr Ana Lima"}}}),
        api.patch("/v2/domains/example.fr/mailboxes/ana", json={"features": ["+schedule"], "quota": "1G"}),
        api.post("/v2/domains/example.fr/mailboxes/bob", json={"features": ["ox"], "extras": {"ox": {
            "given_name": "Bob", "sur_name": "Ross", "display_name": "Bob Ross"}}}),
        api.patch("/v2/domains/example.fr/mailboxes/bob", json={"features": ["-ox"], "quota": ""}),
        api.post("/domains/plain.fr/mailboxes/paul", json={"givenName": "Paul", "surName": "Dirac"}),
        api.delete("/domains/plain.fr/mailboxes/paul"),
        api.post("/domains/plain.fr/mailboxes/paul", json={"givenName": "Paul", "surName": "Dirac"}),
        api.post("/domains/example.fr/aliases/", json={"user_name": "contact", "destination": "jean@example.fr"}),
        api.post("/domains/example.fr/aliases/", json={"user_name": "info", "destination": "marie@example.fr"}),
        api.patch("/domains/example.fr/aliases/contact/jean@example.fr", json={"allow_to_send": True}),
        api.delete("/domains/example.fr/aliases/info/all"),
        admin.patch("/domains/second.fr", json={"features": ["-alias"], "imap_domain": "imap.mail.second.fr"}),
    ]
    assert [(i, c.status_code, c.text) for i, c in enumerate(calls) if c.status_code not in ok] == []
    code = calls[15].json()["code"]
    assert api.get(f"/code/{code}").status_code == 200
    fake.publish("example.fr")
    fake.set_dns("wrong.fr", [{"target": "", "type": "mx", "value": "mx.elsewhere.net."}])
    fake.publish("second.fr", "wrong")
    fake.clear_dns("second.fr")
    fake.set_platform("example.fr", broken=["postfix"], unfixable=["cert"])
    assert regie.get("/domains/example.fr/fix").status_code == 200
    assert regie.post("/domains/", json={**WEBMAIL, "name": "third.fr", "context_name": "third"}).status_code == 201
    assert admin.delete("/domains/third.fr").status_code == 204, "a webmail domain with a context of its own"


def test_every_store_has_one_encoder_for_the_document_and_the_file() -> None:
    assert set(STORES) <= set(snapshot.ENCODERS)


def test_the_file_holds_what_the_fake_holds_after_a_write_of_every_family(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    fake = kept(path)
    workload(fake)
    state = fake.state()
    assert state["mailboxes"] and state["contexts"] and state["codes"] and state["zones"]
    assert json.dumps(reopened(fake, path)) == json.dumps(state)  # order kept too: every listing follows it
    assert json.dumps(read_document(path) | {"zones": state["zones"]}) == json.dumps(state)  # empty zones aside


def test_a_restarted_fake_answers_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    fake = kept(path, dns_auto=True)
    regie = fake.client(auth=("la_regie", "password"))
    assert regie.post("/domains/", json=WEBMAIL).status_code == 201
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    password = api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"}
                        ).json()["password"]
    fake.close()
    again = kept(path, seed="empty")  # the file wins over the seed: la_regie is there
    api = again.client(headers={"Authorization": f"Bearer {again.token('la_regie')}"})
    assert api.post("/domains/example.fr/mailboxes/jean/check_password", json={"password": password}).json() is True
    assert api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"}
                    ).status_code == 500  # the duplicate, found through the rebuilt indexes
    assert api.post("/v2/domains/example.fr/mailboxes/jo", json={"features": ["ox"], "extras": {"ox": {
        "given_name": "Jo", "sur_name": "Li", "display_name": "Jo Li"}}}).status_code == 201
    assert again.backend.state.all_indexes()["kept"] == again.backend.state.all_indexes()["rebuilt"]
    assert json.dumps(reopened(again, path)) == json.dumps(again.state())


@pytest.mark.parametrize("empty", [False, True], ids=["missing", "empty file"])
def test_a_missing_file_starts_seeded_and_is_created(tmp_path: Path, empty: bool) -> None:
    path = tmp_path / "new.db"
    if empty:
        path.touch()  # as `mktemp` leaves it: nothing to lose
    kept(path).close()  # while a fake runs on it, the file is its own (an exclusive lock): read it afterwards
    assert [u["name"] for u in read_document(path)["users"]] == ["admin", "la_regie"]  # type: ignore[index]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_write_touches_only_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    fake = kept(path)
    fake.add_domain("example.fr", allowed=["la_regie"])
    for i in range(300):
        fake.add_mailbox("example.fr", f"m{i}", given_name="M", sur_name=str(i))
    db = fake.backend.state_file._db  # type: ignore[union-attr]
    before = db.total_changes
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    assert api.post("/domains/example.fr/mailboxes/jean", json={"givenName": "Jean", "surName": "Dupont"}
                    ).status_code == 201
    assert db.total_changes - before == 2  # the Dovecot row and the OX user, not the context of 301 users
    before = db.total_changes
    assert api.get("/domains/example.fr/mailboxes/").status_code == 200
    assert db.total_changes == before


def test_rows_added_again_keep_the_stores_order(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    fake = kept(path)
    fake.add_domain("example.fr", features=["mailbox", "alias"], allowed=["la_regie"])
    for name in ("a", "b", "c"):
        fake.add_alias("example.fr", name, "x@else.fr")
    with settled(fake.backend.state):  # one call: removed, added again and changed before the write
        fake.backend.state.aliases.pop(("example.fr", "a", "x@else.fr"))
        fake.add_alias("example.fr", "a", "x@else.fr")
        fake.backend.state.aliases.modify(("example.fr", "a", "x@else.fr"), description="added again, then changed")
        fake.backend.state.aliases.modify(("example.fr", "b", "x@else.fr"), description="kept in place")
    fake.add_alias("example.fr", "d", "x@else.fr")
    order = [a["local"] for a in fake.state()["aliases"]]
    assert order == ["b", "c", "a", "d"]
    assert [a["local"] for a in reopened(fake, path)["aliases"]] == order  # type: ignore[index]


def test_reset_load_and_a_failed_write_are_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    fake = kept(path)
    workload(fake)
    document = fake.state()
    fake.reset()
    assert reopened(fake, path) == {**{name: [] for name in snapshot.ENCODERS}, "zones": {},
                                    "users": fake.state()["users"]}
    fake = kept(path)
    fake.backend.load(document)
    assert json.dumps(reopened(fake, path)) == json.dumps(document)
    fake = kept(path)
    # A write that fails and a file that cannot be read back either (here: the file's connection gone): the
    # change stays in memory, is said to, and the next write writes everything.
    state_file = fake.backend.state_file
    assert state_file is not None
    real, state_file._db = state_file._db, sqlite3.connect(":memory:", isolation_level=None)
    with pytest.raises(StateWriteError) as refused:
        fake.add_user("late", "p")
    assert refused.value.status == 507 and "nor read it back: the change is kept in memory" in refused.value.detail
    state_file._db = real
    fake.add_user("later", "p")
    assert [u["name"] for u in fake.state()["users"]][-2:] == ["late", "later"]
    assert json.dumps(reopened(fake, path)) == json.dumps(fake.state())


@pytest.mark.parametrize(("content", "problem"), [
    (b"not a database at all" * 100, "not a readable fake-dimail state file (file is not a database)"),
    ("foreign", "not a fake-dimail state file (another SQLite database)"),
    ("version", "schema version 99, this fake-dimail reads version 1"),
    ("unknown", "inconsistent state file (rows of a store this fake-dimail does not know: 'no_such_store')"),
    ("bad row", "inconsistent state file (Inconsistent state document: mailboxes[0].local: Field required)"),
    ("bad OX user", "inconsistent state file (0.given_name: Input should be a valid string)"),
])
def test_an_unusable_file_is_refused_in_one_line_and_left_untouched(tmp_path: Path, content: object,
                                                                    problem: str) -> None:
    path = tmp_path / "state.db"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "foreign":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (x)")
    else:
        made = kept(path)
        if content == "bad OX user":
            made.add_domain("example.fr")  # a webmail domain: its context's admin is an OX user row
        made.close()
        with sqlite3.connect(path) as db:
            if content == "version":
                db.execute("PRAGMA user_version = 99")
            elif content == "unknown":
                db.execute("""INSERT INTO rows VALUES ('no_such_store', '"f"', NULL, '{}')""")
            elif content == "bad OX user":  # the context admin's given name, not a string
                db.execute("""UPDATE rows SET row = json_set(row, '$.given_name', 7) WHERE store = 'contexts.users'""")
            else:
                db.execute("""INSERT INTO rows VALUES ('mailboxes', '["x.fr","m"]', NULL, '{"domain":"x.fr"}')""")
        db.close()
        sqlite3.connect(path).close()  # its own WAL checkpointed: the bytes below are the whole file
    before = path.read_bytes()
    with pytest.raises(StateFileError) as refused:
        kept(path)
    assert str(refused.value).startswith(f"{path}: {problem}") and "\n" not in str(refused.value)
    assert path.read_bytes() == before
    result = subprocess.run([sys.executable, "-m", "fake_dimail", "serve", "--port", "1", "--state", str(path)],
                            capture_output=True, text=True, timeout=60) if content == "version" else None
    if result is not None:  # the command line says it the same way (port 1 is never reached: the file is first)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr == f"fake-dimail: error: --state {refused.value}\n"
    assert path.read_bytes() == before


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a read-only /proc (Linux)")
def test_a_file_that_cannot_be_created_is_said_so_not_in_use() -> None:
    with pytest.raises(StateFileError) as refused:
        kept(Path("/proc/fake-dimail-state.db"))
    assert str(refused.value) == ("/proc/fake-dimail-state.db: cannot write the state file (unable to open database "
                                  "file): give another --state file")


def test_keeping_the_state_in_another_file_lets_go_of_the_first(tmp_path: Path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    fake = kept(first)
    assert fake.backend.keep_in(second) is False  # a new file: nothing loaded, the state written to it
    other = kept(first, seed="empty")  # no longer in use
    try:
        assert [u["name"] for u in other.state()["users"]] == [u["name"] for u in fake.state()["users"]]
    finally:
        other.close()
        fake.close()
    assert reopened(kept(second, seed="empty"), second)["users"] == fake.state()["users"]


def test_a_missing_directory_is_said(tmp_path: Path) -> None:
    with pytest.raises(StateFileError) as refused:
        kept(tmp_path / "nowhere" / "state.db")
    assert str(refused.value) == (f"{tmp_path}/nowhere/state.db: its directory {tmp_path}/nowhere does not exist: "
                                  "create it, or give another --state file")


def test_a_stopped_server_leaves_one_self_contained_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    process, url = start_server("--seed", "people-dev", "--state", str(path))
    try:
        assert httpx.post(f"{url}/users/", auth=("admin", "admin"), json={
            "name": "op", "password": "p", "is_admin": False, "perms": []}).status_code == 201
    finally:
        process.terminate()  # SIGTERM, as `docker stop`
        process.wait(timeout=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]  # the write-ahead log folded in
    assert [u["name"] for u in read_document(path)["users"]] == ["admin", "la_regie", "op"]  # type: ignore[index]


def test_one_file_serves_one_fake(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = kept(path)
    with pytest.raises(StateFileError, match="in use by another fake-dimail"):
        kept(path)
    first.close()
    first = kept(path)  # a file loaded, not created: held as well
    with pytest.raises(StateFileError, match="in use by another fake-dimail"):
        kept(path)
    first.add_user("still", "p")
    assert "still" in [u["name"] for u in reopened(first, path)["users"]]  # type: ignore[index]


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    process, url = start_server("--seed", "people-dev", "--state", str(path))
    acknowledged: dict[str, list[str]] = {"users": [], "mailboxes": []}
    with httpx.Client(base_url=url, auth=("admin", "admin"), timeout=5) as admin:
        assert admin.post("/domains/", json={**WEBMAIL, "context_name": "example.fr"}).status_code == 201
        token = admin.get("/token/").json()["access_token"]
    stop = threading.Event()

    def burst(kind: str) -> None:
        # POST /users/ is Basic-only; mailboxes take the token.
        with httpx.Client(base_url=url, timeout=5, **(
                {"auth": ("admin", "admin")} if kind == "users" else {"headers": {"Authorization": f"Bearer {token}"}}
        )) as client:
            send(kind, client)

    def send(kind: str, client: httpx.Client) -> None:
        for i in range(100_000):
            if stop.is_set():
                return
            name = f"{kind[0]}{i}"
            try:
                if kind == "users":
                    answer = client.post("/users/", json={"name": name, "password": "p", "is_admin": False,
                                                          "perms": []})
                else:
                    answer = client.post(f"/domains/example.fr/mailboxes/{name}",
                                         json={"givenName": "G", "surName": name})
            except httpx.TransportError:
                return  # killed while asking: not acknowledged
            if answer.is_success:
                acknowledged[kind].append(name)

    threads = [threading.Thread(target=burst, args=(kind,)) for kind in acknowledged]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while min(map(len, acknowledged.values())) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(random.uniform(0, 0.5))  # then a random moment: mid-request, mid-transaction, between two
    process.kill()
    process.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(acknowledged["users"]) >= 5 and len(acknowledged["mailboxes"]) >= 5, acknowledged
    process, url = start_server("--seed", "empty", "--state", str(path))
    try:
        with httpx.Client(base_url=url, auth=("admin", "admin"), timeout=5) as admin:
            users = {u["name"] for u in admin.get("/users/").json()}
            token = admin.get("/token/").json()["access_token"]
        assert set(acknowledged["users"]) <= users
        mailboxes = httpx.get(f"{url}/domains/example.fr/mailboxes/", headers={"Authorization": f"Bearer {token}"},
                              timeout=5).json()
        emails = {m["email"] for m in mailboxes}
        assert {f"{name}@example.fr" for name in acknowledged["mailboxes"]} <= emails
        # Nothing half-written: every Dovecot row has its OX user (a listing shows both halves).
        assert all(m["givenName"] == "G" and m["displayName"] == f"G {m['email'].split('@')[0]}"
                   for m in mailboxes if not m["email"].startswith("oxadmin@")), mailboxes[:3]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_seeding_call_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = kept(tmp_path / "state.db")
    state_file = fake.backend.state_file
    assert state_file is not None
    commits: list[int] = []
    write = state_file._write
    monkeypatch.setattr(state_file, "_write", lambda: (commits.append(1), write())[1])
    fake.add_domain("example.fr", status="ok", allowed=["la_regie"])  # creation, DNS, fix, check, allow
    fake.add_mailbox("example.fr", "jean", active=False)  # creation, then deactivation
    assert len(commits) == 2
    assert reopened(fake, tmp_path / "state.db")["domains"][0]["state"] == "ok"  # type: ignore[index]


# --- a full disk (issue 20): a write the file refuses is undone, answered 507, and retried as new ---------------

FULL = ("fake-dimail could not write its state file (database or disk is full): nothing was changed; "
        "free some space and send the request again")


class SmallDisk:
    """A directory on a 4 MB tmpfs (when this test runs as root and may mount one), filled and freed at will;
    elsewhere a plain directory, and the file's connection is told to refuse its commits as a full disk does."""

    def __init__(self, root: Path) -> None:
        self.path = root / "disk"
        self.path.mkdir()
        self.real = os.geteuid() == 0 and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(self.path)], capture_output=True).returncode == 0
        self._refusing: list[object] = []

    def fill(self, fake: FakeDimail | None = None) -> None:
        if not self.real:
            assert fake is not None and fake.backend.state_file is not None
            state_file = fake.backend.state_file
            self._refusing = [state_file, state_file._db]
            state_file._db = _FullDisk(state_file._db)  # type: ignore[assignment]
            return
        descriptor = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(descriptor, bytes(65536))
        except OSError as error:
            assert error.errno == 28  # ENOSPC
        finally:
            os.close(descriptor)

    def free(self) -> None:
        if self.real:
            (self.path / "filler").unlink()
        else:
            state_file, self._refusing = self._refusing, []
            state_file[0]._db = state_file[1]  # type: ignore[attr-defined]

    def unmount(self) -> None:
        if self.real:
            subprocess.run(["umount", "-l", str(self.path)], check=True)


class _FullDisk:
    """A SQLite connection whose commits fail as they do on a full disk (then the transaction is still open)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path)
    try:
        yield disk
    finally:
        disk.unmount()


def in_file(fake: FakeDimail) -> dict[str, object]:
    """The state document the file holds now, read through the fake's own connection (the file is locked)."""
    assert fake.backend.state_file is not None
    rows = fake.backend.state_file._db.execute("SELECT store, key, parent, row FROM rows ORDER BY rowid").fetchall()
    return _document(rows)


def test_a_write_the_full_disk_refuses_is_undone_and_its_retry_succeeds(small_disk: SmallDisk) -> None:
    fake = kept(small_disk.path / "state.db")
    fake.add_domain("example.fr", allowed=["la_regie"], context_name="example.fr")
    fake.add_mailbox("example.fr", "marie", given_name="Marie", sur_name="Curie")
    fake.add_alias("example.fr", "contact", "marie@example.fr")
    fake.publish("example.fr")
    api = fake.client(headers={"Authorization": f"Bearer {fake.token('la_regie')}"})
    regie = fake.client(auth=("la_regie", "password"))
    mailbox = {"givenName": "Jean", "surName": "Dupont", "displayName": "Jean " + "D" * 20_000}
    listed = api.get("/domains/example.fr/mailboxes/").json()
    small_disk.fill(fake)
    before, file_before = fake.state(), in_file(fake)

    refused = api.post("/domains/example.fr/mailboxes/jean", json=mailbox)  # a Dovecot row and an OX user
    assert (refused.status_code, refused.json()) == (507, {"detail": FULL})
    assert json.dumps(fake.state()) == json.dumps(before)  # nothing in memory, order included
    assert in_file(fake) == file_before  # nor in the file
    assert fake.backend.state.all_indexes()["kept"] == fake.backend.state.all_indexes()["rebuilt"]
    assert api.post("/domains/example.fr/aliases/", json={"user_name": "info", "destination": "x@else.fr"}
                    ).status_code == 507

    # Reads, tokens and refusals do not write: they answer as ever while the disk is full.
    assert regie.get("/token/").status_code == 200
    listing = api.get("/domains/example.fr/mailboxes/")
    assert (listing.status_code, listing.json()) == (200, listed)
    assert sorted(m["email"] for m in listed) == ["marie@example.fr", "oxadmin@example.fr"]
    assert api.get("/domains/example.fr/mailboxes/jean").json() == {"detail": "Mailbox not found"}
    assert api.post("/domains/example.fr/aliases/", json={"user_name": "contact", "destination": "marie@example.fr"}
                    ).status_code == 409
    assert fake.client(auth=("la_regie", "wrong")).get("/token/").status_code == 403

    small_disk.free()
    created = api.post("/domains/example.fr/mailboxes/jean", json=mailbox)  # as if the first had never been sent
    assert created.status_code == 201 and created.json()["email"] == "jean@example.fr"
    renamed = api.patch("/domains/example.fr/mailboxes/marie", json={"givenName": "Maria"})  # the OX users
    assert renamed.status_code == 200  # are watched again after the undo: this change reaches the file
    fake.set_dns("example.fr", [{"target": "", "type": "mx", "value": "mx.elsewhere.net."}])  # the zones too
    state = fake.state()
    assert [m["local"] for m in state["mailboxes"]] == ["marie", "jean"]
    assert json.dumps(in_file(fake) | {"zones": state["zones"]}) == json.dumps(state)
    assert json.dumps(reopened(fake, small_disk.path / "state.db")) == json.dumps(state)


def test_a_served_fake_on_a_full_disk_says_it_in_one_line(small_disk: SmallDisk) -> None:
    if not small_disk.real:
        pytest.skip("needs a small filesystem of its own: run as root where tmpfs can be mounted")
    process, url = start_server("--seed", "people-dev", "--state", str(small_disk.path / "state.db"))
    try:
        with httpx.Client(base_url=url, auth=("admin", "admin"), timeout=10) as admin:
            user = {"name": "op", "password": "p", "is_admin": False, "perms": ["new_domain"]}
            small_disk.fill()
            assert (admin.post("/users/", json=user).status_code, admin.get("/users/").status_code) == (507, 200)
            assert admin.get("/token/").status_code == 200
            small_disk.free()
            assert admin.post("/users/", json=user).status_code == 201
            assert [u["name"] for u in admin.get("/users/").json()] == ["admin", "la_regie", "op"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    log = process.stderr.read().decode() if process.stderr else ""
    assert "Traceback" not in log
    banner, *lines = log.splitlines()
    assert banner.startswith("fake-dimail ")
    assert [line.split(" ", 2)[2] for line in lines] == [
        f"--state {small_disk.path}/state.db: cannot write (database or disk is full): the call was undone and "
        "answered 507"]


def test_a_context_emptied_then_deleted_in_one_call_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    fake = kept(path)
    fake.add_domain("example.fr")  # webmail: a context, its admin an OX user row of its own in the file
    state = fake.backend.state
    (context_id,) = state.contexts
    with settled(state):  # one call: the context's users cleared, then the context gone
        state.contexts[context_id].users.clear()
        del state.contexts[context_id]
    assert fake.state()["contexts"] == []
    assert reopened(fake, path)["contexts"] == []


def test_a_context_deleted_then_put_back_keeps_its_users_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    fake = kept(path)
    fake.add_domain("example.fr")
    state = fake.backend.state
    (context_id,) = state.contexts
    with settled(state):
        context = state.contexts.pop(context_id)
    with settled(state):  # a later call: the same row back, its users with it
        state.contexts[context_id] = context
    users = [u["username"] for u in fake.state()["contexts"][0]["users"]]
    assert users == ["oxadmin"]
    assert [u["username"] for u in reopened(fake, path)["contexts"][0]["users"]] == users  # type: ignore[index]
