"""Managing an organization's staff: who they are, their roles, and whether they may sign in
(PIPL 51(3): access to personal information by role). Nobody demotes or disables themselves,
and the organization keeps an administrator who can sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.staff.accounts import get_member
from consent_service.staff.models import StaffMember
from consent_service.staff.roles import ROLES


class OwnAccount(Conflict):
    """An administrator tried to remove their own admin role or disable themselves."""

    code = "own_account"


class LastAdministrator(Conflict):
    """The change would leave the organization without an administrator who can sign in."""

    code = "last_administrator"


def members(org: Organization) -> list[StaffMember]:
    """The staff of ``org``, by name."""
    return list(
        db.session.scalars(
            select(StaffMember).where(StaffMember.org_id == org.id).order_by(StaffMember.name, StaffMember.id)
        )
    )


def member_of(org: Organization, member_id: object) -> StaffMember:
    """The member of ``org`` with id ``member_id``; :class:`NotFound` for anyone else."""
    member = get_member(member_id)
    if member is None or member.org_id != org.id:
        raise NotFound(f"no member of staff {member_id!r}")
    return member


def _other_admins(member: StaffMember) -> int:
    """How many admins of the member's organization, other than them, can sign in (enabled and
    enrolled)."""
    return db.session.scalar(
        select(func.count())
        .select_from(StaffMember)
        .where(
            StaffMember.org_id == member.org_id,
            StaffMember.id != member.id,
            StaffMember.role == "admin",
            StaffMember.disabled_at.is_(None),
            StaffMember.password_hash.is_not(None),
        )
    )


def _keep_an_admin(member: StaffMember) -> None:
    """Refuse to take away the last admin who can sign in: nobody could manage staff again."""
    if member.role == "admin" and member.disabled_at is None and not _other_admins(member):
        raise LastAdministrator("this is the organization's last administrator", {"member": member.id})


def change_role(actor: StaffMember, member: StaffMember, role_code: str) -> None:
    """Give ``member`` the role ``role_code`` (PIPL 51(3): access by role).

    :class:`InvalidInput` on ``role`` for an unknown role; :class:`Conflict` when an admin would
    remove their own admin role, or the organization's last admin would be demoted. A member
    made admin without TOTP sets it up at their next sign-in (the role requires it).
    """
    if role_code not in ROLES:
        raise InvalidInput("invalid role", {"role": [f"is not one of {', '.join(ROLES)}"]})
    if role_code == member.role:
        return
    if member.id == actor.id and member.role == "admin":
        raise OwnAccount("you cannot remove your own administrator role", {"member": member.id})
    _keep_an_admin(member)
    member.role = role_code
    db.session.flush()


def disable(actor: StaffMember, member: StaffMember, now: datetime) -> None:
    """Disable ``member``: they cannot sign in, and a signed-in session ends at its next
    visit. :class:`Conflict` for oneself and for the last admin."""
    if member.disabled_at is not None:
        return
    if member.id == actor.id:
        raise OwnAccount("you cannot disable your own account", {"member": member.id})
    _keep_an_admin(member)
    member.disabled_at = now
    db.session.flush()


def enable(member: StaffMember) -> None:
    """Let a disabled member sign in again (their password and TOTP are as they were)."""
    member.disabled_at = None
    db.session.flush()


def unlock(member: StaffMember) -> None:
    """End the member's lock and clear their count of failures."""
    member.locked_until = None
    member.failed_attempts = 0
    db.session.flush()
