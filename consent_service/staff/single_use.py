"""Second-factor secrets used once, even by two requests at the same time (PIPL 51(3); GB/T
35273 7.1): the staff row is changed only where it still holds what was read (a conditional
``UPDATE``), so of two requests with the same TOTP code or recovery code, the one that finds
the row changed fails. Both write and flush; the caller's unit of work commits."""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from consent_service.extensions import db
from consent_service.staff.models import StaffMember

_MEMBERS = StaffMember.__table__


def claim_totp_step(member: StaffMember, step: int) -> bool:
    """Take ``step`` as the member's last used TOTP step, if no later or equal one was taken
    (by this request or another at the same time): ``False`` if it was."""
    db.session.flush()
    taken = db.session.execute(
        update(_MEMBERS)
        .where(
            _MEMBERS.c.id == member.id,
            or_(_MEMBERS.c.totp_last_step.is_(None), _MEMBERS.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    if taken.rowcount != 1:
        return False
    set_committed_value(member, "totp_last_step", step)
    return True


def spend_recovery_code(member: StaffMember, digest: str) -> int | None:
    """Remove the recovery code hashed ``digest`` from the member's unused ones and return how
    many are left, or ``None`` if it is not one of them (or another request spent it first).

    The list is replaced only where it still is the list read (compare and set); if another
    request changed it in between, the list is read again and the code looked for again."""
    db.session.flush()
    for _ in range(3):
        stored = list(member.recovery_code_hashes or [])
        if digest not in stored:
            return None
        remaining = [kept for kept in stored if kept != digest]
        spent = db.session.execute(
            update(_MEMBERS)
            .where(_MEMBERS.c.id == member.id, _MEMBERS.c.recovery_code_hashes == stored)
            .values(recovery_code_hashes=remaining)
        )
        if spent.rowcount == 1:
            set_committed_value(member, "recovery_code_hashes", remaining)
            return len(remaining)
        db.session.refresh(member, ["recovery_code_hashes"])
    return None
