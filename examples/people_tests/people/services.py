"""Stands in for what People's API views do around the client (PEOPLE.md §6)."""

from __future__ import annotations

import requests

from . import dimail, models

client = dimail.DimailAPIClient()


def create_domain(name: str) -> models.MailDomain:
    """POST /api/v1.0/mail-domains/: create in dimail, save pending, fetch the status, then the DNS to publish."""
    client.create_domain(name)
    domain = models.MailDomain(name=name, slug=name.replace(".", "-"))
    domain.save()
    try:
        client.fetch_domain_status(domain)
    except requests.exceptions.HTTPError:
        return domain  # logged; the expected configuration is then not fetched
    client.fetch_domain_expected_config(domain)
    return domain


def create_mailbox(domain: models.MailDomain, local_part: str, first_name: str, last_name: str,
                   secondary_email: str = "") -> models.Mailbox:
    """On an enabled domain: sent at once (and a login link when there is a secondary address); on a
    disabled one refused; else kept pending until the domain is enabled."""
    if domain.status == models.MailDomainStatus.DISABLED:
        raise dimail.ValidationError("You can't create a mailbox for a disabled domain.")
    mailbox = models.Mailbox(domain, local_part, first_name, last_name, secondary_email)
    mailbox.save()
    if domain.status != models.MailDomainStatus.ENABLED:
        return mailbox
    try:
        response = client.create_mailbox(mailbox)
    except dimail.ValidationError:
        mailbox.delete()
        raise
    mailbox.status, mailbox.password = models.MailboxStatus.ENABLED, response.json()["password"]
    if secondary_email:
        client.get_login_code(mailbox)
    return mailbox


def create_alias(domain: models.MailDomain, local_part: str, destination: str) -> models.Alias:
    if domain.status != models.MailDomainStatus.ENABLED:
        raise dimail.ValidationError("Aliases can only be created on enabled domains.")
    alias = models.Alias(domain, local_part, destination)
    client.create_alias(alias)
    alias.save()
    return alias


def delete_alias(alias: models.Alias) -> None:
    alias.delete()
    client.delete_alias(alias)
