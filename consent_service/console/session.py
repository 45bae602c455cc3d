"""The console session: which member of staff is signed in, and the half-way states before.

It lives in Flask's signed cookie beside the dashboard's but under its own keys. Signing in
starts the session afresh (whatever the cookie held, a dashboard sign-in and the CSRF token
among them, is dropped). It ends after ``CONSOLE_IDLE_MINUTES`` without a visit and on
sign-out. Between the password and the second factor (or the setting-up of TOTP) the session
holds only ``PENDING_KEY``, valid ``PENDING_MINUTES``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, g, redirect, request, session, url_for

from consent_service.clock import utcnow
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.staff import accounts
from consent_service.staff.models import StaffMember
from consent_service.staff.roles import role

STAFF_KEY = "console_staff_id"
SEEN_KEY = "console_seen_at"
#: ``[member id, ISO time]`` after the password, before the second factor.
PENDING_KEY = "console_pending"
PENDING_MINUTES = 10


def _fresh() -> None:
    session.clear()
    g.pop("csrf_token", None)
    session.permanent = True


def start_pending(member: StaffMember, now: datetime) -> None:
    """The password was right: a new session that awaits the second factor."""
    _fresh()
    session[PENDING_KEY] = [member.id, now.isoformat()]


def pending_member(now: datetime) -> StaffMember | None:
    """The member whose password was given and whose second factor is awaited, if in time."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, list) or len(pending) != 2 or not isinstance(pending[1], str):
        return None
    if now - datetime.fromisoformat(pending[1]) > timedelta(minutes=PENDING_MINUTES):
        session.pop(PENDING_KEY, None)
        return None
    member = accounts.get_member(pending[0])
    return member if member is not None and member.disabled_at is None else None


def sign_in(member: StaffMember, now: datetime) -> None:
    """Start a new session for ``member`` (both factors given where needed)."""
    _fresh()
    session[STAFF_KEY] = member.id
    session[SEEN_KEY] = now.isoformat()


def sign_out() -> None:
    """End the session."""
    session.clear()


def signed_in_member(now: datetime) -> StaffMember | None:
    """The signed-in member, the visit noted; ``None`` if nobody is, the session was idle
    longer than ``CONSOLE_IDLE_MINUTES`` (then it ends), or the account was disabled."""
    member_id = session.get(STAFF_KEY)
    if member_id is None:
        return None
    seen = session.get(SEEN_KEY)
    idle = timedelta(minutes=current_app.config["CONSOLE_IDLE_MINUTES"])
    member = accounts.get_member(member_id)
    if not isinstance(seen, str) or now - datetime.fromisoformat(seen) > idle or member is None:
        session.clear()
        return None
    if member.disabled_at is not None or (
        role(member.role).requires_second_factor and member.totp_enabled_at is None
    ):
        session.clear()
        return None
    session[SEEN_KEY] = now.isoformat()
    return member


def current_staff(org: Organization, permission: str) -> StaffMember:
    """The signed-in member of ``org`` who holds ``permission``.

    Nobody signed in: a redirect to the sign-in page for a GET, else 401. Signed in to another
    organization: 404 (nothing says this one has a console). The role lacks the permission: 403.
    """
    member = signed_in_member(utcnow())
    if member is None:
        if request.method == "GET":
            abort(redirect(url_for("console.sign_in_form", slug=org.slug, lang=page_language())))
        abort(401)
    if member.org_id != org.id:
        abort(404)
    if not role(member.role).can(permission):
        abort(403)
    g.console_member = member
    return member


def can(permission: str) -> bool:
    """Whether the member this request was checked for holds ``permission`` (for the
    navigation: a page shows only the links its reader may follow)."""
    member = g.get("console_member")
    return member is not None and role(member.role).can(permission)
