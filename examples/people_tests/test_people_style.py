"""Tests written the way People's are: module-level `requests` calls on the settings' URL."""

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

import people_settings as settings  # in People: from django.conf import settings

import pytest
import responses


def token():
    response = requests.get(
        f"{settings.MAIL_PROVISIONING_API_URL}/token/",
        headers={"Authorization": f"Basic {settings.MAIL_PROVISIONING_API_CREDENTIALS}"},
        timeout=settings.MAIL_PROVISIONING_API_TIMEOUT,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def create_mailbox(domain, local, first, last):
    return requests.post(
        f"{settings.MAIL_PROVISIONING_API_URL}/domains/{domain}/mailboxes/{local}",
        json={"givenName": first, "surName": last, "displayName": f"{first} {last}"},
        headers={"Authorization": f"Bearer {token()}"},
        timeout=settings.MAIL_PROVISIONING_API_TIMEOUT,
    )


def test_mailbox_creation_returns_dimail_password(dimail_fake, enabled_domain):
    response = create_mailbox(enabled_domain, "jean.dupont", "Jean", "Dupont")
    assert response.status_code == 201
    assert response.json()["email"] == "jean.dupont@people.example.fr"
    assert (enabled_domain, "jean.dupont") in dimail_fake.backend.mailboxes


def test_same_names_answer_500_then_the_address_probe(dimail_fake, enabled_domain):
    dimail_fake.add_mailbox(enabled_domain, "jean", given_name="Jean", sur_name="Dupont")
    response = create_mailbox(enabled_domain, "jean.d", "Jean", "Dupont")
    assert response.status_code == 500  # dimail's answer to a duplicate: no 409
    probe = requests.get(
        f"{settings.MAIL_PROVISIONING_API_URL}/domains/{enabled_domain}/address/jean.d/",
        headers={"Authorization": f"Bearer {token()}"},
        timeout=settings.MAIL_PROVISIONING_API_TIMEOUT,
    )
    assert probe.history[0].status_code == 307 and probe.json()["is_mailbox"] is False


def test_a_retrying_session_gets_past_a_502(dimail_fake, enabled_domain):
    dimail_fake.faults.add("GET", "/domains/{domain_name}/check", 502)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=3, backoff_factor=0.1, status_forcelist=[502])))
    response = session.get(
        f"{settings.MAIL_PROVISIONING_API_URL}/domains/{enabled_domain}/check",
        headers={"Authorization": f"Basic {settings.MAIL_PROVISIONING_API_CREDENTIALS}"},
        timeout=settings.MAIL_PROVISIONING_API_TIMEOUT,
    )
    assert response.status_code == 200 and response.json()["state"] == "ok"
    assert [e.status for e in dimail_fake.requests] == [502, 200]


def test_dimail_down_while_a_mock_answers_the_token(dimail_fake, enabled_domain, rsps):
    rsps.add(responses.GET, f"{settings.MAIL_PROVISIONING_API_URL}/token/",
             json={"access_token": dimail_fake.token("la_regie"), "token_type": "bearer"})
    dimail_fake.faults.add("POST", "/domains/{domain_name}/mailboxes/{user_name}", "connection-error")
    with pytest.raises(requests.exceptions.ConnectionError):
        create_mailbox(enabled_domain, "jean", "Jean", "Dupont")
    assert [(e.path, e.fault) for e in dimail_fake.requests] == [
        ("/domains/people.example.fr/mailboxes/jean", "connection-error")]
