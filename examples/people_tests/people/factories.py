"""Stands in for `mailbox_manager.factories`: factory_boy factories shaped like People's."""

from __future__ import annotations

import re
import unicodedata

import factory
from faker import Faker

from . import models

fake = Faker()


def slugify(text: str) -> str:
    """Django's `slugify`, near enough: ASCII, lower case, dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", ascii_text.lower())).strip("-_")


class ModelFactory(factory.Factory):
    """What `DjangoModelFactory` does: create, then save."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj.save()
        return obj


class MailDomainFactory(ModelFactory):
    """A mail domain, `pending` unless told otherwise (as People's)."""

    class Meta:
        model = models.MailDomain

    name = factory.Sequence(lambda n: f"domain{n}.com")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    support_email = factory.Faker("email")


class MailDomainEnabledFactory(MailDomainFactory):
    status = models.MailDomainStatus.ENABLED


class MailboxFactory(ModelFactory):
    """A mailbox, `pending` unless told otherwise; its domain is enabled."""

    class Meta:
        model = models.Mailbox

    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="de_DE")
    local_part = factory.LazyAttribute(lambda a: f"{slugify(a.first_name)}.{slugify(a.last_name)}")
    domain = factory.SubFactory(MailDomainEnabledFactory)
    secondary_email = factory.Faker("email")


class MailboxEnabledFactory(MailboxFactory):
    status = models.MailboxStatus.ENABLED


class AliasFactory(ModelFactory):
    """An alias whose local part is a random word, as People's. People's draws Faker's words as they come,
    and 9 of its 971 (`Mr`, `TV`, `American`...) are local parts dimail refuses; this one lowers them."""

    class Meta:
        model = models.Alias

    domain = factory.SubFactory(MailDomainEnabledFactory)
    local_part = factory.LazyFunction(lambda: fake.word().lower())
    destination = factory.Faker("email")
