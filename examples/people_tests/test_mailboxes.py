"""People's mailboxes on the fake: what is sent, what comes back, what People does with it."""

import json

import pytest
import requests
import responses

from people import dimail, factories, models, services

MAILBOX = "/domains/{domain_name}/mailboxes/{user_name}"


@pytest.mark.parametrize(("first", "last"), [("Jean", "Dupont"), ("Éloïse", "Müller"), ("Zoé", "")])
def test_creation_sends_peoples_payload_and_keeps_dimails_password(dimail_fake, dimail_token_ok, first, last):
    domain = factories.MailDomainEnabledFactory()
    mailbox = services.create_mailbox(domain, "jean", first, last)
    assert dimail_fake.calls[1].json() == {"givenName": first, "surName": last, "displayName": f"{first} {last}"}
    assert [c.operation for c in dimail_fake.calls] == ["/token/", MAILBOX]
    assert (mailbox.status, mailbox.password) == ("enabled", dimail_fake.calls[1].response["password"])


@responses.activate
def test_peoples_assertions_on_responses_calls_read_the_fake(dimail_fake):
    """People's own test, its mocks deleted: what `responses` passes through to the fake is in its calls."""
    domain = factories.MailDomainEnabledFactory()
    services.create_mailbox(domain, "jean", "Jean", "Dupont")
    assert len(responses.calls) == 2  # the token, then the mailbox
    assert json.loads(responses.calls[1].request.body)["givenName"] == "Jean"
    assert responses.calls[1].response.status_code == 201


def test_a_mailbox_of_a_pending_domain_waits_without_a_call(dimail_fake):
    domain = factories.MailDomainFactory()
    mailbox = services.create_mailbox(domain, "jean", "Jean", "Dupont")
    assert mailbox.status == "pending" and list(dimail_fake.calls) == []


def test_names_used_in_the_context_are_a_500_then_peoples_400(dimail_fake):
    existing = factories.MailboxEnabledFactory(first_name="Jean", last_name="Dupont", local_part="jean")
    # The probe asks about the new address, which holds nothing: People's message quotes None (PEOPLE.md §10.6).
    with pytest.raises(dimail.ValidationError, match="already in use in this context : None"):
        services.create_mailbox(existing.domain, "jean.dupont", "Jean", "Dupont")
    assert [c.status for c in dimail_fake.calls] == [200, 500, 307, 200]
    assert models.Mailbox.filter(local_part="jean.dupont") == []


def test_a_secondary_address_gets_a_login_code(dimail_fake, mailbox_data):
    domain = factories.MailDomainEnabledFactory()
    services.create_mailbox(domain, **mailbox_data)
    code = dimail_fake.calls.filter(path="/domains/{domain_name}/mailboxes/{user_name}/code")
    assert code[0].json() == {"expires_in": 3600, "maxuse": 3} and code[0].status == 201


def test_disable_then_enable(dimail_fake):
    mailbox = factories.MailboxEnabledFactory(first_name="Ada", last_name="Lovelace")
    services.client.disable_mailbox(mailbox)
    assert dimail_fake.backend.mailboxes[(mailbox.domain.name, mailbox.local_part)].imap_active == "no"
    services.client.enable_mailbox(mailbox)
    patches = dimail_fake.calls.filter(method="PATCH")
    assert [p.json() for p in patches] == [
        {"active": "no"}, {"active": "yes", "givenName": "Ada", "surName": "Lovelace", "displayName": "Ada Lovelace"}]
    assert dimail_fake.backend.mailboxes[(mailbox.domain.name, mailbox.local_part)].imap_active == "yes"


def test_a_disabled_factory_mailbox_is_inactive_in_dimail(dimail_fake):
    mailbox = factories.MailboxFactory(status=models.MailboxStatus.DISABLED)
    assert dimail_fake.backend.mailboxes[(mailbox.domain.name, mailbox.local_part)].imap_active == "no"


def test_enabling_a_mailbox_dimail_never_created_is_peoples_500(dimail_fake):
    mailbox = factories.MailboxFactory()  # pending: People never sent it
    with pytest.raises(requests.exceptions.HTTPError, match="404"):
        services.client.enable_mailbox(mailbox)


def test_a_retried_patch_gets_past_two_502s(dimail_fake):
    mailbox = factories.MailboxEnabledFactory()
    dimail_fake.faults.add("PATCH", MAILBOX, 502, times=2)
    services.client.disable_mailbox(mailbox)
    assert [c.status for c in dimail_fake.calls.filter(method="PATCH")] == [502, 502, 200]


def test_reset_password_through_its_307(dimail_fake):
    mailbox = factories.MailboxEnabledFactory()
    answer = services.client.reset_password(mailbox)
    assert answer["email"] == f"{mailbox.local_part}@{mailbox.domain.name}"
    assert dimail_fake.backend.check_password(dimail_fake._root, mailbox.domain.name, mailbox.local_part,
                                              answer["password"])


def test_import_skips_functional_mailboxes_and_oxadmin(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    dimail_fake.add_mailbox(domain.name, "grace", given_name="Grace", sur_name="Hopper")
    dimail_fake.add_mailbox(domain.name, "contact", v2=True, features=[])  # functional: no OX user
    imported = services.client.import_mailboxes(domain)
    assert [(m.local_part, m.first_name) for m in imported] == [("grace", "Grace")]


def test_dimail_down_is_a_connection_error_through_the_retrying_session(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    with dimail_fake.faults.down():
        with pytest.raises(requests.exceptions.ConnectionError):
            services.create_mailbox(domain, "jean", "Jean", "Dupont")
    assert [c.fault for c in dimail_fake.calls] == ["connection-error"]  # the token request, not retried


def test_one_dropped_connection_is_absorbed_by_peoples_retries(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    dimail_fake.faults.add("POST", MAILBOX, "connection-error")  # times=1: one attempt as the server sees it
    assert services.create_mailbox(domain, "jean", "Jean", "Dupont").status == "enabled"
    assert [c.fault for c in dimail_fake.calls.filter(method="POST")] == ["connection-error", None]


@pytest.mark.dimail(seed="empty")
def test_setup_dimail_db_sends_the_two_users(dimail_fake):
    dimail.setup_dimail_db()
    assert [c.body for c in dimail_fake.calls] == [
        b'{"name": "admin", "password": "admin", "is_admin": true, "perms": []}',
        b'{"name": "la_regie", "password": "password", "is_admin": false, '
        b'"perms": ["new_domain", "create_users", "manage_users"]}']
    dimail_fake.calls.reset()
    dimail.setup_dimail_db()  # again: the users exist
    assert [c.status for c in dimail_fake.calls] == [403, 409]  # no more bootstrap; la_regie exists
