"""The base install works without the extras, and adds nothing to its user's test run.

A fresh venv per test would take minutes: instead the modules a base install holds are imported
with the extras' packages made unimportable (`sys.modules[name] = None`), in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What only `[contracts]` or the `dev` group brings; `requests` too: People has it, the base does not.
ABSENT = ("hypothesis", "schemathesis", "responses", "playwright", "xdist", "requests", "urllib3",
          "properdocs", "mkdocs", "material", "mkdocstrings")


# pytest loads only fake-dimail's two plugins, as in an environment where the others are not installed.
ONLY_OUR_PLUGINS = ["-p", "fake_dimail.pytest_plugin", "-p", "contracts.plugin", "-p", "no:cacheprovider"]


def run_without_extras(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    blocker = f"import sys\nsys.modules.update({{name: None for name in {ABSENT!r}}})\n"
    return subprocess.run([sys.executable, "-W", "error", "-c", blocker + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})


def test_every_base_module_imports_without_the_extras() -> None:
    done = run_without_extras("""
        import importlib, pkgutil
        import fake_dimail, provisioner
        names = [m.name for package in (fake_dimail, provisioner)
                 for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                 if not m.name.endswith(".__main__")]
        names += ["contracts.plugin", "contracts.target", "contracts.report", "contracts.drift"]
        for name in names:
            importlib.import_module(name)
        print(len(names))
    """)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 40


def test_the_fake_serves_and_mocks_httpx_without_the_extras() -> None:
    done = run_without_extras("""
        import httpx
        from fake_dimail import FakeDimail, mock_dimail
        from provisioner import Provisioner

        fake = FakeDimail(seed="people-dev")
        assert fake.client(auth=("la_regie", "password")).get("/domains/").status_code == 200
        with mock_dimail("http://dimail:8000"):   # requests absent: only httpx is patched
            assert httpx.get("http://dimail:8000/token/", auth=("la_regie", "password")).status_code == 200
        assert Provisioner.for_fake(fake).domain_created("example.fr", "owner").status == "action_required"
        print("ok")
    """)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


def test_the_contract_suite_says_which_extra_to_install() -> None:
    done = run_without_extras(f"""
        import sys, pytest
        sys.exit(pytest.main(["--pyargs", "contracts", "-q", *{ONLY_OUR_PLUGINS!r}]))
    """)
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.strip() == (
        "ERROR: the contract suite needs hypothesis and schemathesis, which the base install of fake-dimail "
        "leaves out: pip install 'fake-dimail[contracts]' (or from a checkout: pip install "
        "'./fake-dimail[contracts]')")


def test_a_people_style_test_passes_without_the_extras(tmp_path: Path) -> None:
    """The fixture with httpx only (requests is blocked here), under -W error and --strict-markers."""
    (tmp_path / "test_people.py").write_text(textwrap.dedent("""
        import httpx

        def test_token(dimail_fake):
            dimail_fake.add_domain("people.example.fr", allowed=["la_regie"])
            answer = httpx.get("http://dimail:8000/domains/people.example.fr/check", auth=("la_regie", "password"))
            assert answer.json()["state"] == "ok"

        def test_nothing_else():
            assert True
    """), encoding="utf-8")
    done = run_without_extras(f"""
        import sys, pytest
        sys.exit(pytest.main(["-q", "-W", "error", "--strict-markers", *{ONLY_OUR_PLUGINS!r}]))
    """, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.splitlines()[-1].startswith("2 passed"), done.stdout + done.stderr
    assert done.stderr == ""


def test_tokens_signed_with_peoples_short_secret_warn_nobody() -> None:
    """PyJWT warns about keys under 32 bytes; the fake pads People's 15-byte secret, which HMAC does anyway."""
    done = subprocess.run([sys.executable, "-X", "dev", "-W", "error", "-c", textwrap.dedent("""
        import hmac, hashlib, base64, json
        from fake_dimail import FakeDimail, Settings
        fake = FakeDimail(seed="people-dev", settings=Settings(jwt_secret="fake_jwt_secret"))  # People's dev secret
        token = fake.token("la_regie")
        head, payload, signature = token.split(".")
        secret = fake.settings.jwt_secret.encode()
        assert len(secret) < 32
        expected = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected  # the token the secret itself signs
        fake.add_domain("example.fr", allowed=["la_regie"])
        bearer = fake.client(headers={"Authorization": f"Bearer {token}"})
        assert bearer.get("/domains/example.fr/mailboxes/").status_code == 200
        print("ok")
    """)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")  # nor a ResourceWarning at exit


def test_a_slow_exchange_under_asyncio_debug_mode_logs_nothing() -> None:
    """`-X dev` turns on asyncio's debug mode, which logs every step of a loop slower than 100 ms: the fake's own
    loops stay out of it (a loaded machine's first request would otherwise print a WARNING into the user's run)."""
    done = subprocess.run([sys.executable, "-X", "dev", "-W", "error", "-c", textwrap.dedent("""
        import time
        from fake_dimail import FakeDimail, journal
        append = journal.Journal.append
        journal.Journal.append = lambda self, exchange: (time.sleep(0.15), append(self, exchange))[1]
        fake = FakeDimail(seed="people-dev")
        assert fake.client(auth=("admin", "admin")).get("/users/").status_code == 200
        print("ok")
    """)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")
