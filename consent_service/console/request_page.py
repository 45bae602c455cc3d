"""The request page as an officer sees it, with the forms of what may be done now, the notice
of the last action and the messages of a refused one: rendered for the page's route and for
each action's answer."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import gettext, lazy_gettext

from consent_service.clock import utcnow
from consent_service.console import session as console_session
from consent_service.console import work
from consent_service.errors import NotFound
from consent_service.organizations.models import Organization
from consent_service.staff.models import StaffMember

#: The notice after each action.
DONE = {
    "verify": lazy_gettext("The requester is verified: the legal clock runs."),
    "resend_code": lazy_gettext("A new code was mailed to the requester."),
    "assign": lazy_gettext("The request is assigned."),
    "pause": lazy_gettext("The clock is stopped until the requester answers."),
    "resume": lazy_gettext("The clock runs again; the due date moved by the days paused."),
    "extend": lazy_gettext("The deadline is extended and the requester is told why."),
    "complete": lazy_gettext("The request is completed and the requester has the reply."),
    "refuse": lazy_gettext("The request is refused; the requester has the ground and the complaint channel."),
    "task": lazy_gettext("The task's answer is recorded."),
}

#: What the request's state refuses, by the error's code, as the page says it.
REFUSED = {
    "transition_not_allowed": lazy_gettext("This cannot be done to the request in its present state."),
    "tasks_open": lazy_gettext(
        "Data systems have not answered their tasks yet: answer or wait for them first."
    ),
    "extension_not_allowed": lazy_gettext("The deadline of this request cannot be extended."),
    "code_resend_too_soon": lazy_gettext(
        "A code was mailed a moment ago, or too many were: try again later."
    ),
    "task_answered": lazy_gettext("This task was answered already."),
}


def render_request(
    org: Organization,
    member: StaffMember,
    public_id: str,
    lang: str,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
):
    """The request page: ``failed`` is the form whose ``errors`` are shown, ``values`` what was
    entered in it."""
    try:
        data = work.request_page(org, public_id, utcnow(), lang)
    except NotFound:
        abort(404)
    page = render_template(
        "console/request.html",
        lang=lang,
        org={"slug": org.slug, "name": org.name_zh if lang == "zh" else org.name_en},
        r=data,
        can_work=console_session.can("requests:work"),
        errors=errors or {},
        failed=failed,
        values=values or {},
        notice=notice,
        complaint_default=_complaint_default(org),
        active="requests",
    )
    return page, status


def _complaint_default(org: Organization) -> str:
    """Where a refused requester can complain, as the refusal form first suggests (PIPL 50)."""
    contact = " ".join(part for part in (org.pipo_name, org.pipo_contact or org.contact_email) if part)
    return gettext(
        "Our personal information protection officer: %(contact)s. You may also complain to the "
        "departments that protect personal information (12377.cn).",
        contact=contact or "—",
    )


def notice_of(code: str | None) -> str | None:
    """The notice a ``?done=`` code names."""
    return str(DONE[code]) if code in DONE else None
