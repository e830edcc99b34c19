"""People's mail domains on the fake: creation, status fetches, the DNS to publish."""

import pytest
import requests

from people import factories, models, services

MAILBOX = "/domains/{domain_name}/mailboxes/{user_name}"


def test_creation_sends_peoples_payload_and_lands_action_required(dimail_fake):
    domain = services.create_domain("people.example.fr")
    assert dimail_fake.calls.filter(method="POST", path="/domains/")[0].json() == {
        "name": "people.example.fr", "context_name": "people.example.fr",
        "features": ["webmail", "mailbox", "alias"], "delivery": "virtual"}
    assert domain.status == models.MailDomainStatus.ACTION_REQUIRED  # nothing published in DNS yet
    assert [c.operation for c in dimail_fake.calls] == [
        "/domains/", "/domains/{domain_name}/check", None, "/domains/{domain_name}/spec"]  # None: the 307
    assert len(domain.expected_config) == 6


@pytest.mark.dimail(mirror=False)  # a model test: this name is People's to slugify, dimail would refuse it
def test_a_domain_name_is_slugified_without_dimail(dimail_fake):
    domain = factories.MailDomainFactory(name="N3w_D0main-Name$.com")
    assert domain.slug == "n3w_d0main-namecom"
    assert "N3w_D0main-Name$.com" not in dimail_fake.backend.domains


def test_a_published_zone_lands_enabled_through_fix(dimail_fake):
    domain = services.create_domain("people.example.fr")
    dimail_fake.publish("people.example.fr")  # the owner publishes what /spec/ asked for
    dimail_fake.calls.reset()
    services.client.fetch_domain_status(domain)
    assert domain.status == models.MailDomainStatus.ENABLED
    assert [c.operation for c in dimail_fake.calls] == [
        "/domains/{domain_name}/check", None, "/domains/{domain_name}/fix"]


@pytest.mark.parametrize("status", ["enabled", "action_required", "failed"])
def test_a_factory_domain_stays_in_its_status_at_the_next_fetch(dimail_fake, status):
    domain = factories.MailDomainFactory(status=status)
    services.client.fetch_domain_status(domain)
    assert domain.status == status


def test_a_pending_domain_is_unchecked_until_its_first_fetch(dimail_fake):
    domain = factories.MailDomainFactory()
    assert dimail_fake.backend.domains[domain.name].state == "new"
    services.client.fetch_domain_status(domain)
    assert domain.status == models.MailDomainStatus.ACTION_REQUIRED


def test_a_disabled_domain_is_valid_in_dimail(dimail_fake):
    domain = factories.MailDomainFactory(status=models.MailDomainStatus.DISABLED)
    assert dimail_fake.check(domain.name)["state"] == "ok"


def test_an_enabling_fetch_sends_the_pending_mailboxes(dimail_fake):
    domain = factories.MailDomainFactory(status="action_required")
    mailbox = factories.MailboxFactory(domain=domain, first_name="Marie", last_name="Curie", local_part="marie.curie")
    assert (domain.name, "marie.curie") not in dimail_fake.backend.mailboxes  # pending: not in dimail
    dimail_fake.set_domain_status(domain.name, people_status="enabled")  # the owner fixed the DNS
    services.client.fetch_domain_status(domain)
    assert (domain.status, mailbox.status) == ("enabled", "enabled")
    sent = dimail_fake.calls.filter(method="POST", path=MAILBOX)
    assert sent[0].json() == {"givenName": "Marie", "surName": "Curie", "displayName": "Marie Curie"}
    assert mailbox.password == sent[0].response["password"]


def test_the_fix_path_leaves_pending_mailboxes_pending(dimail_fake):
    domain = factories.MailDomainFactory(status="action_required")
    mailbox = factories.MailboxFactory(domain=domain)
    dimail_fake.set_domain_status(domain.name, status="broken", failing=["ox"])  # internal only: /fix/ repairs it
    services.client.fetch_domain_status(domain)
    assert (domain.status, mailbox.status) == ("enabled", "pending")


def test_expected_config_is_dimails_spec_with_a_real_dkim_key(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    config = services.client.fetch_domain_expected_config(domain)
    assert [(r["target"], r["type"]) for r in config] == [
        ("", "mx"), ("dimail._domainkey", "txt"), ("imap", "cname"), ("smtp", "cname"), ("", "txt"),
        ("webmail", "cname")]
    assert config[1]["value"].startswith("v=DKIM1; h=sha256; k=rsa; p=MIIBIjAN")


def test_expected_config_is_empty_while_dimail_is_down(dimail_fake):
    domain = factories.MailDomainEnabledFactory()
    with dimail_fake.faults.down():
        assert services.client.fetch_domain_expected_config(domain) == []


def test_creating_a_domain_dimail_has_is_peoples_error(dimail_fake):
    factories.MailDomainEnabledFactory(name="taken.fr")
    with pytest.raises(requests.exceptions.HTTPError, match=r"\[DIMAIL\] unexpected error: 409"):
        services.create_domain("taken.fr")
