"""Signing in to the dashboard with a code mailed to the person: the address form, then the
code form (:mod:`.signin` decides; these pages parse the forms and render).

Before sign-in the session holds only the CSRF token and the pending sign-in's opaque id;
:func:`~.session.sign_in` starts a new session once the code is right. Both posts carry a
CSRF token and count against ``DASHBOARD_SIGN_IN_RATE_LIMIT`` per client address. No answer
may be kept by a cache.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.dashboard import signin
from consent_service.dashboard.session import sign_in
from consent_service.errors import InvalidInput, NotFound
from consent_service.extensions import limiter
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.organizations.service import get_organization
from consent_service.unit_of_work import unit_of_work
from consent_service.web.security import no_store

bp = Blueprint("dashboard_signin", __name__, url_prefix="/dashboard")

#: The session key of the pending sign-in's opaque id (never the address).
PENDING_KEY = "sign_in_pending"
#: What a person types: six digits, perhaps with spaces between groups.
CODE_PATTERN = re.compile(r"[0-9]{6}")
MAIL_LANGUAGES = {"zh": "zh-CN", "en": "en"}

#: The two posts share one budget per client address; an empty setting turns it off.
_limited = limiter.shared_limit(
    lambda: current_app.config["DASHBOARD_SIGN_IN_RATE_LIMIT"] or "1 per second",
    scope="dashboard_sign_in",
    exempt_when=lambda: not current_app.config["DASHBOARD_SIGN_IN_RATE_LIMIT"],
)


@bp.after_request
def _never_cached(response):
    """A sign-in form, a code page, a redirect: nothing is stored by a cache."""
    return no_store(response)


def _org_or_404(slug: object) -> Organization:
    if not isinstance(slug, str) or not slug:
        abort(404)
    try:
        return get_organization(slug)
    except NotFound:
        abort(404)


def _name(org: Organization, lang: str) -> str:
    return org.name_zh if lang == "zh" else org.name_en


def _address_page(lang: str, org: Organization | None, status: int = 200, **values):
    """The address form, for ``org`` or with a choice of the listed organizations."""
    listed = []
    if org is None:
        listed = [{"slug": o.slug, "name": _name(o, lang)} for o in signin.listed_organizations()]
    values.setdefault("errors", {})
    page = render_template(
        "dashboard/sign_in.html",
        lang=lang,
        org={"slug": org.slug, "name": _name(org, lang)} if org is not None else None,
        organizations=listed,
        email=values.pop("email", ""),
        **values,
    )
    return page, status


def _again_url(org: Organization, lang: str) -> str:
    return url_for(".sign_in_form", org=org.slug, lang=lang)


def _code_page(lang: str, org: Organization, status: int = 200, *, error: str | None = None,
               spent: bool = False):  # fmt: skip
    """The code form, or the message that the code can no longer be used."""
    page = render_template(
        "dashboard/sign_in_code.html",
        lang=lang,
        org={"slug": org.slug, "name": _name(org, lang)},
        minutes=current_app.config["DASHBOARD_CODE_MINUTES"],
        error=error,
        spent=spent,
        again_url=_again_url(org, lang),
    )
    return page, status


@bp.get("/sign-in")
def sign_in_form():
    """Ask for the address: of the organization named by ``?org=`` (404 if none has that
    slug), or of one chosen among ``PUBLIC_ORGANIZATIONS``."""
    lang = page_language()
    slug = request.args.get("org")
    return _address_page(lang, _org_or_404(slug) if slug is not None else None)


@bp.post("/sign-in")
@_limited
def request_code():
    """Mail a code to the address if a person of the organization has it, and go to the code
    form: the same answer either way (303)."""
    lang = page_language()
    slug = request.form.get("org")
    email = request.form.get("email", "")
    if not slug:
        errors = {"org": gettext("Choose your organization.")}
        return _address_page(lang, None, 400, email=email, errors=errors)
    org = _org_or_404(slug)
    try:
        with unit_of_work():
            pending = signin.request_code(org, email, MAIL_LANGUAGES[lang], utcnow())
    except InvalidInput:
        errors = {"email": gettext("Enter an email address, such as name@example.com.")}
        return _address_page(lang, org, 400, email=email, errors=errors)
    except signin.CodeNotSent as exc:
        if exc.too_many:
            message = gettext("Too many codes were sent to this address; try again in an hour.")
        else:
            message = gettext("A code was sent moments ago; wait a minute before asking for another.")
        page, status = _address_page(lang, org, 429, email=email, errors={"email": message})
        return page, status, {"Retry-After": str(exc.retry_after)}
    session[PENDING_KEY] = pending
    return redirect(url_for(".code_form", lang=lang), 303)


@bp.get("/sign-in/code")
def code_form():
    """Ask for the code of the browser's pending sign-in (none: back to the address form)."""
    lang = page_language()
    pending = signin.pending_sign_in(session.get(PENDING_KEY), utcnow())
    if pending is None:
        return redirect(url_for(".sign_in_form", lang=lang))
    if not pending.is_open:
        return _code_page(lang, pending.org, 410, spent=True)
    return _code_page(lang, pending.org)


@bp.post("/sign-in/code")
@_limited
def enter_code():
    """The right code starts the person's session (303 to the dashboard); a wrong one says
    how many attempts are left; a spent one says how to ask again."""
    lang = page_language()
    now = utcnow()
    pending_id = session.get(PENDING_KEY)
    code = re.sub(r"\s+", "", request.form.get("code", ""))
    if not CODE_PATTERN.fullmatch(code):
        pending = signin.pending_sign_in(pending_id, now)
        if pending is None:
            return redirect(url_for(".sign_in_form", lang=lang), 303)
        if not pending.is_open:
            return _code_page(lang, pending.org, 410, spent=True)
        return _code_page(
            lang, pending.org, 400, error=gettext("Enter the 6 digits of the code in the mail.")
        )
    with unit_of_work():
        result = signin.verify_code(pending_id, code, now)
    if result.outcome == "signed_in":
        sign_in(result.subject_id, now)
        return redirect(url_for("dashboard.home", lang=lang), 303)
    if result.org is None:
        return redirect(url_for(".sign_in_form", lang=lang), 303)
    if result.outcome == "wrong":
        message = gettext("This code is not right; attempts left: %(num)d.", num=result.attempts_left)
        return _code_page(lang, result.org, 400, error=message)
    return _code_page(lang, result.org, 410, spent=True)
