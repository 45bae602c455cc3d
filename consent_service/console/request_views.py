"""The request page's forms (issue 12 §2): each action posts to
``/console/<slug>/requests/<id>/<action>``, and a manual task's answer to
``.../tasks/<task id>``. :mod:`.request_actions` does the work; these routes check the
officer, and answer with a 303 back to the page and a notice, or the page again with the
message beside the field (400) or what the request's state refuses (409, 422, 429).
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console import pages, request_actions, request_page
from consent_service.console import session as console_session
from consent_service.errors import DomainError, InvalidInput, NotFound
from consent_service.i18n import page_language

bp = pages.blueprint("console_requests", __name__)


def _answer(slug: str, public_id: str, action: str, work_fn, form_name: str | None = None):
    lang = page_language()
    org = pages.org_or_404(slug)
    member = console_session.current_staff(org, "requests:work")
    form = request.form.to_dict()
    action_form = form_name or action
    try:
        work_fn(org, member, form)
    except request_actions.FormInvalid as exc:
        return request_page.render_request(
            org, member, public_id, lang, 400, errors=exc.errors, failed=action_form, values=form
        )
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        fields = {name: gettext("This value cannot be used.") for name in (exc.details or {})}
        return request_page.render_request(
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
        message = str(request_page.REFUSED.get(exc.code, exc.message))
        return request_page.render_request(
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
