"""Fixtures for anyone's tests (entry point `pytest11`): `dimail_fake`, `dimail_fake_session`.

Installing fake-dimail registers them; nothing is patched until a test asks
for `dimail_fake`. Configuration, in the project's pytest ini:

    dimail_url  = http://dimail:8000   # else $MAIL_PROVISIONING_API_URL (People's setting), else this
    dimail_seed = people-dev           # or empty

and per test, with the registered marker (accepted under `--strict-markers`):

    @pytest.mark.dimail(seed="empty", url="http://localhost:8001")
    @pytest.mark.dimail(mirror=False)  # People's factories create nothing in this test's fake
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .fake import FakeDimail

DEFAULT_URL = "http://dimail:8000"
URL_VARIABLE = "MAIL_PROVISIONING_API_URL"

# Library code, imported as such. pytest rewrites the asserts of every module of a distribution that
# registers a plugin (this one registers two), and keeps the rewritten code only where bytecode may be
# written: under PYTHONDONTWRITEBYTECODE, which many containers set, a suite's first use of the fake
# compiled its modules again at every run (0.4 s of a 0.85 s import, measured in People's suite). Their
# asserts are internal invariants whose messages no test reads; `contracts` stays rewritten: it is tests.
LIBRARY_PACKAGES = ("fake_dimail", "provisioner")


def _imported_as_library_code() -> None:
    for hook in sys.meta_path:
        marked = getattr(hook, "_must_rewrite", None)  # pytest's AssertionRewritingHook; absent: nothing to do
        if type(hook).__name__ == "AssertionRewritingHook" and isinstance(marked, set):
            marked.difference_update(LIBRARY_PACKAGES)


_imported_as_library_code()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("dimail_url", f"base URL the dimail_fake fixture answers for (default: ${URL_VARIABLE}, "
                                f"else {DEFAULT_URL})", default="")
    parser.addini("dimail_seed", "API users the dimail_fake fixture starts with: people-dev or empty",
                  default="people-dev")


MARKER = ("dimail(seed=None, url=None, mirror=True): the dimail_fake of this test starts from another seed "
          "(people-dev or empty) or answers another URL than the ini's; mirror=False: the factories "
          "fake_dimail.people.mirrored watches create nothing in it")
OPTIONS = ("seed", "url", "mirror")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def dimail_url(config: pytest.Config) -> str:
    return str(config.getini("dimail_url") or os.environ.get(URL_VARIABLE) or DEFAULT_URL)


@pytest.fixture(scope="session")
def dimail_fake_session(pytestconfig: pytest.Config) -> FakeDimail:
    """One fake for the whole session, reset (and seeded again) by `dimail_fake` before each test."""
    from .fake import FakeDimail

    try:
        return FakeDimail(seed=str(pytestconfig.getini("dimail_seed")))
    except ValueError as exc:
        pytest.fail(f"ini option dimail_seed: {exc}", pytrace=False)


@pytest.fixture
def dimail_fake(dimail_fake_session: FakeDimail, pytestconfig: pytest.Config,
                request: pytest.FixtureRequest) -> Iterator[FakeDimail]:
    """A fresh seeded fake answering every `requests`/`httpx` call to the configured dimail URL
    (`@pytest.mark.dimail(seed=..., url=...)` changes either for one test; `mirror=False`: the People
    factories `fake_dimail.people.mirrored` watches create nothing in it)."""
    from .mock import mock_dimail

    marker = request.node.get_closest_marker("dimail")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(options) - set(OPTIONS))
    if marker is not None and (marker.args or unknown):
        pytest.fail(f"@pytest.mark.dimail takes seed=, url= and mirror= only, not {marker.args or unknown}",
                    pytrace=False)
    mirror = options.get("mirror", True)
    if not isinstance(mirror, bool):
        pytest.fail(f"@pytest.mark.dimail: mirror={mirror!r}: give True or False", pytrace=False)
    url = options.get("url") or dimail_url(pytestconfig)
    where = "@pytest.mark.dimail" if marker is not None else f"dimail_url ({url})"
    try:
        mock = mock_dimail(url, fake=dimail_fake_session)
        seeded = dimail_fake_session.seeded(options.get("seed"))
    except ValueError as exc:
        problem = f"{where}: {exc}"
    else:
        problem = None
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    with seeded:
        dimail_fake_session.reset()
        dimail_fake_session.mirror_factories = mirror
        try:
            with mock as fake:
                yield fake
        finally:
            dimail_fake_session.mirror_factories = True
