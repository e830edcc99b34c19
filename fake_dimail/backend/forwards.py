"""Forwards: Postfix relays the mail of `user@domain` to a next hop (CONTRACT.md §4.12)."""

from __future__ import annotations

from .. import errors, models
from ..models import Row
from ..records import Caller, ForwardRecord
from .base import Base, atomic


class Forwards(Base):
    @staticmethod
    def _forward_row(forward: ForwardRecord) -> Row:
        return {"domain": forward.domain, "username": forward.local, "nexthop": forward.nexthop}

    def _forward_view(self, forward: ForwardRecord) -> models.Forward:
        return models.Forward.model_validate(self._forward_row(forward))

    def _forward_scope(self, caller: Caller, domain: str) -> None:
        self._require_allowed(caller, domain)
        self._domain(domain)

    def _forward(self, domain: str, local: str) -> ForwardRecord:
        forward = self.state.forwards.get((domain, local))
        if forward is None:
            raise errors.not_found(errors.FORWARD_NOT_FOUND)
        return forward

    @atomic
    def list_forwards(self, caller: Caller, domain: str) -> models.Listing[models.Forward]:
        self._forward_scope(caller, domain)
        forwards = self.state.forwards.rows_by("domain", domain)
        return models.Listing(models.Forward, (self._forward_row(f) for f in forwards))

    @atomic
    def get_forward(self, caller: Caller, domain: str, local: str) -> models.Forward:
        self._forward_scope(caller, domain)
        return self._forward_view(self._forward(domain, local))

    @atomic
    def create_forward(self, caller: Caller, domain: str, local: str, body: models.CreateForward) -> models.Forward:
        self._forward_scope(caller, domain)
        if (domain, local) in self.state.forwards:
            raise errors.conflict(errors.FORWARD_EXISTS)
        # guess G-forward-in-use: Postfix cannot both deliver and relay one address, so another use of the name is a 409 too.
        if self.state.address_taken(domain, local):
            raise errors.conflict(errors.ADDRESS_IN_USE)
        forward = ForwardRecord(domain, local, body.nexthop)
        self.state.forwards[(domain, local)] = forward
        return self._forward_view(forward)

    @atomic
    def update_forward(self, caller: Caller, domain: str, local: str, body: models.UpdateForward) -> models.Forward:
        self._forward_scope(caller, domain)
        self._forward(domain, local)
        return self._forward_view(self.state.forwards.modify((domain, local), nexthop=body.nexthop))

    @atomic
    def delete_forward(self, caller: Caller, domain: str, local: str) -> None:
        self._forward_scope(caller, domain)
        self._forward(domain, local)
        del self.state.forwards[(domain, local)]
