"""Behavioural mutants of the fake for the read-back, exact-deletion and check-lifecycle contracts
(`--dimail-app tests.mutants_readback:NAME`).

Each one is a plausible bug of a dimail version that People would meet, written as a change of one rule
of one fake instance (never of a module: a batch of runs shares one process). The contracts were derived
from the rules (what a write reads back as, what a deletion removes, what /spec promises), not from these.
"""

from __future__ import annotations

from typing import Any

from fake_dimail.fake import FakeDimail
from fake_dimail.records import CheckResult


def _fake() -> FakeDimail:
    return FakeDimail(seed="people-dev")


def domain_loses_a_feature() -> Any:
    """A domain created with People's features is stored without `alias` (its 201 still shows all three)."""
    fake = _fake()
    backend, real = fake.backend, fake.backend.create_domain

    def create(caller: Any, body: Any, check: bool = True) -> Any:
        created = real(caller, body, check)
        stored = backend.state.domains[body.name]
        if "alias" in stored.features and len(stored.features) > 1:
            backend.state.domains.modify(body.name, features=[f for f in stored.features if f != "alias"])
        return created

    backend.create_domain = create  # type: ignore[method-assign]
    return fake.app


def mailbox_names_swapped() -> Any:
    """A mailbox's OX user gets the given name as its family name and the other way round."""
    fake = _fake()
    real = fake.backend._add_mailbox

    def add(domain: Any, local: str, names: tuple[str, str, str] | None, **dovecot: Any) -> Any:
        if names is not None:
            given, sur, display = names
            names = (sur, given, display)
        return real(domain, local, names, **dovecot)

    fake.backend._add_mailbox = add  # type: ignore[method-assign]
    return fake.app


def revoke_takes_every_domain() -> Any:
    """Revoking a user's allow on one domain removes its allows on every domain."""
    fake = _fake()
    backend, real = fake.backend, fake.backend.delete_allow

    def delete(caller: Any, domain: str, user: str) -> None:
        real(caller, domain, user)
        backend.state.delete_by("allows", user, "user")

    backend.delete_allow = delete  # type: ignore[method-assign]
    return fake.app


def every_destination_leaves_one() -> Any:
    """`DELETE …/aliases/{name}/all` leaves the name's last destination behind."""
    fake = _fake()
    backend, real = fake.backend, fake.backend.delete_alias

    def delete(caller: Any, domain: str, local: str, destination: str) -> None:
        aliases = backend.state.aliases
        keys = aliases.keys_by("name", (domain, local)) if destination == "all" else []
        kept = (keys[-1], aliases[keys[-1]]) if len(keys) > 1 else None
        real(caller, domain, local, destination)
        if kept is not None:
            aliases[kept[0]] = kept[1]

    backend.delete_alias = delete  # type: ignore[method-assign]
    return fake.app


def user_deletion_keeps_allows() -> Any:
    """Deleting a user leaves its allows behind."""
    fake = _fake()
    backend, real = fake.backend, fake.backend.delete_user

    def delete(caller: Any, name: str) -> None:
        held = list(backend.state.allows.keys_by("user", name))
        real(caller, name)
        for key in held:
            backend.state.allows[key] = None

    backend.delete_user = delete  # type: ignore[method-assign]
    return fake.app


def address_misses_mailboxes() -> Any:
    """The address probe never reports an existing mailbox (People's duplicate-name path relies on it)."""
    fake = _fake()
    real = fake.backend.address

    def address(caller: Any, domain_name: str, local: str) -> Any:
        return real(caller, domain_name, local).model_copy(
            update={"is_mailbox": False, "is_ox": False, "ox_primary_email": None, "ox_senders": None})

    fake.backend.address = address  # type: ignore[method-assign]
    return fake.app


def spec_names_another_selector() -> Any:
    """/spec names the DKIM record under the selector `mecol` while the check reads `dimail`: People publishes
    exactly what /spec says and the domain never becomes valid."""
    fake = _fake()
    real = fake.backend.domain_spec

    def spec(name: str) -> Any:
        return [r.model_copy(update={"target": r.target.replace("dimail._domainkey", "mecol._domainkey")})
                for r in real(name)]

    fake.backend.domain_spec = spec  # type: ignore[method-assign]
    return fake.app


def mx_blind_to_dns() -> Any:
    """The `mx` check passes whatever the zone holds."""
    fake = _fake()
    real = fake.backend._evaluate

    def evaluate(domain: Any) -> dict[str, CheckResult]:
        return {**real(domain), "mx": CheckResult(True, False, [])}

    fake.backend._evaluate = evaluate  # type: ignore[method-assign]
    return fake.app


def unsteerable_spec_with_a_broken_key() -> Any:
    """Looks like a real dimail (no /_fake/), and /spec's DKIM record carries a key nobody can use: what the
    suite can judge without publishing DNS."""
    from tests.mutants import _Unsteerable

    fake = _fake()
    real = fake.backend.domain_spec

    def spec(name: str) -> Any:
        return [r.model_copy(update={"value": r.value.replace("p=MII", "p=MII!")}) for r in real(name)]

    fake.backend.domain_spec = spec  # type: ignore[method-assign]
    return _Unsteerable(fake)
