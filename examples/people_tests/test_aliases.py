"""People's aliases on the fake, and the fake beside People's own habits: `responses`, its network guard."""

import logging

import pytest
import requests
import responses

from fake_dimail import SeedError
from people import dimail, factories, models, services, settings

ALIASES = "/domains/{domain_name}/aliases/"


def test_creation_sends_peoples_payload(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    services.create_alias(domain, "contact", "marie@example.org")
    assert dimail_fake.calls.filter(method="POST", path=ALIASES)[0].json() == {
        "user_name": "contact", "destination": "marie@example.org"}
    assert (domain.name, "contact", "marie@example.org") in dimail_fake.backend.aliases


def test_no_alias_on_a_domain_that_is_not_enabled(dimail_fake):
    domain = factories.MailDomainFactory(status="failed")
    with pytest.raises(dimail.ValidationError):
        services.create_alias(domain, "contact", "marie@example.org")
    assert list(dimail_fake.calls) == []


def test_an_alias_dimail_has_already_is_peoples_400(dimail_fake):
    alias = factories.AliasFactory()
    with pytest.raises(dimail.ValidationError, match="out of sync"):
        services.create_alias(alias.domain, alias.local_part, alias.destination)


def test_deleting_an_alias_dimail_lacks_is_tolerated(dimail_fake):
    alias = factories.AliasFactory()
    dimail_fake.remove_alias(alias.domain.name, alias.local_part, alias.destination)  # out of sync
    services.delete_alias(alias)
    assert [c.status for c in dimail_fake.calls.filter(method="DELETE")] == [404]


def test_bulk_deletion_removes_every_destination(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    for destination in ("a@example.org", "b@example.org"):
        factories.AliasFactory(domain=domain, local_part="team", destination=destination)
    services.client.delete_multiple_alias("team", domain.name)
    assert dimail_fake.backend.aliases == {}


def test_import_aliases_creates_the_missing_ones(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    dimail_fake.add_alias(domain.name, "support", "desk@example.org")
    imported = services.client.import_aliases(domain)
    assert [(a.local_part, a.destination) for a in imported] == [("support", "desk@example.org")]


def test_a_word_dimail_refuses_is_a_seed_error_naming_it(dimail_fake):
    with pytest.raises(SeedError, match=r"user_name 'Mr': String should match pattern '\^\[a-z0-9_-\]"):
        factories.AliasFactory(local_part="Mr")  # what People's factory draws about once in a hundred


@responses.activate
def test_a_responses_mock_beside_the_fake_wins_and_logs_nothing(dimail_fake, caplog):
    caplog.set_level(logging.INFO)
    domain = factories.MailDomainEnabledFactory()
    responses.add(responses.GET, f"{settings.MAIL_PROVISIONING_API_URL}/domains/{domain.name}/spec/", json=[])
    assert services.client.fetch_domain_expected_config(domain) == []  # the test's own mock
    services.create_alias(domain, "contact", "marie@example.org")  # the fake, passed through
    assert [c.operation for c in dimail_fake.calls] == ["/token/", ALIASES]
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_peoples_network_guard_still_refuses_other_hosts(dimail_fake):
    factories.MailDomainEnabledFactory()  # answered by the fake under the guard
    with pytest.raises(RuntimeError, match="The test was about to GET http://example.org/"):
        requests.get("http://example.org/", timeout=5)


def test_removing_what_a_factory_created(dimail_fake):
    mailbox = factories.MailboxEnabledFactory()
    dimail_fake.remove_mailbox(mailbox.domain.name, mailbox.local_part)
    dimail_fake.remove_mailbox(mailbox.domain.name, mailbox.local_part)  # idempotent
    with pytest.raises(requests.exceptions.HTTPError, match="404"):
        services.client.disable_mailbox(mailbox)
    dimail_fake.remove_domain(mailbox.domain.name)
    assert mailbox.domain.name not in dimail_fake.backend.domains
    assert models.MailDomain.filter(name=mailbox.domain.name)  # People's side keeps it
