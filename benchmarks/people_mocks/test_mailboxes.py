"""examples/people_tests/test_mailboxes.py, with dimail mocked as People mocks it."""

import json
import re

import pytest
import requests
import responses

import dimail_answers as answers
from people import dimail, factories, models, services


@responses.activate
@pytest.mark.parametrize(("first", "last"), [("Jean", "Dupont"), ("Éloïse", "Müller"), ("Zoé", "")])
def test_creation_sends_peoples_payload_and_keeps_dimails_password(dimail_token_ok, first, last):
    domain = factories.MailDomainEnabledFactory()
    answers.mock_mailbox_created(domain.name, "jean")
    mailbox = services.create_mailbox(domain, "jean", first, last)
    assert json.loads(responses.calls[1].request.body) == {
        "givenName": first, "surName": last, "displayName": f"{first} {last}"}
    assert len(responses.calls) == 2
    assert (mailbox.status, mailbox.password) == ("enabled", "password")


@responses.activate
def test_peoples_assertions_on_responses_calls_read_the_fake(dimail_token_ok):
    domain = factories.MailDomainEnabledFactory()
    answers.mock_mailbox_created(domain.name, "jean")
    services.create_mailbox(domain, "jean", "Jean", "Dupont")
    assert len(responses.calls) == 2
    assert json.loads(responses.calls[1].request.body)["givenName"] == "Jean"
    assert responses.calls[1].response.status_code == 201


@responses.activate
def test_a_mailbox_of_a_pending_domain_waits_without_a_call():
    domain = factories.MailDomainFactory()
    mailbox = services.create_mailbox(domain, "jean", "Jean", "Dupont")
    assert mailbox.status == "pending" and len(responses.calls) == 0


@responses.activate
def test_names_used_in_the_context_are_a_500_then_peoples_400(dimail_token_ok):
    existing = factories.MailboxEnabledFactory(first_name="Jean", last_name="Dupont", local_part="jean")
    domain = existing.domain.name
    responses.post(re.compile(rf".*/domains/{domain}/mailboxes/jean.dupont"), status=500,
                   body="Internal Server Error", content_type="text/plain")
    responses.get(re.compile(rf".*/domains/{domain}/address/jean.dupont/"), status=200, json={
        "domain_name": domain, "user_name": "jean.dupont", "is_alias": False, "is_mailbox": False,
        "is_forward": False, "is_ox": False, "ox_primary_email": None, "ox_senders": None})
    with pytest.raises(dimail.ValidationError, match="already in use in this context : None"):
        services.create_mailbox(existing.domain, "jean.dupont", "Jean", "Dupont")
    assert [c.response.status_code for c in responses.calls] == [200, 500, 200]
    assert models.Mailbox.filter(local_part="jean.dupont") == []


@responses.activate
def test_a_secondary_address_gets_a_login_code(dimail_token_ok, mailbox_data):
    domain = factories.MailDomainEnabledFactory()
    answers.mock_mailbox_created(domain.name, mailbox_data["local_part"])
    responses.post(re.compile(rf".*/domains/{domain.name}/mailboxes/{mailbox_data['local_part']}/code"),
                   json={"email": "x", "code": "abc", "expires_at": 0, "expires_in": 3600, "maxuse": 3, "nbuse": 0},
                   status=201)
    services.create_mailbox(domain, **mailbox_data)
    assert json.loads(responses.calls[3].request.body) == {"expires_in": 3600, "maxuse": 3}
    assert responses.calls[3].response.status_code == 201


@responses.activate
def test_disable_then_enable(dimail_token_ok):
    mailbox = factories.MailboxEnabledFactory(first_name="Ada", last_name="Lovelace")
    url = re.compile(rf".*/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}")
    responses.patch(url, body="", status=200)
    services.client.disable_mailbox(mailbox)
    services.client.enable_mailbox(mailbox)
    assert [json.loads(c.request.body) for c in responses.calls if c.request.method == "PATCH"] == [
        {"active": "no"}, {"active": "yes", "givenName": "Ada", "surName": "Lovelace", "displayName": "Ada Lovelace"}]


