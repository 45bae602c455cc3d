"""The console's sign-in pages (issue 12 §1): password, second factor, enrolment with TOTP
set-up, password reset, sign-out and the home page. :mod:`consent_service.staff.accounts`
decides; these pages parse the forms and render.

Every post carries a CSRF token; the sign-in, second-factor and reset posts share
``CONSOLE_SIGN_IN_RATE_LIMIT`` per client address. No answer may be kept by a cache.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console import pages, request_page, work
from consent_service.console import session as console_session
from consent_service.errors import InvalidInput
from consent_service.extensions import db, limiter
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.rights.types import REQUEST_TYPES
from consent_service.staff import accounts
from consent_service.staff.models import StaffMember
from consent_service.staff.roles import role
from consent_service.unit_of_work import unit_of_work

bp = pages.blueprint("console", __name__)
MAIL_LANGUAGES = {"zh": "zh-CN", "en": "en"}

_limited = limiter.shared_limit(
    lambda: current_app.config["CONSOLE_SIGN_IN_RATE_LIMIT"] or "1 per second",
    scope="console_sign_in",
    exempt_when=lambda: not current_app.config["CONSOLE_SIGN_IN_RATE_LIMIT"],
)


@bp.app_template_global("console_can")
def _console_can(permission: str) -> bool:
    return console_session.can(permission)


def _password_errors(exc: InvalidInput) -> dict[str, str]:
    """The password rules broken, as the page says them."""
    problems = " ".join((exc.details or {}).get("password", []))
    messages = []
    if "at least" in problems:
        minimum = current_app.config["STAFF_PASSWORD_MIN_LENGTH"]
        messages.append(gettext("Use at least %(num)d characters.", num=minimum))
    if "email" in problems:
        messages.append(gettext("Do not use your email address as the password."))
    return {"password": " ".join(messages)}


def _sign_in_page(org: Organization, lang: str, status: int = 200, **values):
    values.setdefault("errors", {})
    values.setdefault("email", "")
    values.setdefault("notice", None)
    return render_template("console/sign_in.html", lang=lang, org=pages.org_view(org, lang), **values), status


@bp.get("/<slug>/sign-in")
def sign_in_form(slug: str):
    """The email and password form."""
    lang = page_language()
    notice = None
    if request.args.get("done") == "enrolled":
        notice = gettext("Your password is set. Sign in with it.")
    elif request.args.get("done") == "reset":
        notice = gettext("Your new password is set. Sign in with it.")
    return _sign_in_page(pages.org_or_404(slug), lang, notice=notice)


def _after_password(org: Organization, member: StaffMember, lang: str):
    """Where a right password leads: the second factor, its set-up, or the console."""
    now = utcnow()
    if accounts.needs_second_factor(member):
        console_session.start_pending(member, now)
        if member.totp_enabled_at is None:
            return redirect(url_for(".totp_setup", slug=org.slug, lang=lang), 303)
        return redirect(url_for(".second_factor_form", slug=org.slug, lang=lang), 303)
    with unit_of_work():
        accounts.signed_in(member, now)
    console_session.sign_in(member, now)
    return redirect(url_for(".home", slug=org.slug, lang=lang), 303)


@bp.post("/<slug>/sign-in")
@_limited
def sign_in(slug: str):
    """Check the address and password: one answer for every failure (401)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    email = request.form.get("email", "")
    failed = False
    with unit_of_work():  # a failure's count is committed too
        try:
            member = accounts.authenticate(
                org, email, request.form.get("password", ""), utcnow(), MAIL_LANGUAGES[lang]
            )
        except accounts.SignInFailed:
            failed = True
    if failed:
        message = gettext("The email address or password is not right.")
        return _sign_in_page(org, lang, 401, email=email, errors={"form": message})
    return _after_password(org, member, lang)


def _pending_or_restart(org: Organization, lang: str) -> StaffMember | None:
    member = console_session.pending_member(utcnow())
    return member if member is not None and member.org_id == org.id else None


def _second_factor_page(org: Organization, lang: str, status: int = 200, error: str | None = None):
    page = render_template(
        "console/second_factor.html", lang=lang, org=pages.org_view(org, lang), error=error
    )
    return page, status


