"""An officer's actions on a rights request from the console: verify the requester, mail a
new code, assign, pause and resume, extend, answer a manual task, complete, refuse (issue 12
§2; PIPL 50, GB/T 35273 8.7).

Each parses its form, then calls the same service function as the API's route for it, inside
:func:`~consent_service.console.acting.staff_action`: the change and its audit entry (the
request's status, due date, assignee and extension before and after) commit together, or
neither does. The timeline names the officer as ``officer`` / ``staff:<id>``, which the person's
dashboard shows as "the company's staff".

A form's faults are :class:`FormInvalid` (field: message, in the page's language); what the
request's state refuses is the service's own :class:`~consent_service.errors.Conflict`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import select

from consent_service.consent.hashing import iso_utc
from consent_service.console.acting import staff_action, staff_actor
from consent_service.errors import InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.rights import actions, fulfilment, service, tasks
from consent_service.rights.grounds import REFUSAL_GROUNDS
from consent_service.rights.models import RightsRequest
from consent_service.rights.queries import get_request
from consent_service.rights.timeline import Actor
from consent_service.staff.models import StaffMember
from consent_service.staff.roles import role

#: The actions a request page offers, each named as the workflow names it.
ACTIONS = ("verify", "resend_code", "assign", "pause", "resume", "extend", "complete", "refuse")
TEXT_LIMIT = 5000


class FormInvalid(Exception):
    """The form cannot be acted on: ``errors`` maps each field to what the page says beside it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def _text(form: Mapping[str, str], name: str, *, required: bool, limit: int = TEXT_LIMIT) -> str | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            raise FormInvalid({name: gettext("This is required.")})
        return None
    if len(value) > limit:
        raise FormInvalid({name: gettext("Use at most %(num)d characters.", num=limit)})
    return value


def workers(org: Organization) -> list[StaffMember]:
    """The members of ``org`` who can be given a request: enabled, holding ``requests:work``."""
    members = db.session.scalars(
        select(StaffMember)
        .where(StaffMember.org_id == org.id, StaffMember.disabled_at.is_(None))
        .order_by(StaffMember.name, StaffMember.id)
    ).all()
    return [m for m in members if role(m.role).can("requests:work")]


def assignee_id(org: Organization, assigned_to: str | None) -> str | None:
    """The trail's name for whom a request is assigned to (``staff:<id>``, never the address)."""
    if assigned_to is None:
        return None
    member = db.session.scalars(
        select(StaffMember).where(StaffMember.org_id == org.id, StaffMember.email == assigned_to.lower())
    ).first()
    return staff_actor(member) if member is not None else "other"


def _snapshot(org: Organization, request: RightsRequest) -> dict[str, Any]:
    """What an action can change, as identifiers, codes and times."""
    return {
        "status": request.status,
        "due_at": iso_utc(request.due_at) if request.due_at else None,
        "assigned_to": assignee_id(org, request.assigned_to),
        "extended": request.extended_at is not None,
    }


def _verify(org, public_id, form, now, actor, member) -> None:
    if form.get("checked") != "yes":
        raise FormInvalid({"checked": gettext("Confirm that you checked who the requester is.")})
    service.verify_identity(org, public_id, now, actor, by="officer")


def _resend_code(org, public_id, form, now, actor, member) -> None:
    service.resend_code(org, public_id, now, actor)


def _assign(org, public_id, form, now, actor, member) -> None:
    chosen = {str(m.id): m for m in workers(org)}.get(form.get("member", ""))
    if chosen is None:
        raise FormInvalid({"member": gettext("Choose a member of staff who works requests.")})
    actions.assign(org, public_id, chosen.email, now, actor)


def _pause(org, public_id, form, now, actor, member) -> None:
    actions.pause(org, public_id, _text(form, "reason", required=True), now, actor)


def _resume(org, public_id, form, now, actor, member) -> None:
    actions.resume(org, public_id, now, actor, _text(form, "note", required=False))


def _extend(org, public_id, form, now, actor, member) -> None:
    actions.extend(org, public_id, _text(form, "reason", required=True), now, actor)


