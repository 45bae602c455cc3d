"""A member's own account page: who they are, their role, and two-step sign-in, which any
member may turn on (an admin's role requires it from enrolment). Turning it on shows a new
key, asks for the code the authenticator app shows, then shows the recovery codes once."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console import pages
from consent_service.console import session as console_session
from consent_service.console.acting import staff_action
from consent_service.errors import InvalidInput
from consent_service.i18n import local_datetime, page_language
from consent_service.organizations.models import Organization
from consent_service.staff import accounts
from consent_service.staff.models import StaffMember
from consent_service.staff.roles import role

bp = pages.blueprint("console_account", __name__)


def _account(org: Organization, member: StaffMember, lang: str) -> dict:
    held = role(member.role)
    return {
        "name": member.name,
        "email": member.email,
        "role": held.name_zh if lang == "zh" else held.name_en,
        "required": held.requires_second_factor,
        "totp_on": member.totp_enabled_at is not None,
        "totp_since": local_datetime(member.totp_enabled_at, org.timezone, lang)
        if member.totp_enabled_at
        else None,
        "recovery_left": len(member.recovery_code_hashes or []),
        "last_sign_in": (
            local_datetime(member.last_sign_in_at, org.timezone, lang) if member.last_sign_in_at else None
        ),
    }


@bp.get("/<slug>/account")
def account(slug: str):
    """The member's account and the state of their two-step sign-in."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, "requests:read")
    page = render_template(
        "console/account.html", lang=lang, org=pages.org_view(org, lang), account=_account(org, member, lang),
        notice=gettext("Two-step sign-in is on.") if request.args.get("done") == "totp" else None,
        active="account",
    )  # fmt: skip
    return page, 200


def _setup_page(
    org: Organization, lang: str, setup: accounts.SecondFactorSetup, status: int = 200, error=None
):
    page = render_template(
        "console/totp_setup.html", lang=lang, org=pages.org_view(org, lang), secret=setup.secret,
        otpauth_uri=setup.otpauth_uri, error=error, voluntary=True,
        action=url_for(".confirm_totp", slug=org.slug, lang=lang),
    )  # fmt: skip
    return page, status


@bp.post("/<slug>/account/totp")
def start_totp(slug: str):
    """Show a new key for an authenticator app (the one started before, if not yet confirmed)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, "requests:read")
    if member.totp_enabled_at is not None:
        return redirect(url_for(".account", slug=slug, lang=lang), 303)
    with staff_action(org, member, "account.totp_start", f"staff:{member.id}"):
        setup = accounts.start_totp(member, org.name_en)
    return _setup_page(org, lang, setup)


@bp.post("/<slug>/account/totp/confirm")
def confirm_totp(slug: str):
    """A right code puts two-step sign-in in force and shows the recovery codes once."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, "requests:read")
    if member.totp_enabled_at is not None:
        return redirect(url_for(".account", slug=slug, lang=lang), 303)
    setup = accounts.pending_totp(member, org.name_en)
    if setup is None:
        return redirect(url_for(".account", slug=slug, lang=lang), 303)
    try:
        with staff_action(org, member, "account.totp_on", f"staff:{member.id}") as change:
            change.before = {"totp": False}
            codes = accounts.confirm_totp(member, request.form.get("code", ""), utcnow())
            change.after = {"totp": True}
    except InvalidInput:
        return _setup_page(
            org, lang, setup, 400, gettext("This code is not right: enter the one the app shows now.")
        )
    page = render_template(
        "console/recovery_codes.html", lang=lang, org=pages.org_view(org, lang), codes=codes,
        home_url=url_for(".account", slug=slug, lang=lang, done="totp"),
    )  # fmt: skip
    return page, 200
