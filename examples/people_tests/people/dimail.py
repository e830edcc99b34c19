"""Stands in for People's `mailbox_manager/utils/dimail.py`: the same calls, answers and reactions (PEOPLE.md §4)."""

from __future__ import annotations

import json
import logging

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from . import models
from . import settings

logger = logging.getLogger(__name__)

# One session for the module, retrying PATCH on 500/502 four times; connection errors are retried
# whatever the method (urllib3's connect retries ignore `allowed_methods`).
session = requests.Session()
_adapter = HTTPAdapter(max_retries=Retry(total=4, backoff_factor=0.1, status_forcelist=[500, 502],
                                         allowed_methods=["PATCH"]))
session.mount("http://", _adapter)
session.mount("https://", _adapter)


class PermissionDenied(Exception):
    pass


class ValidationError(Exception):
    pass


class DimailAPIClient:
    API_URL = settings.MAIL_PROVISIONING_API_URL
    API_CREDENTIALS = settings.MAIL_PROVISIONING_API_CREDENTIALS
    API_TIMEOUT = settings.MAIL_PROVISIONING_API_TIMEOUT

    @property
    def basic(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self.API_CREDENTIALS}"}

    def _bearer(self) -> dict[str, str]:
        """A fresh token for every Bearer operation (People caches none)."""
        response = requests.get(f"{self.API_URL}/token/", headers=self.basic, timeout=self.API_TIMEOUT)
        if response.status_code == 200:
            logger.debug("Token granted by mail-provisioning API.")
            return {"Content-Type": "application/json", "Authorization": f"Bearer {response.json()['access_token']}"}
        if response.status_code == 403:
            raise PermissionDenied("Token denied. Please check your MAIL_PROVISIONING_API_CREDENTIALS.")
        return self._unexpected(response)

    def _unexpected(self, response: requests.Response):
        content = response.content.decode(response.encoding or "utf-8").replace("'", '"')
        try:
            content = json.loads(content)
        except ValueError:
            pass
        raise requests.exceptions.HTTPError(f"[DIMAIL] unexpected error: {response.status_code} {content}")

    # --- domains ---------------------------------------------------------------

    def create_domain(self, name: str) -> requests.Response:
        payload = {"name": name, "context_name": name, "features": ["webmail", "mailbox", "alias"],
                   "delivery": "virtual"}
        response = session.post(f"{self.API_URL}/domains/", json=payload, headers=self.basic,
                                timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code == 201:
            return response
        return self._unexpected(response)

    def check_domain(self, domain: models.MailDomain) -> dict:
        response = session.get(f"{self.API_URL}/domains/{domain.name}/check", headers=self.basic,
                               timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code == 200:
            return response.json()
        return self._unexpected(response)

    def fix_domain(self, domain: models.MailDomain) -> dict:
        response = session.get(f"{self.API_URL}/domains/{domain.name}/fix/", headers=self.basic,
                               timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code == 200:
            return response.json()
        return self._unexpected(response)

    @staticmethod
    def _checks(body: dict, internal: bool) -> dict[str, bool]:
        return {name: result.get("ok", False) for name, result in body.items()
                if isinstance(result, dict) and result.get("internal") is internal}

    def fetch_domain_status(self, domain: models.MailDomain) -> dict:
        """ok -> enabled (pending mailboxes sent first); an external failure -> action_required; internal
        failures only -> /fix/ -> enabled or failed (CHECKS.md §8)."""
        body = self.check_domain(domain)
        if body["state"] == "ok" and domain.status != models.MailDomainStatus.ENABLED:
            self.send_pending_mailboxes(domain)
            domain.status = models.MailDomainStatus.ENABLED
        elif body["state"] == "broken":
            if not all(self._checks(body, internal=False).values()):
                domain.status = models.MailDomainStatus.ACTION_REQUIRED
            elif not all(self._checks(body, internal=True).values()):
                body = self.fix_domain(domain)
                external, internal = self._checks(body, internal=False), self._checks(body, internal=True)
                if all(external.values()) and all(internal.values()):
                    domain.status = models.MailDomainStatus.ENABLED
                elif all(external.values()):
                    domain.status = models.MailDomainStatus.FAILED
        domain.last_check_details = body
        domain.save()
        return body

    def fetch_domain_expected_config(self, domain: models.MailDomain) -> list[dict[str, str]]:
        try:
            response = session.get(f"{self.API_URL}/domains/{domain.name}/spec/", headers=self.basic,
                                   timeout=self.API_TIMEOUT, allow_redirects=True)
        except requests.exceptions.ConnectionError:
            logger.error("Connection error while trying to reach %s.", self.API_URL)
            return []
        if response.status_code != 200:
            return []
        domain.expected_config = [{"target": r["target"], "type": r["type"], "value": r["value"]}
                                  for r in response.json()]
        domain.save()
        return domain.expected_config

    # --- mailboxes -------------------------------------------------------------

    def create_mailbox(self, mailbox: models.Mailbox) -> requests.Response:
        payload = {"givenName": mailbox.first_name, "surName": mailbox.last_name,
                   "displayName": f"{mailbox.first_name} {mailbox.last_name}"}
        headers = self._bearer()
        url = f"{self.API_URL}/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}"
        response = session.post(url, json=payload, headers=headers, timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code == 201:
            return response
        if response.status_code == 403:
            raise PermissionDenied("Permission denied. Please check your MAIL_PROVISIONING_API_CREDENTIALS.")
        if response.status_code == 500:  # dimail's answer to a duplicate: which address holds the names?
            address = session.get(f"{self.API_URL}/domains/{mailbox.domain.name}/address/{mailbox.local_part}/",
                                  json=payload, headers=headers, timeout=self.API_TIMEOUT, allow_redirects=True)
            if address.status_code == 200:
                raise ValidationError("First name + last name combination already in use in this context : "
                                      f"{address.json()['ox_primary_email']}.")
        return self._unexpected(response)

    def _patch_mailbox(self, mailbox: models.Mailbox, payload: dict) -> requests.Response:
        response = session.patch(f"{self.API_URL}/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}",
                                 json=payload, headers=self._bearer(), timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code == 200:
            return response
        return self._unexpected(response)

    def disable_mailbox(self, mailbox: models.Mailbox) -> requests.Response:
        return self._patch_mailbox(mailbox, {"active": "no"})

    def enable_mailbox(self, mailbox: models.Mailbox) -> requests.Response:
        return self._patch_mailbox(mailbox, {"active": "yes", "givenName": mailbox.first_name,
                                             "surName": mailbox.last_name,
                                             "displayName": f"{mailbox.first_name} {mailbox.last_name}"})

    def reset_password(self, mailbox: models.Mailbox) -> dict:
        response = session.post(
            f"{self.API_URL}/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}/reset_password/",
            headers=self._bearer(), timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code == 200:
            return response.json()
        return self._unexpected(response)

    def get_login_code(self, mailbox: models.Mailbox) -> str:
        response = session.post(f"{self.API_URL}/domains/{mailbox.domain.name}/mailboxes/{mailbox.local_part}/code",
                                json={"expires_in": 3600, "maxuse": 3}, headers=self._bearer(),
                                timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.ok:
            return response.json()["code"]
        return self._unexpected(response)

    def send_pending_mailboxes(self, domain: models.MailDomain) -> list[models.Mailbox]:
        sent = []
        for mailbox in models.Mailbox.filter(domain=domain, status=models.MailboxStatus.PENDING):
            response = self.create_mailbox(mailbox)
            mailbox.status, mailbox.password = models.MailboxStatus.ENABLED, response.json()["password"]
            sent.append(mailbox)
        return sent

    def import_mailboxes(self, domain: models.MailDomain) -> list[models.Mailbox]:
        response = session.get(f"{self.API_URL}/v2/domains/{domain.name}/mailboxes/", headers=self._bearer(),
                               timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code != 200:
            return self._unexpected(response)
        known = {m.local_part for m in models.Mailbox.filter(domain=domain)}
        imported = []
        for item in response.json():
            local, _, host = item["email"].partition("@")
            if "ox" not in item["features"] or local == "oxadmin" or local in known or host != domain.name:
                continue
            names = item["extras"]["ox"]
            mailbox = models.Mailbox(domain, local, names["given_name"], names["sur_name"],
                                     status=models.MailboxStatus.ENABLED)
            mailbox.save()
            imported.append(mailbox)
        return imported

    # --- aliases ---------------------------------------------------------------

    def create_alias(self, alias: models.Alias) -> requests.Response:
        response = session.post(f"{self.API_URL}/domains/{alias.domain.name}/aliases/", headers=self._bearer(),
                                json={"user_name": alias.local_part, "destination": alias.destination},
                                timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code == 201:
            return response
        if response.status_code == 409:
            raise ValidationError("Alias already exists in dimail: the domain is out of sync, contact support.")
        return self._unexpected(response)

    def delete_alias(self, alias: models.Alias) -> requests.Response:
        response = session.delete(
            f"{self.API_URL}/domains/{alias.domain.name}/aliases/{alias.local_part}/{alias.destination}",
            json={}, headers=self._bearer(), timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code in (204, 404):  # 404: already gone, only out of sync
            return response
        return self._unexpected(response)

    def delete_multiple_alias(self, local_part: str, domain_name: str) -> requests.Response:
        return session.delete(f"{self.API_URL}/domains/{domain_name}/aliases/{local_part}/all", json={},
                              headers=self._bearer(), timeout=self.API_TIMEOUT, allow_redirects=True)

    def import_aliases(self, domain: models.MailDomain) -> list[models.Alias]:
        response = session.get(f"{self.API_URL}/domains/{domain.name}/aliases/", headers=self._bearer(),
                               timeout=self.API_TIMEOUT, allow_redirects=True)
        if response.status_code != 200:
            return self._unexpected(response)
        known = {(a.local_part, a.destination) for a in models.Alias.filter(domain=domain)}
        imported = []
        for item in response.json():
            if (item["username"], item["destination"]) not in known:
                alias = models.Alias(domain, item["username"], item["destination"])
                alias.save()
                imported.append(alias)
        return imported


def setup_dimail_db() -> None:
    """People's `setup_dimail_db` command: the two API users, with its own requests (PEOPLE.md §3)."""
    url = settings.MAIL_PROVISIONING_API_URL
    requests.post(f"{url}/users/", json={"name": "admin", "password": "admin", "is_admin": True, "perms": []},
                  auth=("", ""), timeout=10)
    requests.post(f"{url}/users/", json={"name": "la_regie", "password": "password", "is_admin": False,
                                         "perms": ["new_domain", "create_users", "manage_users"]},
                  auth=("admin", "admin"), timeout=10)
