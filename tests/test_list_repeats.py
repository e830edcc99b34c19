"""Guess G-list-repeats: `+x`/`-x` on a list that holds a value twice. Through dimail's API no list does (a
creation and a plain set drop repetitions); a state loaded through `/_fake/state` (or a state file) may, and the
sources say nothing of them. The fake edits as `list.append`/`list.remove` would: `-x` takes out the first copy only,
`+x` adds nothing when x is there, a new value goes at the end; the other places keep their order."""

from __future__ import annotations

import pytest

from fake_dimail import FakeDimail
from fake_dimail.backend.base import apply_list_change


@pytest.mark.parametrize(("current", "change", "expected"), [
    (["a", "b", "a"], ["-a"], ["b", "a"]),
    (["a", "b", "a"], ["-a", "-a"], ["b"]),
    (["a", "b", "a"], ["-a", "-a", "-a"], ["b"]),
    (["a", "b", "a"], ["+a"], ["a", "b", "a"]),
    (["a", "b", "a"], ["+c", "+c"], ["a", "b", "a", "c"]),
    (["a", "b", "a"], ["-b", "+b"], ["a", "a", "b"]),
    (["a", "b", "a"], ["-c"], ["a", "b", "a"]),
    (["b", "b"], ["-b", "+b"], ["b"]),
])
def test_an_edit_of_a_list_with_repetitions_acts_as_append_and_remove(current: list[str], change: list[str],
                                                                       expected: list[str]) -> None:
    assert apply_list_change(current, change) == expected
    assert current == apply_list_change(current, []) or current  # the stored list is never edited in place


def test_a_user_whose_state_holds_a_repeated_perm_loses_one_copy_per_minus() -> None:
    fake = FakeDimail(seed="people-dev")
    admin = fake.client(auth=("admin", "admin"))
    created = admin.post("/users/", json={"name": "rep", "password": "p", "is_admin": False,
                                          "perms": ["new_domain", "manage_users", "new_domain"]})
    assert created.status_code == 201, created.text
    assert created.json()["perms"] == ["new_domain", "manage_users"]  # the API drops repetitions
    fake.backend.users.modify("rep", perms=["new_domain", "manage_users", "new_domain"])  # as a loaded state may
    once = admin.patch("/users/rep", json={"perms": ["-new_domain", "+manage_users", "+create_users"]})
    assert once.status_code == 200, once.text
    assert once.json()["perms"] == ["manage_users", "new_domain", "create_users"]
    assert admin.get("/users/rep").json()["perms"] == ["manage_users", "new_domain", "create_users"]
    twice = admin.patch("/users/rep", json={"perms": ["-new_domain"]})
    assert twice.json()["perms"] == ["manage_users", "create_users"]
