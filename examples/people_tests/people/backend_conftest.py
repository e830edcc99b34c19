"""Stands in for People's `src/backend/conftest.py` (loaded with `-p people.backend_conftest`).

Its autouse network guard, as People has it: any request through urllib3 to a host other than
localhost fails the test. The fake answers under it; every other host still meets it.
"""

import pytest
from urllib3.connectionpool import HTTPConnectionPool

from people import factories, models


@pytest.fixture(autouse=True)
def no_http_requests(monkeypatch):
    allowed = {"localhost"}
    urlopen = HTTPConnectionPool.urlopen

    def guarded(self, method, url, *args, **kwargs):
        if self.host in allowed:
            return urlopen(self, method, url, *args, **kwargs)
        raise RuntimeError(f"The test was about to {method} {self.scheme}://{self.host}{url}")

    monkeypatch.setattr("urllib3.connectionpool.HTTPConnectionPool.urlopen", guarded)


@pytest.fixture(autouse=True)
def database():
    """Each test starts with empty tables, as Django's test transaction gives."""
    yield
    models.flush()


@pytest.fixture
def mailbox_data():
    example = factories.MailboxFactory.build()
    return {"first_name": example.first_name, "last_name": example.last_name, "local_part": example.local_part,
            "secondary_email": example.secondary_email}
