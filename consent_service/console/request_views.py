"""The request page's forms (issue 12 §2): each action posts to
``/console/<slug>/requests/<id>/<action>``, and a manual task's answer to
``.../tasks/<task id>``. :mod:`.request_actions` does the work; these routes check the
officer, and answer with a 303 back to the page and a notice, or the page again with the
message beside the field (400) or what the request's state refuses (409, 422, 429).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

from consent_service.clock import utcnow
from consent_service.console import request_actions, work
from consent_service.console import session as console_session
from consent_service.errors import DomainError, InvalidInput, NotFound
from consent_service.i18n import page_language
from consent_service.organizations.models import Organization
from consent_service.organizations.service import get_organization
from consent_service.staff.models import StaffMember

bp = Blueprint("console_requests", __name__, url_prefix="/console")

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


def _org_or_404(slug: str) -> Organization:
    try:
        return get_organization(slug)
    except NotFound:
        abort(404)


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


def _answer(slug: str, public_id: str, action: str, work_fn, form_name: str | None = None):
    lang = page_language()
    org = _org_or_404(slug)
    member = console_session.current_staff(org, "requests:work")
    form = request.form.to_dict()
    action_form = form_name or action
    try:
        work_fn(org, member, form)
    except request_actions.FormInvalid as exc:
        return render_request(
            org, member, public_id, lang, 400, errors=exc.errors, failed=action_form, values=form
        )
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        fields = {name: gettext("This value cannot be used.") for name in (exc.details or {})}
        return render_request(
            org,
            member,
            public_id,
            lang,
            400,
            errors=fields or {"form": exc.message},
            failed=action_form,
            values=form,
        )
    except DomainError as exc:
        message = str(REFUSED.get(exc.code, exc.message))
        return render_request(
            org,
            member,
            public_id,
            lang,
            exc.status,
            errors={"form": message},
            failed=action_form,
            values=form,
        )
    target = url_for("console.request_detail", slug=slug, public_id=public_id, lang=lang, done=action)
    return redirect(target, 303)


def _action_view(action: str):
    def view(slug: str, public_id: str):
        return _answer(
            slug,
            public_id,
            action,
            lambda org, member, form: request_actions.perform(org, member, public_id, action, form, utcnow()),
        )

    view.__name__ = f"request_{action}"
    view.__doc__ = f"The request's {action.replace('_', ' ')} form."
    return view


for _action in request_actions.ACTIONS:
    bp.add_url_rule(
        f"/<slug>/requests/<public_id>/{_action.replace('_', '-')}",
        f"request_{_action}",
        _action_view(_action),
        methods=["POST"],
    )


@bp.post("/<slug>/requests/<public_id>/tasks/<task_id>")
def answer_task(slug: str, public_id: str, task_id: str):
    """A manual task's answer: what the system's owner did (done, or holds nothing)."""
    return _answer(
        slug,
        public_id,
        "task",
        lambda org, member, form: request_actions.answer_task(
            org, member, public_id, task_id, form, utcnow()
        ),
        form_name=f"task:{task_id}",
    )
