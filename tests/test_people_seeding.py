"""Seeding in People's terms, removal, and the families seeded beside mailboxes (issue 19).

People's own status logic (`provisioner.Provisioner.domain_status`, People's fetch written as a
library) must land on each `people_status` the fake is told.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from fake_dimail import FakeDimail, SeedError, dkim
from fake_dimail.people import mirror, mirrored
from provisioner import Provisioner


@pytest.fixture
def fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


def people_fetch(fake: FakeDimail, domain: str, current: str = "pending") -> str:
    """Where People's status fetch lands for the domain, starting from People's `current` status."""
    people = Provisioner.for_fake(fake)
    people.statuses[domain] = current
    return people.domain_status(domain).status


def failing(fake: FakeDimail, domain: str) -> list[str]:
    return sorted(name for name, r in fake.backend.domains[domain].checks.items() if not r.ok)


# --- People's statuses --------------------------------------------------------------------


@pytest.mark.parametrize(("people_status", "state", "fails"), [
    ("enabled", "ok", []),
    ("action_required", "broken", ["domain_exist"]),
    ("failed", "broken", ["cert"]),
])
def test_peoples_own_fetch_lands_on_the_status_seeded(fake, people_status, state, fails):
    fake.add_domain("d.fr", people_status=people_status, allowed=["la_regie"])
    assert (fake.backend.domains["d.fr"].state, failing(fake, "d.fr")) == (state, fails)
    current = "enabled" if people_status == "enabled" else "pending"
    assert people_fetch(fake, "d.fr", current) == people_status


def test_pending_is_never_checked_and_disabled_is_valid(fake):
    fake.add_domain("pending.fr", people_status="pending")
    domain = fake.backend.domains["pending.fr"]
    assert (domain.state, domain.checked_at, fake.dns("pending.fr")) == ("new", None, [])
    fake.add_domain("disabled.fr", people_status="disabled")
    assert fake.backend.domains["disabled.fr"].state == "ok"  # guess: People alone disables a domain


def test_failing_checks_in_peoples_terms(fake):
    fake.add_domain("mx.fr", people_status="action_required", failing=["mx"], allowed=["la_regie"])
    assert failing(fake, "mx.fr") == ["mx"] and people_fetch(fake, "mx.fr") == "action_required"
    fake.add_domain("ox.fr", people_status="failed", failing=["ox", "cert"], allowed=["la_regie"])
    assert failing(fake, "ox.fr") == ["cert", "ox"] and people_fetch(fake, "ox.fr") == "failed"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"people_status": "active"}, "people_status 'active': choose one of pending, enabled, action_required, "
                                  "failed, disabled"),
    ({"people_status": "enabled", "status": "ok"}, "give one of them"),
    ({"people_status": "failed", "fixable": True}, "People's /fix/ would repair it"),
    ({"people_status": "failed", "failing": ["mx"]}, "People shows failed when only internal checks fail"),
    ({"people_status": "action_required", "failing": ["ox"]}, "when an external check fails"),
    ({"people_status": "enabled", "failing": ["mx"]}, "nothing fails on a domain People shows enabled"),
    ({"status": "enabled"}, "People's statuses go in people_status="),
])
def test_impossible_statuses_are_refused_and_nothing_is_created(fake, kwargs, message):
    with pytest.raises(SeedError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fake.add_domain("d.fr", **kwargs)
    assert "d.fr" not in fake.backend.domains


def test_set_domain_status_moves_a_domain_and_keeps_what_hangs_on_it(fake):
    fake.add_domain("d.fr", allowed=["la_regie"])
    fake.add_mailbox("d.fr", "jean")
    fake.add_alias("d.fr", "contact", "jean@d.fr")
    key = fake.backend.domains["d.fr"].dkim_public
    fake.set_domain_status("d.fr", people_status="failed")
    assert people_fetch(fake, "d.fr") == "failed"
    fake.set_domain_status("d.fr", people_status="action_required", failing=["spf"])
    assert failing(fake, "d.fr") == ["spf"]
    fake.set_domain_status("d.fr", status="ok")
    assert people_fetch(fake, "d.fr", "enabled") == "enabled"
    fake.set_domain_status("d.fr", people_status="pending")
    assert fake.backend.domains["d.fr"].state == "new"
    assert (("d.fr", "jean") in fake.backend.mailboxes, ("d.fr", "contact", "jean@d.fr") in fake.backend.aliases,
            ("la_regie", "d.fr") in fake.backend.allows) == (True, True, True)
    assert fake.backend.domains["d.fr"].dkim_public == key
    assert {e.path for e in fake.requests} <= {"/domains/d.fr/check", "/domains/d.fr/fix/", "/domains/d.fr/fix"}


def test_a_domain_already_in_the_people_status_asked_is_left_alone(fake):
    fake.add_domain("d.fr", people_status="action_required", failing=["mx"])
    before = fake.state()["domains"]
    fake.set_domain_status("d.fr", people_status="action_required")
    fake.add_domain("d.fr", people_status="action_required")
    assert fake.state()["domains"] == before and failing(fake, "d.fr") == ["mx"]


def test_add_domain_refuses_an_existing_domain_in_another_status(fake):
    fake.add_domain("d.fr")
    with pytest.raises(SeedError, match="exists and People shows it enabled; set_domain_status\\(\\) moves it"):
        fake.add_domain("d.fr", people_status="failed")
    with pytest.raises(SeedError, match="exists and it is ok; set_domain_status"):
        fake.add_domain("d.fr", status="broken")
    with pytest.raises(SeedError, match="no such domain; add_domain\\(\\) it first"):
        fake.set_domain_status("none.fr", people_status="enabled")
    assert fake.backend.domains["d.fr"].state == "ok"


def test_mailboxes_in_peoples_terms(fake):
    fake.add_domain("d.fr")
    assert fake.add_mailbox("d.fr", "pending", people_status="pending") is None
    fake.add_mailbox("d.fr", "off", people_status="disabled")
    fake.add_mailbox("d.fr", "on", given_name="On", people_status="enabled")
    rows = fake.backend.mailboxes
    assert ("d.fr", "pending") not in rows
    assert (rows[("d.fr", "off")].imap_active, rows[("d.fr", "on")].imap_active) == ("no", "yes")
    with pytest.raises(SeedError, match="mailbox people_status 'gone'"):
        fake.add_mailbox("d.fr", "x", people_status="gone")


def test_a_local_part_dimail_refuses_names_the_value_and_the_rule(fake):
    fake.add_domain("d.fr")
    rule = r"String should match pattern '\^\[a-z0-9_-\]\+\(\\\.\[a-z0-9_-\]\+\)\*\$'"
    with pytest.raises(SeedError, match=rf"alias Mr@d.fr to a@b.fr: dimail would refuse it \(422\): user_name 'Mr': {rule}"):
        fake.add_alias("d.fr", "Mr", "a@b.fr")
    with pytest.raises(SeedError, match=rf"mailbox TV@d.fr: dimail would refuse it \(422\): local part 'TV': {rule}"):
        fake.add_mailbox("d.fr", "TV")
    assert fake.backend.aliases == {} and ("d.fr", "TV") not in fake.backend.mailboxes


# --- removal --------------------------------------------------------------------------------


def test_removal_is_idempotent_and_leaves_no_journal_entry(fake):
    fake.add_user("owner", "pw")
    fake.add_domain("d.fr", allowed=["owner"])
    fake.add_mailbox("d.fr", "jean")
    fake.add_alias("d.fr", "team", "a@b.fr")
    fake.add_alias("d.fr", "team", "c@b.fr")
    fake.add_alias("d.fr", "contact", "a@b.fr")
    for _ in range(2):
        fake.remove_alias("d.fr", "contact", "a@b.fr")
        fake.remove_alias("d.fr", "team")  # every destination
        fake.remove_mailbox("d.fr", "jean")
        fake.remove_allow("owner", "d.fr")
        fake.remove_user("owner")
    backend = fake.backend
    assert (backend.aliases, ("d.fr", "jean") in backend.mailboxes, "owner" in backend.users) == ({}, False, False)
    for _ in range(2):
        fake.remove_domain("d.fr")
    assert "d.fr" not in backend.domains and fake.requests == []


def test_removing_a_domain_that_still_holds_mailboxes_is_refused(fake):
    fake.add_domain("d.fr")
    fake.add_mailbox("d.fr", "jean")
    with pytest.raises(SeedError, match="domain d.fr: dimail would refuse it: 409 .*remove its mailboxes"):
        fake.remove_domain("d.fr")
    assert "d.fr" in fake.backend.domains


# --- the other families -------------------------------------------------------------------------


def test_functional_v2_mailbox_has_no_ox_user(fake):
    fake.add_domain("d.fr")
    assert fake.add_mailbox("d.fr", "contact", v2=True, features=[]) is not None
    assert fake.add_mailbox("d.fr", "contact", v2=True, features=[]) is None  # idempotent
    view = fake.backend.get_mailbox_v2(fake._root, "d.fr", "contact", True)
    assert (view.features, view.extras.ox) == ([], None)
    fake.add_mailbox("d.fr", "ada", v2=True, given_name="Ada", sur_name="Lovelace")  # features ["ox"]
    assert fake.backend.get_mailbox_v2(fake._root, "d.fr", "ada", True).extras.ox.display_name == "Ada Lovelace"
    with pytest.raises(SeedError, match="features= is the v2 call's"):
        fake.add_mailbox("d.fr", "x", features=[])
    with pytest.raises(SeedError, match="exists with other names, features or activity"):
        fake.add_mailbox("d.fr", "contact", v2=True, features=["ox"])


def test_forwards_public_aliases_app_passwords_secondaries_identities(fake):
    fake.add_domain("d.fr")
    fake.add_mailbox("d.fr", "jean")
    fake.add_mailbox("d.fr", "marie", given_name="Marie", sur_name="Curie")
    forward = fake.add_forward("d.fr", "relay", "smtp:relay.example.org")
    assert fake.add_forward("d.fr", "relay", "smtp:relay.example.org") == forward
    with pytest.raises(SeedError, match="exists to smtp:relay.example.org"):
        fake.add_forward("d.fr", "relay", "smtp:other.example.org")
    with pytest.raises(SeedError, match="409 "):
        fake.add_forward("d.fr", "jean", "smtp:relay.example.org")  # a mailbox receives it
    fake.add_domain("public.fr", features=["alias"])
    fake.backend.state.domains.modify("public.fr", public_alias=True)
    alias = fake.add_public_alias("public.fr", "jean@d.fr", "newsletters")
    assert fake.add_public_alias("public.fr", "jean@d.fr", "newsletters") == alias
    assert alias.alias.endswith("@public.fr") and len(fake.backend.state.public_aliases) == 1
    with pytest.raises(SeedError, match="403"):
        fake.add_public_alias("d.fr", "jean@d.fr", "x")  # public_alias off there
    secret = fake.add_app_password("d.fr", "jean", "thunderbird", password="app-secret")
    assert secret == "app-secret" and fake.add_app_password("d.fr", "jean", "thunderbird") is None
    assert fake.backend.check_password(fake._root, "d.fr", "jean", "app-secret")
    link = fake.add_secondary("d.fr", "jean", "marie@d.fr", display_name="Marie's box")
    assert fake.add_secondary("d.fr", "jean", "marie@d.fr", display_name="Marie's box") == link
    with pytest.raises(SeedError, match="exists with displayName"):
        fake.add_secondary("d.fr", "jean", "marie@d.fr")
    fake.add_identity("d.fr", "jean", "sub-123")
    fake.add_identity("d.fr", "jean", "sub-123")
    assert fake.backend.list_mailbox_identities(fake._root, "d.fr", "jean") == ["sub-123"]
    with pytest.raises(SeedError, match="404"):
        fake.add_identity("d.fr", "nobody", "sub-123")
    assert fake.requests == []


# --- People's objects mirrored ----------------------------------------------------------------


@dataclass
class MailDomain:
    name: str
    status: str = "pending"


@dataclass
class Mailbox:
    domain: MailDomain
    local_part: str
    first_name: str = "Jean"
    last_name: str = "Dupont"
    status: str = "pending"


@dataclass
class Alias:
    domain: MailDomain
    local_part: str
    destination: str


@dataclass
class Factory:
    """factory_boy's shape, as far as `mirrored` needs it: a `_create` classmethod."""

    made: list = field(default_factory=list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class(*args, **kwargs)


class DomainFactory(Factory):
    pass


class EnabledDomainFactory(DomainFactory):
    pass


def test_mirror_seeds_peoples_objects_as_people_left_dimail(fake):
    domain = mirror(fake, MailDomain("d.fr", "enabled"))
    assert ("la_regie", "d.fr") in fake.backend.allows and fake.backend.domains["d.fr"].state == "ok"
    fake.mirror(Mailbox(domain, "jean", status="enabled"))
    fake.mirror(Mailbox(domain, "later"))  # pending: not in dimail yet
    fake.mirror(Alias(domain, "contact", "jean@d.fr"))
    assert ("d.fr", "jean") in fake.backend.mailboxes and ("d.fr", "later") not in fake.backend.mailboxes
    assert ("d.fr", "contact", "jean@d.fr") in fake.backend.aliases
    domain.status = "failed"
    fake.mirror(domain)  # a saved status change moves it
    assert people_fetch(fake, "d.fr") == "failed"
    with pytest.raises(TypeError, match="not shaped like People's"):
        fake.mirror(object())


def test_mirrored_factories_and_their_subclasses_until_the_block_ends(fake):
    with mirrored(fake, DomainFactory):
        DomainFactory._create(MailDomain, "a.fr", status="enabled")
        EnabledDomainFactory._create(MailDomain, "b.fr", status="failed")
    DomainFactory._create(MailDomain, "c.fr")
    assert sorted(fake.backend.domains) == ["a.fr", "b.fr"]
    assert "_create" not in vars(DomainFactory) or vars(DomainFactory)["_create"] is vars(Factory).get("_create")
    assert DomainFactory._create.__func__ is Factory._create.__func__


def test_mirroring_turned_off_seeds_nothing_and_a_refused_name_stays_a_seed_error(fake):
    """`@pytest.mark.dimail(mirror=False)` sets `mirror_factories` for one test (tests/test_pytest_plugin.py)."""
    bad = "N3w_D0main-Name$.com"  # People's model test of a domain name: dimail refuses it
    with mirrored(fake, DomainFactory):
        with pytest.raises(SeedError, match=r"N3w_D0main-Name\$\.com"):
            DomainFactory._create(MailDomain, bad)
        fake.mirror_factories = False
        try:
            assert DomainFactory._create(MailDomain, bad).name == bad
            EnabledDomainFactory._create(MailDomain, "a.fr", status="enabled")
            fake.mirror(MailDomain("b.fr", "enabled"))  # an explicit mirror still seeds
        finally:
            fake.mirror_factories = True
        DomainFactory._create(MailDomain, "c.fr")
    assert sorted(fake.backend.domains) == ["b.fr", "c.fr"]


# --- DKIM keys ----------------------------------------------------------------------------------


def probably_prime(n: int) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in (2, 3, 5, 7, 11):
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def test_the_dkim_set_is_made_of_primes_giving_2048_bit_moduli():
    assert len(set(dkim.PRIMES)) == 40 and all(probably_prime(p) for p in dkim.PRIMES)
    assert all(p.bit_length() == 1024 and (p - 1) % dkim.E for p in dkim.PRIMES)
    assert all((p * q).bit_length() == 2048 for p, q in itertools.combinations(dkim.PRIMES, 2))


def test_dkim_values_are_rsa_keys_all_different_until_the_set_wraps():
    values = [dkim.new_dkim_value() for _ in range(780)]
    assert len(set(values)) == 780
    key = load_der_public_key(base64.b64decode(values[0].split("p=", 1)[1], validate=True))
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048 and key.public_numbers().e == 65537
    assert dkim.public_key_der(dkim.modulus(5)) == dkim.public_key_der(dkim.modulus(5 + 780))
