"""One console action, in one unit of work with its audit entry (PIPL 51, 54; GB/T 35273 11.7).

Every console post that changes something runs its service call inside :func:`staff_action`,
which appends the entry to the organization's trail in the same transaction: the staff
member as the actor (their id, never their address), ``console:<action>`` as the action, what
it touched as ``kind:id``, the before and after of the fields it changed, and what the services
it called noted as changed (:mod:`consent_service.changes`). A refused
action rolls back and leaves no entry; nothing is recorded that was not done.

    with staff_action(org, member, "request.assign", f"rights_request:{rid}") as change:
        change.before = {"assigned_to": request.assigned_to}
        actions.assign(...)
        change.after = {"assigned_to": request.assigned_to}

The fields kept are identifiers, codes, statuses and times; a free text (a reason, a note)
is kept as its length, not its words, since it may name the person.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from consent_service.audit.trail import record
from consent_service.changes import Changes, collecting
from consent_service.clock import utcnow
from consent_service.organizations.models import Organization
from consent_service.staff.models import StaffMember
from consent_service.unit_of_work import unit_of_work


@dataclass
class Change:
    """The before and after of what one action changed (plain JSON values), and its outcome."""

    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    outcome: str = "ok"
    extra: dict[str, Any] = field(default_factory=dict)
    #: What the action made, when its id is known only once made (a new client, a member).
    target: str | None = None

    def details(self, noted: Changes | None = None) -> dict[str, Any] | None:
        details = dict(self.extra)
        if noted is not None:
            details.update(noted.details())
        if self.before is not None:
            details["before"] = self.before
        if self.after is not None:
            details["after"] = self.after
        return details or None


def staff_actor(member: StaffMember) -> str:
    """How the trail names a member of staff: ``staff:<id>`` (the address is personal data)."""
    return f"staff:{member.id}"


@contextmanager
def staff_action(org: Organization, member: StaffMember, action: str, target: str | None) -> Iterator[Change]:
    """Run the body as one unit of work that ends with the action's audit entry."""
    change = Change()
    with unit_of_work(), collecting() as noted:
        yield change
        record(
            org.id,
            "staff",
            staff_actor(member),
            f"console:{action}",
            change.target or target,
            change.outcome,
            change.details(noted),
            now=utcnow(),
        )