@responses.activate
def test_a_disabled_factory_mailbox_is_inactive_in_dimail():
    mailbox = factories.MailboxFactory(status=models.MailboxStatus.DISABLED)
    assert mailbox.status == "disabled" and len(responses.calls) == 0


@responses.activate
def test_enabling_a_mailbox_dimail_never_created_is_peoples_500(dimail_token_ok):
    mailbox = factories.MailboxFactory()
    responses.patch(re.compile(rf".*/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}"),
                    json={"detail": "Mailbox not found"}, status=404)
    with pytest.raises(requests.exceptions.HTTPError, match="404"):
        services.client.enable_mailbox(mailbox)


@responses.activate
def test_a_retried_patch_gets_past_two_502s(dimail_token_ok):
    mailbox = factories.MailboxEnabledFactory()
    responses.patch(re.compile(rf".*/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}"), body="",
                    status=200)  # responses answers above urllib3: no retry can be shown
    services.client.disable_mailbox(mailbox)
    assert [c.response.status_code for c in responses.calls if c.request.method == "PATCH"] == [200]


@responses.activate
def test_reset_password_through_its_307(dimail_token_ok):
    mailbox = factories.MailboxEnabledFactory()
    email = f"{mailbox.local_part}@{mailbox.domain.name}"
    responses.post(re.compile(rf".*/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}/reset_password/"),
                   json={"email": email, "password": "newpassword"}, status=200)
    answer = services.client.reset_password(mailbox)
    assert answer == {"email": email, "password": "newpassword"}


@responses.activate
def test_import_skips_functional_mailboxes_and_oxadmin(dimail_token_ok):
    domain = factories.MailDomainEnabledFactory()

    def item(local, features, names=None):
        ox = {"given_name": names[0], "sur_name": names[1], "display_name": " ".join(names)} if names else None
        return {"type": "mailbox", "imap_active": "yes", "smtp_active": "yes", "email": f"{local}@{domain.name}",
                "features": features, "extras": {"ox": ox, "schedule": None}, "additionalSenders": []}

    responses.get(re.compile(rf".*/v2/domains/{domain.name}/mailboxes/"), status=200, json=[
        item("contact", []), item("grace", ["ox"], ("Grace", "Hopper")), item("oxadmin", ["ox"], ("Admin", "Ctx"))])
    imported = services.client.import_mailboxes(domain)
    assert [(m.local_part, m.first_name) for m in imported] == [("grace", "Grace")]


@responses.activate
def test_dimail_down_is_a_connection_error_through_the_retrying_session():
    domain = factories.MailDomainEnabledFactory()
    responses.get(re.compile(r".*/token/"), body=requests.exceptions.ConnectionError("down"))
    with pytest.raises(requests.exceptions.ConnectionError):
        services.create_mailbox(domain, "jean", "Jean", "Dupont")
    assert len(responses.calls) == 1


@responses.activate
def test_one_dropped_connection_is_absorbed_by_peoples_retries(dimail_token_ok):
    domain = factories.MailDomainEnabledFactory()
    answers.mock_mailbox_created(domain.name, "jean")  # responses cannot drop a connection urllib3 retries
    assert services.create_mailbox(domain, "jean", "Jean", "Dupont").status == "enabled"
    assert [c.request.method for c in responses.calls] == ["GET", "POST"]


@responses.activate
def test_setup_dimail_db_sends_the_two_users():
    responses.post(f"{answers.URL}/users/", status=201)
    dimail.setup_dimail_db()
    assert [c.request.body for c in responses.calls] == [
        b'{"name": "admin", "password": "admin", "is_admin": true, "perms": []}',
        b'{"name": "la_regie", "password": "password", "is_admin": false, '
        b'"perms": ["new_domain", "create_users", "manage_users"]}']
    responses.calls.reset()
    responses.replace(responses.POST, f"{answers.URL}/users/", status=409)
    dimail.setup_dimail_db()
    assert [c.response.status_code for c in responses.calls] == [409, 409]
