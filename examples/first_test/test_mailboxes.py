"""A People developer's first tests on the fake (docs/tutorials/first-test.md).

The code under test calls dimail with `requests`, as People's client does; the `dimail_fake`
fixture makes a fresh fake answer every call to dimail's URL, with nothing to mock by hand.
"""

import requests

DIMAIL = "http://dimail:8000"  # where the fixture answers by default (see pytest.ini)


def create_mailbox(domain: str, local_part: str, first_name: str, last_name: str) -> requests.Response:
    """People's mailbox creation: a token for its API user, then dimail's v1 call with it."""
    token = requests.get(f"{DIMAIL}/token/", auth=("la_regie", "password"), timeout=5).json()["access_token"]
    return requests.post(
        f"{DIMAIL}/domains/{domain}/mailboxes/{local_part}",
        json={"givenName": first_name, "surName": last_name, "displayName": f"{first_name} {last_name}"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_a_new_mailbox_gets_its_password_from_dimail(dimail_fake):
    dimail_fake.add_domain("people.example.fr", allowed=["la_regie"])  # valid, and People's user allowed on it

    response = create_mailbox("people.example.fr", "jean", "Jean", "Dupont")

    assert response.status_code == 201
    assert response.json()["email"] == "jean@people.example.fr" and response.json()["password"]
    assert [(e.method, e.path, e.status) for e in dimail_fake.requests] == [
        ("GET", "/token/", 200),
        ("POST", "/domains/people.example.fr/mailboxes/jean", 201),
    ]


def test_the_same_person_twice_gets_dimails_bare_500(dimail_fake):
    dimail_fake.add_domain("people.example.fr", allowed=["la_regie"])
    dimail_fake.add_mailbox("people.example.fr", "jean", given_name="Jean", sur_name="Dupont")

    response = create_mailbox("people.example.fr", "jean.dupont", "Jean", "Dupont")

    assert (response.status_code, response.text) == (500, "Internal Server Error")  # no 409 in dimail


def test_a_domain_people_may_not_manage_is_refused(dimail_fake):
    dimail_fake.add_domain("other.example.fr")  # nobody allowed on it

    response = create_mailbox("other.example.fr", "jean", "Jean", "Dupont")

    assert (response.status_code, response.json()) == (403, {"detail": "Permisison denied"})  # sic: dimail's text