def _complete(org, public_id, form, now, actor, member) -> None:
    fulfilment.finish(org, public_id, now, actor, _text(form, "note", required=False))


def _refuse(org, public_id, form, now, actor, member) -> None:
    errors = {}
    if form.get("ground") not in REFUSAL_GROUNDS:
        errors["ground"] = gettext("Choose the ground of GB/T 35273 8.7 the refusal rests on.")
    for name in ("explanation", "complaint_channel"):
        try:
            _text(form, name, required=True)
        except FormInvalid as exc:
            errors.update(exc.errors)
    if errors:
        raise FormInvalid(errors)
    actions.refuse(
        org,
        public_id,
        now,
        actor,
        ground=form["ground"],
        explanation=form["explanation"],
        complaint_channel=form["complaint_channel"],
    )


_PERFORM: dict[str, Callable[..., None]] = {
    "verify": _verify,
    "resend_code": _resend_code,
    "assign": _assign,
    "pause": _pause,
    "resume": _resume,
    "extend": _extend,
    "complete": _complete,
    "refuse": _refuse,
}


def perform(
    org: Organization,
    member: StaffMember,
    public_id: str,
    action: str,
    form: Mapping[str, str],
    now: datetime,
) -> None:
    """Carry out ``action`` on the request, recorded in the audit trail with what it changed.

    :class:`FormInvalid` for the form's faults, the service's errors for the rest; either way
    nothing is written."""
    request = get_request(org, public_id)
    actor = Actor("officer", staff_actor(member))
    with staff_action(org, member, f"request.{action}", f"rights_request:{public_id}") as change:
        change.before = _snapshot(org, request)
        _PERFORM[action](org, public_id, form, now, actor, member)
        change.after = _snapshot(org, request)
        if action == "refuse":
            change.extra["ground"] = request.refusal_ground


def _carried_out(value: str | None, timezone: str) -> datetime | None:
    """A ``datetime-local`` field in the organization's time zone, as UTC."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise FormInvalid(
            {"carried_out_at": gettext("Enter a date and time, such as 2026-12-01 14:30.")}
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def _task_data(value: str | None) -> Any:
    if not value or not value.strip():
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise FormInvalid({"data": gettext('Enter the data as JSON, such as {"email": "…"}.')}) from None


#: What the task service's field errors mean, as the page says them.
_TASK_FIELDS = {
    "outcome": lambda: gettext("Choose what the system did."),
    "data": lambda: gettext("An access task is answered with the person's data, as JSON."),
    "carried_out_at": lambda: gettext("Say when it was carried out; not a time in the future."),
    "note": lambda: gettext("Use at most %(num)d characters.", num=TEXT_LIMIT),
}


def answer_task(
    org: Organization,
    member: StaffMember,
    public_id: str,
    task_id: str,
    form: Mapping[str, str],
    now: datetime,
) -> None:
    """Answer a manual task of the request (the system's owner told the officer what was done)."""
    request = get_request(org, public_id)
    task = tasks.get_task(org, task_id)
    if task.request_id != request.id:
        raise NotFound(f"no task {task_id!r} of request {public_id!r}")
    outcome = form.get("outcome", "")
    carried_out_at = _carried_out(form.get("carried_out_at"), org.timezone)
    data = _task_data(form.get("data")) if outcome == "done" else None
    note = _text(form, "note", required=False)
    actor = Actor("officer", staff_actor(member))
    with staff_action(org, member, "request.task", f"rights_task:{task_id}") as change:
        change.before = {"task": task.status, **_snapshot(org, request)}
        try:
            fulfilment.report(
                org, task_id, now, actor, outcome=outcome, data=data, carried_out_at=carried_out_at, note=note
            )
        except InvalidInput as exc:
            fields = (exc.details or {}).keys()
            errors = {name: _TASK_FIELDS[name]() for name in fields if name in _TASK_FIELDS}
            raise FormInvalid(errors or {"form": exc.message}) from exc
        db.session.refresh(request)
        change.after = {"task": task.status, **_snapshot(org, request)}
        change.extra["request"] = public_id
