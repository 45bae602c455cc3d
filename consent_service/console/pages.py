"""What the console's pages share: a blueprint whose answers no cache keeps, the organization
of the path (404 if there is none) and as pages show it, the member checked for the page's
permission, the notice after a post, the 409 page of a refused change, and the page that shows
a secret or a link once."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext

from consent_service.console import session as console_session
from consent_service.errors import InvalidInput, NotFound
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.organizations.service import get_organization
from consent_service.staff.models import StaffMember
from consent_service.web.security import no_store


def blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of the console: under ``/console``, and nothing it answers is stored by a
    cache (a person's request, a secret shown once)."""
    bp = Blueprint(name, import_name, url_prefix="/console")
    bp.after_request(no_store)
    return bp


def org_or_404(slug: str) -> Organization:
    """The organization of the path; 404 when there is none."""
    try:
        return get_organization(slug)
    except NotFound:
        abort(404)


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def begin(slug: str, permission: str) -> tuple[str, Organization, StaffMember]:
    lang = page_language()
    org = org_or_404(slug)
    return lang, org, console_session.current_staff(org, permission)


def org_view(org: Organization, lang: str) -> dict[str, str]:
    return {"slug": org.slug, "name": org.name_zh if lang == "zh" else org.name_en}


def done(endpoint: str, org: Organization, lang: str, done: str, **values):
    return redirect(url_for(endpoint, slug=org.slug, lang=lang, done=done, **values), 303)


def refused(org: Organization, lang: str, message: str, back: str):
    """The 409 page: the change was refused, and why."""
    page = render_template(
        "console/settings/refused.html", lang=lang, org=org_view(org, lang), message=message, back=back
    )
    return page, 409


def shown_once(org: Organization, lang: str, title: str, values: list, back: str, active: str):
    """The page that shows a secret or a link once (it is kept nowhere it could be read again)."""
    page = render_template(
        "console/settings/shown_once.html", lang=lang, org=org_view(org, lang), title=title,
        values=values, back=back, active=active,
    )  # fmt: skip
    return page, 200


def problems(exc: InvalidInput, field: str) -> str:
    return " ".join(str(p) for p in (exc.details or {}).get(field, []))


def url_message(problems: str) -> str:
    if "absolute" in problems:
        return gettext("Enter an absolute http or https address.")
    if "2000" in problems:
        return gettext("Use at most 2000 characters.")
    return gettext(
        "This address cannot be reached from this service: private, loopback and local addresses are refused."
    )
