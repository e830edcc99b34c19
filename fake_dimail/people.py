"""People's objects, mirrored in a fake: what People's factories create exists in dimail too.

People's models (suitenumerique/people, `mailbox_manager/models.py`) are read by their
fields, so People's own factory_boy factories (or anything shaped like them) work:

- a mail domain: `.name`, `.status` (pending, enabled, action_required, failed, disabled);
- a mailbox: `.domain`, `.local_part`, `.first_name`, `.last_name`, `.status` (pending,
  enabled, disabled; a pending mailbox is not in dimail yet: nothing is created);
- an alias: `.domain`, `.local_part`, `.destination`.

    with mirrored(dimail_fake, MailDomainFactory, MailboxFactory, AliasFactory):
        ...  # every object these factories (and their subclasses) create is seeded in the fake

A test that needs none of it (a model test with a name dimail would refuse) says so with
`@pytest.mark.dimail(mirror=False)`: its factories create nothing in the fake.

Each object is seeded as People's calls would have left dimail (its domains created by
People's dimail user, la_regie, and allowed to it), without HTTP and idempotently; what
dimail would refuse (a local part with an upper-case letter, say) is a `SeedError` naming
the value and the rule.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .fake import FakeDimail

PEOPLE_USER = "la_regie"  # the dimail user People's credentials name (PEOPLE.md §1)
T = TypeVar("T")


def _value(status: Any) -> str:
    """A status as People stores it: a Django `TextChoices` member or its plain value."""
    return str(getattr(status, "value", status))


def _domain_name(domain: Any) -> str:
    return domain if isinstance(domain, str) else domain.name


def mirror(fake: FakeDimail, obj: T, allowed: Iterable[str] = (PEOPLE_USER,)) -> T:
    """Seed `obj` (a People mail domain, mailbox or alias) in `fake`, as People would have; returns `obj`.

    A domain that exists is moved to the People status asked (`set_domain_status`), unless People
    already shows it so; `allowed` users that exist in the fake are allowed on a new domain.
    """
    if hasattr(obj, "destination") and hasattr(obj, "local_part"):
        fake.add_alias(_domain_name(obj.domain), obj.local_part, obj.destination)
    elif hasattr(obj, "local_part"):
        fake.add_mailbox(_domain_name(obj.domain), obj.local_part, given_name=obj.first_name,
                         sur_name=obj.last_name, people_status=_value(obj.status))
    elif hasattr(obj, "name") and hasattr(obj, "status"):
        status = _value(obj.status)
        if obj.name in fake.backend.domains:
            fake.set_domain_status(obj.name, people_status=status)
        else:
            fake.add_domain(obj.name, people_status=status, allowed=[u for u in allowed if u in fake.backend.users])
    else:
        raise TypeError(f"mirror: {obj!r} is not shaped like People's MailDomain, Mailbox or Alias")
    return obj


@contextlib.contextmanager
def mirrored(fake: FakeDimail, *factories: type, allowed: Iterable[str] = (PEOPLE_USER,)) -> Iterator[FakeDimail]:
    """For a `with` block, everything the factory_boy `factories` (and their subclasses) create is mirrored in
    `fake` (`build()` creates nothing, so mirrors nothing). Give the base factories: a subclass inherits.
    Nothing is mirrored while `fake.mirror_factories` is False (`@pytest.mark.dimail(mirror=False)`)."""
    allowed = tuple(allowed)
    undo: list[tuple[type, Any]] = []
    try:
        for factory in factories:
            create = factory._create.__func__  # type: ignore[attr-defined]  # a classmethod, maybe inherited

            def mirroring(cls: type, model_class: type, *args: Any, _create: Any = create, **kwargs: Any) -> Any:
                created = _create(cls, model_class, *args, **kwargs)
                return mirror(fake, created, allowed) if fake.mirror_factories else created

            undo.append((factory, factory.__dict__.get("_create")))
            factory._create = classmethod(mirroring)  # type: ignore[attr-defined]
        yield fake
    finally:
        for factory, original in reversed(undo):
            if original is None:
                del factory._create  # type: ignore[attr-defined]
            else:
                factory._create = original  # type: ignore[attr-defined]
