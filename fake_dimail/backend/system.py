"""`/system/…`: the platform's own operations, admin only (CONTRACT.md §4.21).

What the real server reads from its machines (module health, IMAP stores,
the mail queue) is derived here from the fake's state; rate-limit profiles,
databases and moves are stored. A moving domain answers 410 on the
operations declaring it (`Base._refuse_moving`) until its move completes:
for a domain coming here (`import_domain`), when `move_mailbox` has moved
its last mailbox; for one leaving (`database/{db}` PATCH), only when steered
(`/_fake/domains/{d}/move`), since nothing on this side sees the other
platform finish.
"""

from __future__ import annotations

import secrets

from .. import __version__, errors, models
from ..models import Row
from ..records import (
    AliasRecord,
    Caller,
    DatabaseRecord,
    MailboxMoveRecord,
    MailboxRecord,
    MoveRecord,
    QueuedMail,
    RateLimitRecord,
)
from .base import Base, atomic
from .state import DEFAULT_STORE

# The domain /spec's CNAMEs point into (fake_dimail.checks).
TECH_DOMAIN = "ox.numerique.gouv.fr"
# guess G-version: the version dimail answers, marked as the fake's so no one mistakes it for a real server.
VERSION = f"v0.8.2+fake-dimail.{__version__}"
CHANGELOG = [f"fake-dimail {__version__}: a fake of dimail, answering as dimail v0.8.2 does"]


