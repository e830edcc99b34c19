"""People's domain statuses end to end, steered through the fake's simulated DNS and platform (fake only).

A real dimail has no `/_fake/`: these contracts are skipped there, with that reason.
"""

from __future__ import annotations

import pytest

from .expect import equal, status
from .target import Target

pytestmark = [pytest.mark.contract("steering"), pytest.mark.dimail_steering]


def test_dns_decides_peoples_status(dimail_target: Target) -> None:
    p = dimail_target.provisioner(retries=0)
    domain, owner = dimail_target.name("domain"), dimail_target.name("user")
    dimail_target.created_domains.append(domain)
    dimail_target.created_users.append(owner)
    p.domain_created(domain, owner)  # a fake run with `--dns auto` has published the zone already
    status(dimail_target.call("DELETE", f"/_fake/dns/{domain}"), 204, "empty the zone")
    emptied = p.domain_status(domain)
    equal(emptied.status, "action_required", f"status fetch of {domain} with an empty zone: People status")
    if not emptied.details:
        raise AssertionError(f"{domain}: action_required without the failing checks' details")
    status(dimail_target.call("POST", f"/_fake/dns/{domain}/publish", params={"records": "spec"}), 200,
           "publish the spec")
    fetched = p.domain_status(domain)
    equal((fetched.status, fetched.check.get("state")), ("enabled", "ok"),
          f"status fetch of {domain} once its records are published: (status, state)")


def test_an_internal_failure_that_fix_cannot_repair_is_failed(dimail_target: Target) -> None:
    p = dimail_target.provisioner(retries=0)
    domain, owner = dimail_target.name("domain"), dimail_target.name("user")
    dimail_target.created_domains.append(domain)
    dimail_target.created_users.append(owner)
    p.domain_created(domain, owner)
    status(dimail_target.call("POST", f"/_fake/dns/{domain}/publish", params={"records": "spec"}), 200,
           "publish the spec")
    status(dimail_target.call("PATCH", f"/_fake/domains/{domain}/platform",
                              json={"broken": ["ox"], "unfixable": ["ox"]}),
           200, "break OX for good")
    fetched = p.domain_status(domain)
    equal((fetched.status, fetched.fixed), ("failed", True),
          f"status fetch of {domain} with OX broken: (status, fixed)")