@bp.get("/<slug>/sign-in/second-factor")
def second_factor_form(slug: str):
    """Ask for the code of the authenticator app (or a recovery code)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    if _pending_or_restart(org, lang) is None:
        return redirect(url_for(".sign_in_form", slug=slug, lang=lang))
    return _second_factor_page(org, lang)


@bp.post("/<slug>/sign-in/second-factor")
@_limited
def second_factor(slug: str):
    """The right code signs in (303 to the console); a wrong one is counted (401)."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = _pending_or_restart(org, lang)
    if member is None:
        return redirect(url_for(".sign_in_form", slug=slug, lang=lang), 303)
    now = utcnow()
    failed = False
    with unit_of_work():
        try:
            code = request.form.get("code", "")
            given = accounts.check_second_factor(member, code, now, MAIL_LANGUAGES[lang])
            accounts.signed_in(member, now, given)
        except accounts.SecondFactorFailed:
            failed = True
    if failed:
        return _second_factor_page(org, lang, 401, gettext("This code is not right."))
    console_session.sign_in(member, now)
    return redirect(url_for(".home", slug=slug, lang=lang), 303)


def _totp_page(
    org: Organization, lang: str, setup: accounts.SecondFactorSetup, status: int = 200, error=None
):
    page = render_template(
        "console/totp_setup.html",
        lang=lang,
        org=pages.org_view(org, lang),
        secret=setup.secret,
        otpauth_uri=setup.otpauth_uri,
        error=error,
    )
    return page, status


@bp.get("/<slug>/sign-in/totp-setup")
def totp_setup(slug: str):
    """Show a new TOTP secret (text and ``otpauth://`` URI) to enter in an authenticator app."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = _pending_or_restart(org, lang)
    if member is None or member.totp_enabled_at is not None:
        return redirect(url_for(".sign_in_form", slug=slug, lang=lang))
    with unit_of_work():
        setup = accounts.start_totp(member, org.name_en)
    return _totp_page(org, lang, setup)


@bp.post("/<slug>/sign-in/totp-setup")
@_limited
def confirm_totp(slug: str):
    """A right code puts TOTP in force, signs in and shows the recovery codes once."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = _pending_or_restart(org, lang)
    if member is None or member.totp_enabled_at is not None:
        return redirect(url_for(".sign_in_form", slug=slug, lang=lang), 303)
    now = utcnow()
    try:
        with unit_of_work():
            codes = accounts.confirm_totp(member, request.form.get("code", ""), now)
            accounts.signed_in(member, now)
    except InvalidInput:
        setup = accounts.pending_totp(member, org.name_en)
        if setup is None:
            return redirect(url_for(".sign_in_form", slug=slug, lang=lang), 303)
        return _totp_page(
            org, lang, setup, 400, gettext("This code is not right: enter the one the app shows now.")
        )
    console_session.sign_in(member, now)
    page = render_template(
        "console/recovery_codes.html", lang=lang, org=pages.org_view(org, lang), codes=codes,
        home_url=url_for(".home", slug=slug, lang=lang),
    )  # fmt: skip
    return page, 200


def _password_page(template_action: str, lang: str, org: Organization, status: int = 200, **values):
    values.setdefault("errors", {})
    page = render_template(
        "console/set_password.html",
        lang=lang,
        org=pages.org_view(org, lang),
        action=template_action,
        **values,
    )
    return page, status


def _link_spent(lang: str):
    return render_template("console/link_spent.html", lang=lang), 410


def _password_form(token: str, find, endpoint: str, *, enrol: bool):
    """The form that sets a password from a one-time link (410 if the link cannot be used)."""
    lang = page_language()
    try:
        member = find(token, utcnow())
    except accounts.LinkNotValid:
        return _link_spent(lang)
    org = db.session.get(Organization, member.org_id)
    return _password_page(
        url_for(endpoint, token=token, lang=lang), lang, org, email=member.email, enrol=enrol
    )


def _password_post(token: str, find, store, endpoint: str, *, enrol: bool):
    """Set the password a one-time link allows: ``(member, org, None)``, or ``(None, None,
    page)`` with the page to answer (the link spent, or the rules broken beside the field)."""
    lang = page_language()
    now = utcnow()
    try:
        member = find(token, now)
    except accounts.LinkNotValid:
        return None, None, _link_spent(lang)
    org = db.session.get(Organization, member.org_id)
    try:
        with unit_of_work():
            store(token, request.form.get("password", ""), now)
    except InvalidInput as exc:
        action = url_for(endpoint, token=token, lang=lang)
        page = _password_page(
            action, lang, org, 400, email=member.email, enrol=enrol, errors=_password_errors(exc)
        )
        return None, None, page
    return member, org, None


@bp.get("/enrol/<token>")
def enrol_form(token: str):
    """The form that sets the first password (410 if the link cannot be used)."""
    return _password_form(token, accounts.member_of_enrolment, ".enrol", enrol=True)


