"""Canned dimail answers, as People's tests keep them (its `tests/fixtures/dimail.py`)."""

import json
import re

import responses

URL = "http://dimail:8000"


def _check(name, failing=(), internal_failing=()):
    checks = {}
    for check in ("domain_exist", "mx", "cname_imap", "cname_smtp", "cname_webmail", "spf", "dkim"):
        checks[check] = {"ok": check not in failing, "internal": False,
                         "errors": [{"code": f"no_{check}", "detail": "x"}] if check in failing else []}
    for check in ("webmail_ok", "postfix", "ox", "cert"):
        checks[check] = {"ok": check not in internal_failing, "internal": True,
                         "errors": [{"code": f"no_{check}", "detail": "x"}] if check in internal_failing else []}
    state = "ok" if not failing and not internal_failing else "broken"
    return {"name": name, "state": state, "valid": state == "ok", "delivery": "virtual",
            "features": ["webmail", "mailbox", "alias"], "context_name": name, **checks}


def check_ok(name):
    return _check(name)


def check_broken_external(name):
    return _check(name, failing=("domain_exist",))


def check_broken_internal(name):
    return _check(name, internal_failing=("cert",))


def spec(name):
    return [{"target": "", "type": "mx", "value": "mx.ox.numerique.gouv.fr."},
            {"target": "dimail._domainkey", "type": "txt", "value": "v=DKIM1; h=sha256; k=rsa; p=MIIBIjANBgkqh"},
            {"target": "imap", "type": "cname", "value": "imap.ox.numerique.gouv.fr."},
            {"target": "smtp", "type": "cname", "value": "smtp.ox.numerique.gouv.fr."},
            {"target": "", "type": "txt", "value": "v=spf1 include:_spf.ox.numerique.gouv.fr -all"},
            {"target": "webmail", "type": "cname", "value": "webmail.ox.numerique.gouv.fr."}]


def response_mailbox_created(email):
    return json.dumps({"email": email, "password": "password"})


def mock_check(name, body):
    responses.get(re.compile(rf".*/domains/{name}/check"), json=body, status=200, content_type="application/json")


def mock_fix(name, body):
    responses.get(re.compile(rf".*/domains/{name}/fix/"), json=body, status=200, content_type="application/json")


def mock_spec(name):
    responses.get(re.compile(rf".*/domains/{name}/spec/"), json=spec(name), status=200,
                  content_type="application/json")


def mock_mailbox_created(domain, local):
    responses.post(re.compile(rf".*/domains/{domain}/mailboxes/{local}$"),
                   body=response_mailbox_created(f"{local}@{domain}"), status=201, content_type="application/json")
