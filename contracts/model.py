"""A pure-Python reference model of what dimail holds after People's events (no HTTP here).

It predicts, for the domains and users one run creates: the allows, the
mailboxes (with their active flag), the aliases, People's status of each
domain and its pending mailboxes. The state machine compares it with what the
target says after every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MANAGING = ("owner", "administrator")


@dataclass
class Model:
    people: str  # People's own dimail user
    users: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    allows: set[tuple[str, str]] = field(default_factory=set)  # (user, domain)
    mailboxes: dict[tuple[str, str], bool] = field(default_factory=dict)  # (domain, local) -> active
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (domain, local) -> "first last"
    given: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (domain, local) -> (first, last)
    aliases: set[tuple[str, str, str]] = field(default_factory=set)  # (domain, local, destination)
    published: set[str] = field(default_factory=set)  # domains whose DNS the fake publishes
    certified: set[str] = field(default_factory=set)  # certificate issued by a /fix
    certs_on_check: set[str] = field(default_factory=set)  # the fake issues it during /check (no /fix needed)
    enabled: set[str] = field(default_factory=set)  # People's status `enabled`
    pending: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # domain -> [(local, names)]

    # --- events ---------------------------------------------------------------------------

    def user_created(self, sub: str) -> None:
        self.users.add(sub)

    def domain_created(self, domain: str, owner: str) -> None:
        self.domains.add(domain)
        self.allows.add((self.people, domain))
        self.access_granted(domain, owner, "owner")
        self.status_fetched(domain)

    def user_deleted(self, sub: str) -> set[tuple[str, str]]:
        """dimail deletes a user's allows with it (CONTRACT §4.2); returns them."""
        gone = {(user, domain) for user, domain in self.allows if user == sub}
        self.users.discard(sub)
        self.allows -= gone
        return gone

    def access_granted(self, domain: str, sub: str, role: str) -> None:
        if role in MANAGING:
            self.users.add(sub)
            self.allows.add((sub, domain))

    def access_revoked(self, domain: str, sub: str, remaining_role: str | None) -> None:
        if remaining_role not in MANAGING:
            self.allows.discard((sub, domain))

    def status_fetched(self, domain: str) -> list[str]:
        """People's status after a fetch; returns the pending mailboxes the fetch should try to send.

        With the DNS right, the first check still fails on the certificate alone, so People calls
        /fix/ (which issues it) and marks the domain enabled *without* sending the pending
        mailboxes; only a later fetch of a domain not yet enabled whose check is `ok` sends them.
        """
        if domain not in self.published:
            return []
        if domain not in self.certified and domain not in self.certs_on_check:
            self.certified.add(domain)
            self.enabled.add(domain)
            return []
        was = domain in self.enabled
        self.enabled.add(domain)
        return [] if was else [local for local, _ in self.pending.get(domain, [])]

    def clash(self, domain: str, local: str, names: str) -> bool:
        """dimail refuses a mailbox whose display name another mailbox of the domain's context holds."""
        return any(d == domain and other != local and held.casefold() == names.casefold()
                   for (d, other), held in self.names.items())

    def mailbox_sent(self, domain: str, local: str, names: str) -> bool:
        """True when dimail accepts it (or already has it); False: the names are taken."""
        if (domain, local) in self.mailboxes:
            return True
        if self.clash(domain, local, names):
            return False
        self.mailboxes[(domain, local)] = True
        self.names[(domain, local)] = names
        first, _, last = names.partition(" ")
        self.given[(domain, local)] = (first, last)
        return True

    def pend(self, domain: str, local: str, names: str) -> None:
        queue = self.pending.setdefault(domain, [])
        if all(existing != local for existing, _ in queue):
            queue.append((local, names))

    def send_pending(self, domain: str) -> bool:
        """The status fetch's sending; True when every pending mailbox went."""
        kept = [(local, names) for local, names in self.pending.pop(domain, [])
                if not self.mailbox_sent(domain, local, names)]
        if kept:
            self.pending[domain] = kept
            self.enabled.discard(domain)  # the provisioner keeps the status until they all went
        return not kept

    # --- what the target should show ---------------------------------------------------------

    def allowed(self, user: str, domain: str) -> bool:
        return (user, domain) in self.allows

    def domains_of(self, user: str) -> set[str]:
        """What `GET /my/domains` lists of the run's domains for a user who is neither admin nor manager."""
        return {domain for holder, domain in self.allows if holder == user}

    def mailboxes_of(self, domain: str) -> dict[str, bool]:
        return {local: active for (d, local), active in self.mailboxes.items() if d == domain}

    def aliases_of(self, domain: str) -> set[tuple[str, str]]:
        return {(local, dest) for d, local, dest in self.aliases if d == domain}

    def destinations(self, domain: str, local: str) -> set[str]:
        return {dest for d, name, dest in self.aliases if (d, name) == (domain, local)}

    def aliases_deleted(self, domain: str, local: str) -> set[tuple[str, str, str]]:
        """`DELETE …/aliases/{local}/all`: every destination of the name goes; returns them."""
        gone = {alias for alias in self.aliases if alias[:2] == (domain, local)}
        self.aliases -= gone
        return gone

    def viewer(self, domain: str) -> str | None:
        """A user of the run allowed on the domain (neither admin nor manager): whose `/my/*` show it."""
        return min((user for user, d in self.allows if d == domain and user != self.people), default=None)
