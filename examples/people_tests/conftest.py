"""Paste into People's `src/backend/mailbox_manager/tests/conftest.py` (with `fake-dimail` installed).

`dimail_fake` comes with the package: a fresh fake, seeded like People's dev
dimail (admin, la_regie), answering every `requests` call to
MAIL_PROVISIONING_API_URL. The fixtures below are conveniences on top of it.
"""

import pytest
import responses

import people_settings as settings  # in People: from django.conf import settings


@pytest.fixture
def enabled_domain(dimail_fake):
    """A domain People shows as `enabled`: valid in dimail, la_regie allowed on it."""
    dimail_fake.add_domain("people.example.fr", allowed=["la_regie"])
    return "people.example.fr"


@pytest.fixture
def rsps(dimail_fake):
    """`responses` for a test's own special answers; every other call still reaches the fake."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(settings.MAIL_PROVISIONING_API_URL)
        yield mock