class System(Base):
    @atomic
    def health_check(self, caller: Caller) -> models.ServerStatus:
        self._require_admin(caller)
        fine = models.ModuleStatus()
        names = [n for n in models.ServerStatus.model_fields if n.endswith("_module")]
        return models.ServerStatus(**dict.fromkeys(names, fine), status=True)

    @atomic
    def version(self, caller: Caller) -> models.ApiVersion:
        self._require_admin(caller)
        return models.ApiVersion(version=VERSION, changelog=list(CHANGELOG))

    @atomic
    def tech_domain(self, caller: Caller) -> models.TechDomain:
        self._require_admin(caller)
        # guess G-tech-domain: no source shows host_name
        return models.TechDomain(tech_name=TECH_DOMAIN, host_name=TECH_DOMAIN)

    # --- rate-limit profiles -------------------------------------------------
    # Mailboxes name a profile in `rate_limit`; the name is not checked and deleting a profile
    # leaves them naming it (guess G-mailbox-rate-limit: the document declares no 409 on deletion, no 404 on mailboxes).

    @staticmethod
    def _rate_limit_view(row: RateLimitRecord) -> models.RateLimit:
        return models.RateLimit(name=row.name, limits=[models.Limit(seconds=s, emails=e) for s, e in row.limits])

    def _rate_limit(self, name: str) -> RateLimitRecord:
        row = self.state.rate_limits.get(name)
        if row is None:
            raise errors.not_found(errors.RATE_LIMIT_NOT_FOUND)
        return row

    @staticmethod
    def _limits(name: str, body: models.RateLimit) -> list[tuple[int, int]]:
        if body.name != name:
            raise errors.unprocessable(errors.RATE_LIMIT_NAME_MISMATCH)
        return [(limit.seconds, limit.emails) for limit in body.limits]

    @atomic
    def list_rate_limits(self, caller: Caller) -> list[models.RateLimit]:
        self._require_admin(caller)
        return [self._rate_limit_view(row) for row in self.state.rate_limits.values()]

    @atomic
    def get_rate_limit(self, caller: Caller, name: str) -> models.RateLimit:
        self._require_admin(caller)
        return self._rate_limit_view(self._rate_limit(name))

    @atomic
    def create_rate_limit(self, caller: Caller, name: str, body: models.RateLimit) -> models.RateLimit:
        self._require_admin(caller)
        limits = self._limits(name, body)
        if name in self.state.rate_limits:
            raise errors.conflict(errors.RATE_LIMIT_EXISTS)
        row = self.state.rate_limits[name] = RateLimitRecord(name, limits)
        return self._rate_limit_view(row)

    @atomic
    def update_rate_limit(self, caller: Caller, name: str, body: models.RateLimit) -> models.RateLimit:
        self._require_admin(caller)
        self._rate_limit(name)
        return self._rate_limit_view(self.state.rate_limits.modify(name, limits=self._limits(name, body)))

    @atomic
    def delete_rate_limit(self, caller: Caller, name: str) -> None:
        self._require_admin(caller)
        self._rate_limit(name)
        del self.state.rate_limits[name]

    # --- IMAP stores and mailboxes, as the platform sees them ------------------
    # guess G-stores: a store is known while a mailbox names it (or it is the platform's default store);
    # the fake has no disks, so space and inodes are unknown (null used, 0 totals).

    def _store_view(self, name: str) -> models.StoreInfo:
        host = f"{name}.imap.{TECH_DOMAIN}"
        mailboxes = self.state.mailboxes
        if name == DEFAULT_STORE:
            count = len(mailboxes) - sum(mailboxes.count_by("store", other) for other in self._named_stores())
        else:
            count = mailboxes.count_by("store", name)
        return models.StoreInfo(name=name, host=host, transport=f"lmtp:[{host}]:24", nb_mailboxes=count)

    def _named_stores(self) -> list[str]:
        return [str(name) for name in self.state.mailboxes.values_of("store") if name != DEFAULT_STORE]

    @atomic
    def stores_info(self, caller: Caller) -> list[models.StoreInfo]:
        self._require_admin(caller)
        return [self._store_view(name) for name in [DEFAULT_STORE, *self._named_stores()]]

    @atomic
    def store_info(self, caller: Caller, name: str) -> models.StoreInfo:
        self._require_admin(caller)
        if name != DEFAULT_STORE and not self.state.mailboxes.count_by("store", name):
            raise errors.not_found(errors.STORE_NOT_FOUND)
        return self._store_view(name)

    def _mailbox_info(self, row: MailboxRecord) -> Row:
        # guess G-mailbox-info: a mailbox still to move is served from the other platform (a proxy), its data not here yet.
        pending = (row.domain, row.local) in self.state.mailbox_moves
        move = self.state.moves.get(row.domain)
        return {
            "email": row.email,
            "storage": "proxy" if pending else "local",
            "store": row.store or DEFAULT_STORE,
            "imap_dir": not pending,
            "sieve_dir": False,
            "need_moving": pending,
            "moving_away": move is not None and move.moving_to is not None,
        }

    def _dovecot(self, domain: str, local: str) -> MailboxRecord:
        self._domain(domain)
        row = self.state.mailboxes.get((domain, local))
        if row is None:
            raise errors.not_found(errors.MAILBOX_NOT_FOUND)
        return row

    @atomic
    def mailbox_info(self, caller: Caller, domain: str, local: str) -> models.MailboxInfo:
        self._require_admin(caller)
        return models.MailboxInfo.model_validate(self._mailbox_info(self._dovecot(domain, local)))

    @atomic
    def mailboxes_info(self, caller: Caller, domain: str) -> models.Listing[models.MailboxInfo]:
        self._require_admin(caller)
        self._domain(domain)
        rows = self.state.mailboxes.rows_by("domain", domain)
        return models.Listing(models.MailboxInfo, (self._mailbox_info(row) for row in rows))

    @atomic
    def list_mailqueue(self, caller: Caller, domain: str, local: str) -> list[str]:
        # guess G-mailqueue: mail may wait for any address of a known domain (an alias, a mailbox still to create).
        self._require_admin(caller)
        self._domain(domain)
        return self.state.mailqueue.keys_by("address", (domain, local))

    @atomic
    def disconnect(self, caller: Caller, domain: str, local: str) -> dict[str, str]:
        self._require_admin(caller)
        self._dovecot(domain, local)
        return {}  # guess G-empty-answers: the document's schema is empty

    # --- moving domains and mailboxes between platforms -----------------------

    def _start_move(self, move: MoveRecord, pending: list[str]) -> None:
        self.state.moves[move.domain] = move
        self.state.domains.modify(move.domain, moving=True)
        for local in pending:
            self.state.mailbox_moves[(move.domain, local)] = MailboxMoveRecord(move.domain, local)

    def _complete_move(self, domain: str) -> None:
        for key in self.state.mailbox_moves.keys_by("domain", domain):
            del self.state.mailbox_moves[key]
        del self.state.moves[domain]
        self.state.domains.modify(domain, moving=False)

    @staticmethod
    def _local_of(address: str, domain: str, loc: tuple[str | int, ...]) -> str:
        local, at, host = address.rpartition("@")
        if not at:
            return address
        if host != domain:
            raise errors.invalid_value(loc, address, errors.not_in_domain(address, domain))
        return local

    @atomic
    def import_domain(self, caller: Caller, name: str, body: models.ImportDomain) -> dict[str, str]:
        """The destination's side: take in the domain's mailboxes, aliases, senders and DKIM key.

        The imported mailboxes then need moving (their IMAP data is still on `moving_from`). A name of
        another domain, or a sender of no mailbox, is refused as a value of the body (guess G-import-domain-422:
        the 422 the document declares, its validation list, pointing at the value).
        """
        self._require_admin(caller)
        self._domain(name)
        mailboxes = {self._local_of(m.username, name, ("moving_mailboxes", i, "username")): m
                     for i, m in enumerate(body.moving_mailboxes)}
        aliases = [(self._local_of(a.alias, name, ("moving_aliases", i, "alias")), a.destination)
                   for i, a in enumerate(body.moving_aliases)]
        senders: dict[str, list[str]] = {}
        for i, s in enumerate(body.moving_senders):
            loc = ("moving_senders", i, "login")
            local = self._local_of(s.login, name, loc)
            if local not in mailboxes and (name, local) not in self.state.mailboxes:
                raise errors.invalid_value(loc, s.login, errors.not_in_domain(s.login, name))
            senders.setdefault(local, []).append(s.sender)
        # Every refusal is behind us: apply.
        for local, moving in mailboxes.items():
            flags = {
                "imap_active": moving.imap_active or moving.active or "yes",
                "smtp_active": moving.smtp_active or moving.active or "yes",
            }
            # The hash is kept as the other platform gave it (guess G-moves: both hash alike).
            if (name, local) in self.state.mailboxes:
                self.state.mailboxes.modify((name, local), password_hash=moving.password,
                                            rate_limit=moving.rate_limit, **flags)
            else:
                self.state.mailboxes[(name, local)] = MailboxRecord(
                    name, local, moving.password, rate_limit=moving.rate_limit, **flags)
        for local, destination in aliases:
            self.state.aliases.setdefault((name, local, destination), AliasRecord(name, local, destination))
        for local, added in senders.items():
            current = self.state.mailboxes[(name, local)].additional_senders
            self.state.mailboxes.modify((name, local), additional_senders=list(dict.fromkeys([*current, *added])))
        if body.moving_dkim is not None and body.moving_dkim.public:
            self.state.domains.modify(name, dkim_public=body.moving_dkim.public)
        if name in self.state.moves:
            self._complete_move(name)
        if mailboxes:  # nothing to move: the move is over as soon as it starts
            self._start_move(MoveRecord(name, moving_from=body.moving_from), list(mailboxes))
        return {}

    @atomic
    def move_mailbox(self, caller: Caller, domain: str, local: str) -> dict[str, str]:
        self._require_admin(caller)
        self._domain(domain)
        if domain not in self.state.moves:
            raise errors.ApiError(424, errors.DOMAIN_NOT_MOVING)
        self._dovecot(domain, local)
        # guess G-moves: moving a mailbox already here is a no-op, not a failure.
        self.state.mailbox_moves.pop((domain, local), None)
        move = self.state.moves[domain]
        if move.moving_from is not None and not self.state.mailbox_moves.count_by("domain", domain):
            self._complete_move(domain)
        return {}

    @atomic
    def move_database(self, caller: Caller, db_name: str, body: models.UpdateDatabase) -> dict[str, str]:
        """The source's side: every domain of the database leaves for `move_to`, and answers 410 meanwhile."""
        self._require_admin(caller)
        names = self.state.domains.keys_by("schema", db_name)
        if not names and db_name not in self.state.databases:
            raise errors.not_found(errors.DATABASE_NOT_FOUND)
        for name in names:
            if name in self.state.moves:
                self._complete_move(name)
            self._start_move(MoveRecord(name, moving_to=body.move_to), [])
        return {}

    @atomic
    def create_database(self, caller: Caller, db_name: str, schema_name: str) -> models.SchemaName:
        # guess G-moves: creating it again re-points it (no 409 declared).
        self._require_admin(caller)
        self.state.databases[db_name] = DatabaseRecord(db_name, schema_name)
        return models.SchemaName(name=schema_name)

    @atomic
    def check_contexts(self, caller: Caller, body: models.CheckContexts) -> models.CheckedContexts:
        """Whether each OX context of another platform could come here (guess G-check-contexts: compared by id,
        name, domains)."""
        self._require_admin(caller)
        checked = [self._checked_context(c) for c in body.contexts]
        schemas: dict[str, str] = {}
        for context in body.contexts:
            database = self.state.databases.first_by("schema", context.schema_name)
            if database is not None:
                schemas[context.schema_name] = database.name
        return models.CheckedContexts(contexts=checked, schemas=schemas)

    def _checked_context(self, wanted: models.CheckContext) -> models.CheckedContext:
        by_id = self.state.contexts.get(wanted.cid)
        by_name = self.state.context_named(wanted.name)
        comment: list[str] = []
        if by_id is None and by_name is None:
            status = models.ContextStatus.available
        elif by_id is not None and by_id is by_name:
            here, there = set(by_id.domains), set(wanted.domains)
            comment += [f"domain {d} is only here" for d in sorted(here - there)]
            comment += [f"domain {d} is only there" for d in sorted(there - here)]
            status = models.ContextStatus.same if here == there else models.ContextStatus.partial
        else:
            if by_id is not None:
                comment.append(f"context id {wanted.cid} is {by_id.name} here")
            if by_name is not None:
                comment.append(f"context {wanted.name} has id {by_name.id} here")
            status = models.ContextStatus.differ
        return models.CheckedContext(**wanted.model_dump(), status=status, comment=comment)

    # --- steering (/_fake/) ----------------------------------------------------

    def _move_view(self, move: MoveRecord) -> models.MoveState:
        pending = self.state.mailbox_moves.keys_by("domain", move.domain)
        return models.MoveState(domain=move.domain, moving_from=move.moving_from, moving_to=move.moving_to,
                                pending=sorted(f"{local}@{domain}" for domain, local in pending))

    def _move(self, name: str) -> MoveRecord:
        self._domain(name)
        move = self.state.moves.get(name)
        if move is None:
            raise errors.not_found(errors.MOVE_NOT_FOUND)
        return move

    @atomic
    def set_moving(self, name: str, change: models.MoveChange) -> models.MoveState:
        """Mark a domain moving; coming `moving_from` elsewhere, every mailbox it has needs moving."""
        self._domain(name)
        if name in self.state.moves:
            self._complete_move(name)
        pending = [local for _, local in self.state.mailboxes.keys_by("domain", name)] if change.moving_from else []
        move = MoveRecord(name, moving_from=change.moving_from, moving_to=change.moving_to)
        self._start_move(move, pending)
        return self._move_view(move)

    @atomic
    def move_state(self, name: str) -> models.MoveState:
        return self._move_view(self._move(name))

    @atomic
    def complete_move(self, name: str) -> None:
        self._move(name)
        self._complete_move(name)

    @atomic
    def queue_mail(self, domain: str, local: str) -> models.QueuedMailView:
        self._domain(domain)
        queue_id = secrets.token_hex(5).upper()  # Postfix's short queue ids: 10 hex digits
        self.state.mailqueue[queue_id] = QueuedMail(queue_id, domain, local)
        return models.QueuedMailView(queue_id=queue_id, email=f"{local}@{domain}")

    @atomic
    def flush_mailqueue(self, domain: str, local: str) -> None:
        for queue_id in self.state.mailqueue.keys_by("address", (domain, local)):
            del self.state.mailqueue[queue_id]
