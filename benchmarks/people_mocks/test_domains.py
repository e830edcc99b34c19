"""examples/people_tests/test_domains.py, with dimail mocked as People mocks it."""

import json
import re

import pytest
import requests
import responses

import dimail_answers as answers
from people import factories, models, services


@responses.activate
def test_creation_sends_peoples_payload_and_lands_action_required():
    name = "people.example.fr"
    responses.post(re.compile(r".*/domains/"), body=str({"name": name}), status=201)
    answers.mock_check(name, answers.check_broken_external(name))
    answers.mock_spec(name)
    domain = services.create_domain(name)
    assert json.loads(responses.calls[0].request.body) == {
        "name": name, "context_name": name, "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
    assert domain.status == models.MailDomainStatus.ACTION_REQUIRED
    assert len(responses.calls) == 3
    assert len(domain.expected_config) == 6


@responses.activate
def test_a_domain_name_is_slugified_without_dimail():
    domain = factories.MailDomainFactory(name="N3w_D0main-Name$.com")
    assert domain.slug == "n3w_d0main-namecom"


@responses.activate
def test_a_published_zone_lands_enabled_through_fix():
    name = "people.example.fr"
    responses.post(re.compile(r".*/domains/"), body=str({"name": name}), status=201)
    answers.mock_check(name, answers.check_broken_external(name))
    answers.mock_spec(name)
    domain = services.create_domain(name)
    responses.reset()
    answers.mock_check(name, answers.check_broken_internal(name))
    answers.mock_fix(name, answers.check_ok(name))
    services.client.fetch_domain_status(domain)
    assert domain.status == models.MailDomainStatus.ENABLED
    assert len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize("status", ["enabled", "action_required", "failed"])
def test_a_factory_domain_stays_in_its_status_at_the_next_fetch(status):
    domain = factories.MailDomainFactory(status=status)
    body = {"enabled": answers.check_ok, "action_required": answers.check_broken_external,
            "failed": answers.check_broken_internal}[status](domain.name)
    answers.mock_check(domain.name, body)
    if status == "failed":
        answers.mock_fix(domain.name, body)
    services.client.fetch_domain_status(domain)
    assert domain.status == status


@responses.activate
def test_a_pending_domain_is_unchecked_until_its_first_fetch():
    domain = factories.MailDomainFactory()
    answers.mock_check(domain.name, answers.check_broken_external(domain.name))
    services.client.fetch_domain_status(domain)
    assert domain.status == models.MailDomainStatus.ACTION_REQUIRED


@responses.activate
def test_a_disabled_domain_is_valid_in_dimail():
    domain = factories.MailDomainFactory(status=models.MailDomainStatus.DISABLED)
    answers.mock_check(domain.name, answers.check_ok(domain.name))
    assert services.client.check_domain(domain)["state"] == "ok"


@responses.activate
def test_an_enabling_fetch_sends_the_pending_mailboxes(dimail_token_ok):
    domain = factories.MailDomainFactory(status="action_required")
    mailbox = factories.MailboxFactory(domain=domain, first_name="Marie", last_name="Curie", local_part="marie.curie")
    answers.mock_check(domain.name, answers.check_ok(domain.name))
    answers.mock_mailbox_created(domain.name, "marie.curie")
    services.client.fetch_domain_status(domain)
    assert (domain.status, mailbox.status) == ("enabled", "enabled")
    assert json.loads(responses.calls[2].request.body) == {
        "givenName": "Marie", "surName": "Curie", "displayName": "Marie Curie"}
    assert mailbox.password == "password"


@responses.activate
def test_the_fix_path_leaves_pending_mailboxes_pending():
    domain = factories.MailDomainFactory(status="action_required")
    mailbox = factories.MailboxFactory(domain=domain)
    answers.mock_check(domain.name, answers.check_broken_internal(domain.name))
    answers.mock_fix(domain.name, answers.check_ok(domain.name))
    services.client.fetch_domain_status(domain)
    assert (domain.status, mailbox.status) == ("enabled", "pending")


@responses.activate
def test_expected_config_is_dimails_spec_with_a_real_dkim_key():
    domain = factories.MailDomainEnabledFactory()
    answers.mock_spec(domain.name)
    config = services.client.fetch_domain_expected_config(domain)
    assert [(r["target"], r["type"]) for r in config] == [
        ("", "mx"), ("dimail._domainkey", "txt"), ("imap", "cname"), ("smtp", "cname"), ("", "txt"),
        ("webmail", "cname")]
    assert config[1]["value"].startswith("v=DKIM1; h=sha256; k=rsa; p=MIIBIjAN")


@responses.activate
def test_expected_config_is_empty_while_dimail_is_down():
    domain = factories.MailDomainEnabledFactory()
    responses.get(re.compile(rf".*/domains/{domain.name}/spec/"), body=requests.exceptions.ConnectionError("down"))
    assert services.client.fetch_domain_expected_config(domain) == []


@responses.activate
def test_creating_a_domain_dimail_has_is_peoples_error():
    factories.MailDomainEnabledFactory(name="taken.fr")
    responses.post(re.compile(r".*/domains/"), body=str({"detail": "Domain already exists"}), status=409)
    with pytest.raises(requests.exceptions.HTTPError, match=r"\[DIMAIL\] unexpected error: 409"):
        services.create_domain("taken.fr")
