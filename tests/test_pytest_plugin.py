"""The user-facing pytest plugin: installing fake-dimail offers `dimail_fake`, and changes nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import no_bytecode_in_place

PEOPLE_STYLE_TESTS = '''
import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

API_URL = "{url}"


def test_first_sees_a_fresh_seeded_fake(dimail_fake):
    assert requests.get(f"{{API_URL}}/token/", auth=("la_regie", "password"), timeout=5).status_code == 200
    dimail_fake.add_domain("leftover.fr")
    assert [e.path for e in dimail_fake.requests] == ["/token/"]


def test_second_does_not_see_the_first_ones_state(dimail_fake, dimail_fake_session):
    assert dimail_fake is dimail_fake_session
    assert "leftover.fr" not in dimail_fake.backend.domains and dimail_fake.requests == []
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=2, status_forcelist=[502], backoff_factor=0)))
    dimail_fake.faults.add("GET", "/users/", 502)
    assert session.get(f"{{API_URL}}/users/", auth=("admin", "admin"), timeout=5).status_code == 200


def test_without_the_fixture_nothing_is_patched():
    from requests.adapters import HTTPAdapter
    assert HTTPAdapter.get_connection_with_tls_context.__module__ == "requests.adapters"


def test_the_fakes_modules_are_not_assertion_rewritten(dimail_fake):
    import sys
    loaders = {{name: type(module.__spec__.loader).__name__ for name, module in list(sys.modules.items())
               if name.startswith(("fake_dimail.", "provisioner")) and name != "fake_dimail.pytest_plugin"}}
    assert "fake_dimail.backend" in loaders and set(loaders.values()) == {{"SourceFileLoader"}}, loaders
'''


def run_pytest(directory: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=directory,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {}), **no_bytecode_in_place()})


def test_a_project_gets_the_fixtures_on_its_configured_url(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\ndimail_url = http://dimail.people.test:8000\n")
    (tmp_path / "test_people.py").write_text(PEOPLE_STYLE_TESTS.format(url="http://dimail.people.test:8000"))
    result = run_pytest(tmp_path, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_url_comes_from_peoples_setting_when_the_ini_is_silent(tmp_path):
    (tmp_path / "test_people.py").write_text(PEOPLE_STYLE_TESTS.format(url="http://from-env:9000"))
    result = run_pytest(tmp_path, "-q", env={"MAIL_PROVISIONING_API_URL": "http://from-env:9000"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_fixtures_are_listed_and_a_bad_seed_is_one_line(tmp_path):
    listed = run_pytest(tmp_path, "--fixtures", "-q")
    assert "\ndimail_fake -- " in listed.stdout and "\ndimail_fake_session [session scope] -- " in listed.stdout
    (tmp_path / "pytest.ini").write_text("[pytest]\ndimail_seed = nobody\n")
    (tmp_path / "test_x.py").write_text(textwrap.dedent('''
        def test_x(dimail_fake):
            pass
    '''))
    result = run_pytest(tmp_path, "-q")
    assert result.returncode == 1
    assert "ini option dimail_seed: unknown seed 'nobody': choose one of empty, people-dev" in result.stdout
    assert "Traceback" not in result.stdout


MARKED = '''
import pytest
import requests


@pytest.mark.dimail(seed="empty")
def test_an_empty_fake(dimail_fake):
    assert dimail_fake.backend.users == {}
    dimail_fake.reset()  # resets to the marker's seed
    assert dimail_fake.backend.users == {}


def test_the_next_test_has_the_ini_seed_again(dimail_fake):
    assert sorted(dimail_fake.backend.users) == ["admin", "la_regie"]


@pytest.mark.dimail(url="http://localhost:8123")
def test_another_url(dimail_fake):
    assert requests.get("http://localhost:8123/token/", auth=("la_regie", "password"), timeout=5).status_code == 200


@pytest.mark.dimail(seed="nobody")
def test_a_bad_seed(dimail_fake):
    pass


@pytest.mark.dimail("empty")
def test_a_positional_argument(dimail_fake):
    pass


@pytest.mark.dimail(mirror=False)
def test_mirroring_off(dimail_fake):
    assert dimail_fake.mirror_factories is False


def test_mirroring_on_again(dimail_fake):
    assert dimail_fake.mirror_factories is True


@pytest.mark.dimail(mirror="no")
def test_a_bad_mirror(dimail_fake):
    pass


@pytest.mark.dimail(mirrors=False)
def test_an_unknown_option(dimail_fake):
    pass
'''


def test_the_dimail_marker_is_registered_and_sets_seed_and_url(tmp_path):
    (tmp_path / "test_marked.py").write_text(MARKED)
    result = run_pytest(tmp_path, "-q", "--strict-markers", "-rE")
    assert "5 passed, 4 errors" in result.stdout, result.stdout + result.stderr
    assert "@pytest.mark.dimail: unknown seed 'nobody': choose one of empty, people-dev" in result.stdout
    assert "@pytest.mark.dimail takes seed=, url= and mirror= only, not ('empty',)" in result.stdout
    assert "@pytest.mark.dimail takes seed=, url= and mirror= only, not ['mirrors']" in result.stdout
    assert "@pytest.mark.dimail: mirror='no': give True or False" in result.stdout
    assert "Traceback" not in result.stdout
    listed = run_pytest(tmp_path, "--markers")
    assert ("@pytest.mark.dimail(seed=None, url=None, mirror=True): the dimail_fake of this test"
            in listed.stdout)
    assert "mirror=False: the factories fake_dimail.people.mirrored watches create nothing in it" in listed.stdout


def test_the_people_kit_example_suite_passes_under_peoples_network_guard():
    example = Path(__file__).resolve().parents[1] / "examples" / "people_tests"
    kit = (example / "conftest.py").read_text()
    assert len(kit.splitlines()) <= 15
    result = run_pytest(example, "-q", "-p", "no:randomly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "39 passed" in result.stdout
    assert "no_http_requests" in (example / "people" / "backend_conftest.py").read_text()
