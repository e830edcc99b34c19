"""examples/people_tests/test_aliases.py, with dimail mocked as People mocks it."""

import json
import logging
import re

import pytest
import requests
import responses

from people import dimail, factories, models, services, settings


@responses.activate
def test_creation_sends_peoples_payload(dimail_token_ok):
    domain = factories.MailDomainEnabledFactory()
    responses.post(re.compile(rf".*/domains/{domain.name}/aliases/"), status=201, json={
        "username": "contact", "domain": domain.name, "destination": "marie@example.org", "allow_to_send": False})
    services.create_alias(domain, "contact", "marie@example.org")
    assert json.loads(responses.calls[1].request.body) == {"user_name": "contact", "destination": "marie@example.org"}


@responses.activate
def test_no_alias_on_a_domain_that_is_not_enabled():
    domain = factories.MailDomainFactory(status="failed")
    with pytest.raises(dimail.ValidationError):
        services.create_alias(domain, "contact", "marie@example.org")
    assert len(responses.calls) == 0


@responses.activate
def test_an_alias_dimail_has_already_is_peoples_400(dimail_token_ok):
    alias = factories.AliasFactory()
    responses.post(re.compile(rf".*/domains/{alias.domain.name}/aliases/"), status=409,
                   json={"detail": "Alias already exists"})
    with pytest.raises(dimail.ValidationError, match="out of sync"):
        services.create_alias(alias.domain, alias.local_part, alias.destination)


@responses.activate
def test_deleting_an_alias_dimail_lacks_is_tolerated(dimail_token_ok):
    alias = factories.AliasFactory()
    responses.delete(re.compile(rf".*/domains/{alias.domain.name}/aliases/"), status=404, json={"detail": "Not Found"})
    services.delete_alias(alias)
    assert [c.response.status_code for c in responses.calls if c.request.method == "DELETE"] == [404]


@responses.activate
def test_bulk_deletion_removes_every_destination(dimail_token_ok):
    domain = factories.MailDomainEnabledFactory()
    for destination in ("a@example.org", "b@example.org"):
        factories.AliasFactory(domain=domain, local_part="team", destination=destination)
    responses.delete(re.compile(rf".*/domains/{domain.name}/aliases/team/all"), status=204)
    services.client.delete_multiple_alias("team", domain.name)
    assert responses.calls[1].response.status_code == 204


@responses.activate
def test_import_aliases_creates_the_missing_ones(dimail_token_ok):
    domain = factories.MailDomainEnabledFactory()
    responses.get(re.compile(rf".*/domains/{domain.name}/aliases/"), status=200, json=[
        {"username": "support", "domain": domain.name, "destination": "desk@example.org", "allow_to_send": False}])
    imported = services.client.import_aliases(domain)
    assert [(a.local_part, a.destination) for a in imported] == [("support", "desk@example.org")]


@responses.activate
def test_a_word_dimail_refuses_is_a_seed_error_naming_it():
    alias = factories.AliasFactory(local_part="Mr")  # with mocks, nothing tells People that dimail refuses it
    assert alias.local_part == "Mr"


@responses.activate
def test_a_responses_mock_beside_the_fake_wins_and_logs_nothing(dimail_token_ok, caplog):
    caplog.set_level(logging.INFO)
    domain = factories.MailDomainEnabledFactory()
    responses.add(responses.GET, f"{settings.MAIL_PROVISIONING_API_URL}/domains/{domain.name}/spec/", json=[])
    responses.post(re.compile(rf".*/domains/{domain.name}/aliases/"), status=201, json={
        "username": "contact", "domain": domain.name, "destination": "marie@example.org", "allow_to_send": False})
    assert services.client.fetch_domain_expected_config(domain) == []
    services.create_alias(domain, "contact", "marie@example.org")
    assert len(responses.calls) == 3
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def test_peoples_network_guard_still_refuses_other_hosts():
    factories.MailDomainEnabledFactory()
    with pytest.raises(RuntimeError, match="The test was about to GET http://example.org/"):
        requests.get("http://example.org/", timeout=5)


@responses.activate
def test_removing_what_a_factory_created(dimail_token_ok):
    mailbox = factories.MailboxEnabledFactory()
    responses.patch(re.compile(rf".*/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}"),
                    json={"detail": "Mailbox not found"}, status=404)
    with pytest.raises(requests.exceptions.HTTPError, match="404"):
        services.client.disable_mailbox(mailbox)
    assert models.MailDomain.filter(name=mailbox.domain.name)
