"""The console's staff page (``staff:manage``): the members, invitations (the enrolment link
shown once), roles, disabling, enabling and unlocking, with :mod:`~consent_service.staff.management`'s
rules (nobody demotes or disables themselves; the last admin stays).

Each post runs its service call (the same the API and the commands call) inside
:func:`~consent_service.console.acting.staff_action`, so the change and its audit entry commit
together; the entry keeps identifiers, codes, hosts and times, never a secret or an address.
A secret (a client's, an endpoint's) and an enrolment link are shown once, on the page that
answers the post, and never again. Bad input re-renders the form (400) with the message beside
the field; a refused change is a 409 page that says why.
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console import pages
from consent_service.console import settings_work as work
from consent_service.console.acting import staff_action
from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.organizations.models import Organization
from consent_service.staff import accounts, management
from consent_service.staff.models import StaffMember

bp = pages.blueprint("console_staff", __name__)


# Staff -------------------------------------------------------------------------------------


def _staff_notice(done: str | None) -> str | None:
    return {
        "role": gettext("The role is changed."),
        "disabled": gettext("The account is disabled."),
        "enabled": gettext("The account is enabled."),
        "unlocked": gettext("The account is unlocked."),
    }.get(done)


def _staff_page(org, lang, me: StaffMember, status=200, errors=None, form=None):
    page = render_template(
        "console/settings/staff.html", lang=lang, org=pages.org_view(org, lang), active="staff",
        members=work.staff(org, utcnow(), lang), roles=work.role_names(lang), errors=errors or {},
        form=form or {}, me=me.id,
        notice=_staff_notice(request.args.get("done")),
    )  # fmt: skip
    return page, status


def _staff_refused(org: Organization, lang: str, exc: Conflict):
    """The staff rules as the page says them."""
    if isinstance(exc, management.LastAdministrator):
        message = gettext(
            "This is the organization's last administrator: make another member administrator first."
        )
    elif "disable" in exc.message:
        message = gettext("You cannot disable your own account.")
    else:
        message = gettext("You cannot remove your own administrator role: another administrator can.")
    return pages.refused(org, lang, message, url_for(".staff", slug=org.slug, lang=lang))


def _member_or_404(org: Organization, member_id: int) -> StaffMember:
    try:
        return management.member_of(org, member_id)
    except NotFound:
        abort(404)


@bp.get("/<slug>/staff")
def staff(slug: str):
    """The organization's staff, and the form that invites a member."""
    lang, org, member = pages.begin(slug, "staff:manage")
    return _staff_page(org, lang, member)


@bp.post("/<slug>/staff")
def invite(slug: str):
    """Invite a member: their one-time enrolment link is shown on the page that answers, once."""
    lang, org, member = pages.begin(slug, "staff:manage")
    form = {k: request.form.get(k, "") for k in ("email", "name", "role")}
    try:
        with staff_action(org, member, "staff.invite", None) as change:
            invited, link = accounts.invite(org, form["email"], form["name"], form["role"], utcnow())
            change.target = f"staff_member:{invited.id}"
            change.after = {"id": invited.id, "role": invited.role}
    except InvalidInput as exc:
        errors = {}
        if pages.problems(exc, "email"):
            errors["email"] = gettext("Enter an email address, such as name@example.com.")
        if pages.problems(exc, "name"):
            errors["name"] = gettext("Use at most 200 characters.")
        if pages.problems(exc, "role"):
            errors["role"] = gettext("Choose a role.")
        return _staff_page(org, lang, member, 400, errors, form)
    except Conflict:
        errors = {"email": gettext("A member of staff already has this address.")}
        return _staff_page(org, lang, member, 409, errors, form)
    hours = current_app.config["STAFF_ENROL_HOURS"]
    values = [(gettext("Enrolment link (works once, for %(num)d hours)", num=hours), link)]
    back = url_for(".staff", slug=org.slug, lang=lang)
    return pages.shown_once(org, lang, gettext("The member is invited"), values, back, "staff")


@bp.post("/<slug>/staff/<int:member_id>/role")
def change_role(slug: str, member_id: int):
    """Give a member another role (not one's own admin role away; not the last admin's)."""
    lang, org, actor = pages.begin(slug, "staff:manage")
    member = _member_or_404(org, member_id)
    role_code = request.form.get("role", "")
    try:
        with staff_action(org, actor, "staff.role", f"staff_member:{member.id}") as change:
            change.before = {"role": member.role}
            management.change_role(actor, member, role_code)
            change.after = {"role": member.role}
    except InvalidInput:
        return _staff_page(org, lang, actor, 400, {f"role-{member_id}": gettext("Choose a role.")})
    except Conflict as exc:
        return _staff_refused(org, lang, exc)
    return pages.done(".staff", org, lang, "role")


@bp.post("/<slug>/staff/<int:member_id>/disable")
def disable_member(slug: str, member_id: int):
    """Disable a member's account (not one's own; not the last admin's)."""
    lang, org, actor = pages.begin(slug, "staff:manage")
    member = _member_or_404(org, member_id)
    try:
        with staff_action(org, actor, "staff.disable", f"staff_member:{member.id}") as change:
            change.before = {"disabled_at": pages.iso(member.disabled_at)}
            management.disable(actor, member, utcnow())
            change.after = {"disabled_at": pages.iso(member.disabled_at)}
    except Conflict as exc:
        return _staff_refused(org, lang, exc)
    return pages.done(".staff", org, lang, "disabled")


@bp.post("/<slug>/staff/<int:member_id>/enable")
def enable_member(slug: str, member_id: int):
    """Let a disabled member sign in again."""
    lang, org, actor = pages.begin(slug, "staff:manage")
    member = _member_or_404(org, member_id)
    with staff_action(org, actor, "staff.enable", f"staff_member:{member.id}") as change:
        change.before = {"disabled_at": pages.iso(member.disabled_at)}
        management.enable(member)
        change.after = {"disabled_at": None}
    return pages.done(".staff", org, lang, "enabled")


@bp.post("/<slug>/staff/<int:member_id>/unlock")
def unlock_member(slug: str, member_id: int):
    """End a member's lock after too many failed sign-ins."""
    lang, org, actor = pages.begin(slug, "staff:manage")
    member = _member_or_404(org, member_id)
    with staff_action(org, actor, "staff.unlock", f"staff_member:{member.id}") as change:
        change.before = {
            "locked_until": pages.iso(member.locked_until),
            "failed_attempts": member.failed_attempts,
        }
        management.unlock(member)
        change.after = {"locked_until": None, "failed_attempts": 0}
    return pages.done(".staff", org, lang, "unlocked")
