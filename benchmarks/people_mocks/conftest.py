"""People's own mailbox test fixtures: dimail answered by `responses` mocks (no fake)."""

import re

import pytest
import responses


@pytest.fixture
def dimail_token_ok():
    responses.get(re.compile(r".*/token/"), json={"access_token": "token", "token_type": "bearer"}, status=200,
                  content_type="application/json")
