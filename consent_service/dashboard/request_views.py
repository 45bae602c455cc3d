"""My requests in the dashboard: the person's rights requests, a new one, one request, and its
withdrawal (PIPL 44-50, GB/T 35273 8). Every route is the signed-in person's own (a 401 page
otherwise); someone else's request is a 404. No answer may be kept by a cache."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.consent.models import Subject
from consent_service.dashboard import requests as my_requests
from consent_service.dashboard.session import current_person
from consent_service.errors import InvalidInput
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.policies.service import current_policy
from consent_service.rights.workflow import TransitionNotAllowed
from consent_service.unit_of_work import unit_of_work
from consent_service.web.security import no_store

bp = Blueprint("dashboard_requests", __name__, url_prefix="/dashboard")


@bp.after_request
def _never_cached(response):
    """The person's requests: nothing a cache may keep."""
    return no_store(response)


def _page(template: str, org: Organization, lang: str, status: int = 200, **context: Any):
    """A page of the dashboard's layout (the organization, the policy in force) with ``context``."""
    policy = current_policy(org, utcnow())
    return (
        render_template(
            template,
            lang=lang,
            org={"slug": org.slug, "name": org.name_zh if lang == "zh" else org.name_en},
            policy_label=policy.label if policy else None,
            policy_url=url_for("policies.current", slug=org.slug, lang=lang) if policy else None,
            **context,
        ),
        status,
    )


def _form(org: Organization, lang: str, request_type: str, status: int = 200, values=None, errors=None):
    """The form of ``request_type``, with what was typed and the messages beside the fields."""
    return _page(
        "dashboard/request_form.html",
        org,
        lang,
        status,
        kind=my_requests.type_info(request_type),
        fields=my_requests.form_fields(request_type, values, errors),
        has_errors=bool(errors),
    )


def _chooser(org: Organization, lang: str, status: int = 200, error: str | None = None):
    return _page(
        "dashboard/request_new.html", org, lang, status, choices=my_requests.type_choices(), error=error
    )


def _detail(org: Organization, subject: Subject, rights_request, lang: str, status: int = 200, problem=None):
    return _page(
        "dashboard/request.html",
        org,
        lang,
        status,
        request=my_requests.detail_view(org, subject, rights_request, lang),
        messages=get_flashed_messages(),
        problem=problem,
    )


@bp.get("/requests")
def index():
    """The person's requests, newest first, each with its status and due date."""
    org, subject = current_person(utcnow())
    lang = page_language()
    return _page(
        "dashboard/requests.html",
        org,
        lang,
        requests=my_requests.list_view(org, subject),
        choices=my_requests.type_choices(),
    )


@bp.get("/requests/new")
def new():
    """Choose a right (``?type=`` absent), then the form that asks only what it needs."""
    org, _ = current_person(utcnow())
    lang = page_language()
    request_type = request.args.get("type")
    if request_type is None:
        return _chooser(org, lang)
    if request_type not in my_requests.FORM_FIELDS:
        return _chooser(org, lang, 400, str(my_requests.UNKNOWN_TYPE))
    return _form(org, lang, request_type)


@bp.post("/requests")
def create():
    """Make the request as the signed-in person (CSRF checked by CSRFProtect), then show it
    (303). A wrong field shows the form again (400) with its message; nothing is stored."""
    now = utcnow()
    org, subject = current_person(now)
    lang = page_language()
    request_type = request.form.get("type", "")
    if request_type not in my_requests.FORM_FIELDS:
        return _chooser(org, lang, 400, str(my_requests.UNKNOWN_TYPE))
    values, errors = my_requests.read_form(request_type, request.form)
    if errors:
        return _form(org, lang, request_type, 400, values, errors)
    try:
        with unit_of_work():
            public_id = my_requests.make_request(org, subject, request_type, values, lang, now).public_id
    except InvalidInput as exc:
        return _form(org, lang, request_type, 400, values, my_requests.field_errors(exc))
    flash(gettext("Your request was received. You will also get a confirmation by mail."))
    return redirect(url_for(".show", public_id=public_id, lang=lang), 303)


@bp.get("/requests/<public_id>")
def show(public_id: str):
    """One of the person's requests: its status, deadline and steps."""
    org, subject = current_person(utcnow())
    rights_request = my_requests.find_own_request(org, subject, public_id)
    if rights_request is None:
        abort(404)
    return _detail(org, subject, rights_request, page_language())


@bp.post("/requests/<public_id>/withdraw")
def withdraw(public_id: str):
    """The person no longer asks (CSRF checked); a closed request says so (409)."""
    now = utcnow()
    org, subject = current_person(now)
    lang = page_language()
    rights_request = my_requests.find_own_request(org, subject, public_id)
    if rights_request is None:
        abort(404)
    try:
        with unit_of_work():
            my_requests.withdraw(org, rights_request, now)
    except TransitionNotAllowed:
        problem = gettext("This request is already closed, so it can no longer be withdrawn.")
        return _detail(org, subject, rights_request, lang, 409, problem)
    flash(gettext("Your request was withdrawn."))
    return redirect(url_for(".show", public_id=public_id, lang=lang), 303)
