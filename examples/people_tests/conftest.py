"""The People kit: paste into People's mailbox_manager/tests/conftest.py; pip install fake-dimail."""
import pytest

from fake_dimail.people import mirrored
from people import factories  # in People: from mailbox_manager import factories


@pytest.fixture(autouse=True)
def mirrored_factories(dimail_fake):
    """Every test talks to a fresh fake dimail holding what People's factories created."""
    with mirrored(dimail_fake, factories.MailDomainFactory, factories.MailboxFactory, factories.AliasFactory):
        yield dimail_fake


dimail_token_ok = pytest.fixture(lambda: None, name="dimail_token_ok")  # the fake gives real tokens