@bp.post("/enrol/<token>")
@_limited
def enrol(token: str):
    """Set the password; a role with a second factor goes on to set up TOTP."""
    member, org, page = _password_post(
        token, accounts.member_of_enrolment, accounts.enrol, ".enrol", enrol=True
    )
    if page is not None:
        return page
    lang = page_language()
    if role(member.role).requires_second_factor:
        console_session.start_pending(member, utcnow())
        return redirect(url_for(".totp_setup", slug=org.slug, lang=lang), 303)
    return redirect(url_for(".sign_in_form", slug=org.slug, lang=lang, done="enrolled"), 303)


@bp.get("/<slug>/reset")
def reset_form(slug: str):
    """Ask for the address to mail a reset link to."""
    lang = page_language()
    org = pages.org_or_404(slug)
    page = render_template(
        "console/reset.html", lang=lang, org=pages.org_view(org, lang), errors={}, sent=False, email=""
    )
    return page, 200


@bp.post("/<slug>/reset")
@_limited
def request_reset(slug: str):
    """Mail a reset link if the address is a member's: the same answer either way."""
    lang = page_language()
    org = pages.org_or_404(slug)
    email = request.form.get("email", "")
    try:
        with unit_of_work():
            accounts.request_reset(org, email, utcnow(), MAIL_LANGUAGES[lang])
    except InvalidInput:
        errors = {"email": gettext("Enter an email address, such as name@example.com.")}
        page = render_template(
            "console/reset.html",
            lang=lang,
            org=pages.org_view(org, lang),
            errors=errors,
            sent=False,
            email=email,
        )
        return page, 400
    minutes = current_app.config["STAFF_RESET_MINUTES"]
    page = render_template(
        "console/reset.html",
        lang=lang,
        org=pages.org_view(org, lang),
        errors={},
        sent=True,
        email="",
        minutes=minutes,
    )
    return page, 200


@bp.get("/reset/<token>")
def reset_password_form(token: str):
    """The form that sets a new password (410 if the link cannot be used)."""
    return _password_form(token, accounts.member_of_reset, ".reset_password", enrol=False)


@bp.post("/reset/<token>")
@_limited
def reset_password(token: str):
    """Set the new password and go to the sign-in page."""
    _, org, page = _password_post(
        token, accounts.member_of_reset, accounts.reset_password, ".reset_password", enrol=False
    )
    if page is not None:
        return page
    return redirect(url_for(".sign_in_form", slug=org.slug, lang=page_language(), done="reset"), 303)


@bp.post("/sign-out")
def sign_out():
    """End the console session."""
    lang = page_language()
    member = console_session.signed_in_member(utcnow())
    if member is not None:
        with unit_of_work():
            accounts.signed_out(member)
    console_session.sign_out()
    return render_template("console/signed_out.html", lang=lang), 200


@bp.get("/<slug>/")
def home(slug: str):
    """The overview: open, at risk, overdue; the on-time share and the median time to answer
    over 90 days; consents given and withdrawn per week, drawn as SVG on the server."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, "requests:read")
    held = role(member.role)
    data = work.dashboard(
        org,
        utcnow(),
        lang,
        gettext("Consents per week, last 90 days"),
        (gettext("given"), gettext("withdrawn")),
    )
    page = render_template(
        "console/home.html",
        lang=lang,
        org=pages.org_view(org, lang),
        member={"name": member.name, "email": member.email},
        role_name=held.name_zh if lang == "zh" else held.name_en,
        active="overview",
        **data,
    )
    return page, 200


@bp.get("/<slug>/requests")
def queue(slug: str):
    """The open requests, soonest due first, overdue and at-risk ones marked; filtered by type
    and urgency."""
    lang = page_language()
    org = pages.org_or_404(slug)
    console_session.current_staff(org, "requests:read")
    request_type = request.args.get("type") or None
    level = request.args.get("urgency") or None
    if request_type not in (None, *REQUEST_TYPES) or level not in (None, *work.URGENCIES):
        abort(404)
    rows = work.queue(org, utcnow(), lang, request_type=request_type, urgency_filter=level)
    types = [(code, t.name_zh if lang == "zh" else t.name_en) for code, t in REQUEST_TYPES.items()]
    return render_template(
        "console/queue.html", lang=lang, org=pages.org_view(org, lang), rows=rows, types=types,
        chosen={"type": request_type, "urgency": level}, active="requests",
    )  # fmt: skip


@bp.get("/<slug>/requests/<public_id>")
def request_detail(slug: str, public_id: str):
    """One request: its facts, its deadline explained day by day, its timeline and tasks, and
    the forms of what may be done now."""
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, "requests:read")
    notice = request_page.notice_of(request.args.get("done"))
    return request_page.render_request(org, member, public_id, lang, notice=notice)
