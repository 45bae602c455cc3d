"""Working a rights request: pause and resume, extend, assign, complete, refuse, withdraw.

Each is a step of the transition table, recorded with its actor and note; the requester's
reply goes through the mail outbox and the company's webhook through its own, in the caller's
transaction (flushed, never committed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from consent_service.consent.models import Subject
from consent_service.errors import Conflict, InvalidInput
from consent_service.extensions import db
from consent_service.mail.service import queue_mail
from consent_service.organizations.models import Organization
from consent_service.rights import messages
from consent_service.rights.calendar_data import current_calendar
from consent_service.rights.deadlines import ExtensionNotAllowed, extension_notice_due, rule_for
from consent_service.rights.grounds import REFUSAL_GROUNDS
from consent_service.rights.models import RightsNotice, RightsPause, RightsRequest, RightsTask
from consent_service.rights.queries import get_request
from consent_service.rights.replies import contact, org_name
from consent_service.rights.schedule import pauses, schedule
from consent_service.rights.timeline import Actor, step, webhook_data
from consent_service.rights.workflow import next_status
from consent_service.webhooks.service import emit


def _text(value: Any, name: str, *, required: bool = True, limit: int = 5000) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput("invalid input", {name: [f"must be text of 1-{limit} characters"]})
    return value.strip()


def pause(org: Organization, public_id: str, reason: str, now: datetime, actor: Actor) -> RightsRequest:
    """Wait for the requester (the clock stops; the days are added back), with the reason."""
    request = get_request(org, public_id)
    next_status("pause", request.status)
    reason = _text(reason, "reason")
    db.session.add(RightsPause(request_id=request.id, paused_at=now, reason=reason))
    step(request, "pause", actor, reason, now)
    return request


def resume(
    org: Organization, public_id: str, now: datetime, actor: Actor, note: str | None = None
) -> RightsRequest:
    """The requester answered: the clock runs again, the due date moves by the days paused."""
    request = get_request(org, public_id)
    next_status("resume", request.status)
    open_pause = db.session.scalars(
        select(RightsPause).where(RightsPause.request_id == request.id, RightsPause.resumed_at.is_(None))
    ).first()
    if open_pause is not None:
        open_pause.resumed_at = now
    step(request, "resume", actor, _text(note, "note", required=False), now)
    schedule(org, request, now)
    return request


def extend(org: Organization, public_id: str, reason: str, now: datetime, actor: Actor) -> RightsRequest:
    """Extend the deadline where the regime allows it (GDPR Art. 12(3): two months, notified
    with the reason within the first month); the requester is told."""
    request = get_request(org, public_id)
    next_status("extend", request.status)
    reason = _text(reason, "reason")
    rule = rule_for(request.regime, request.type)
    if not rule.extension_amount:
        raise ExtensionNotAllowed(f"{request.regime} allows no extension of a {request.type} request")
    if request.extended_at is not None:
        raise ExtensionNotAllowed("the request was already extended")
    notice_by = extension_notice_due(
        rule, request.clock_started_at, org.timezone, current_calendar(), pauses(request, now)
    ).at
    if now > notice_by:
        raise ExtensionNotAllowed(f"an extension had to be notified by {notice_by.isoformat()}")
    request.extended_at = now
    request.extension_reason = reason
    step(request, "extend", actor, reason, now)
    schedule(org, request, now)
    to = contact(request, db.session.get(Subject, request.subject_id))
    if to is not None:
        subject_line, text = messages.extension(
            org_name(org, request.language), request.type, request.public_id, request.due_at, reason,
            org.timezone, request.language,
        )  # fmt: skip
        queue_mail(
            to, subject_line, text, kind="rights.extended", org=org, language=request.language, now=now
        )
    return request


def assign(org: Organization, public_id: str, officer: str, now: datetime, actor: Actor) -> RightsRequest:
    """Give the request to an officer (their address receives the reminders)."""
    request = get_request(org, public_id)
    next_status("assign", request.status)
    request.assigned_to = _text(officer, "officer", limit=200)
    step(request, "assign", actor, request.assigned_to, now)
    return request


class TasksOpen(Conflict):
    """The request still waits for data systems to answer their tasks."""

    code = "tasks_open"


def complete(
    org: Organization,
    public_id: str,
    now: datetime,
    actor: Actor,
    note: str | None = None,
    *,
    reply: str | None = None,
    to: str | None = None,
) -> RightsRequest:
    """Answer the request as carried out; the requester gets the reply (``note``, then
    ``reply``: what is for the requester alone, such as a download link, is never in the
    timeline). ``to`` is the requester's address when it was read before an erasure."""
    request = get_request(org, public_id)
    next_status("complete", request.status)
    note = _text(note, "note", required=False)
    no_open_tasks(request)
    step(request, "complete", actor, note, now)
    _close(request, now)
    subject = db.session.get(Subject, request.subject_id)
    to = to or contact(request, subject)
    if to is not None:
        text_for_requester = "\n\n".join(part for part in (note, reply) if part)
        subject_line, text = messages.completion(
            org_name(org, request.language), request.type, request.public_id, text_for_requester or None,
            request.language,
        )  # fmt: skip
        queue_mail(
            to, subject_line, text, kind="rights.completed", org=org, language=request.language, now=now
        )
    emit(
        org, "rights.request.completed", webhook_data(request, subject), now, ordering_key=subject.external_id
    )
    return request


def refuse(
    org: Organization,
    public_id: str,
    now: datetime,
    actor: Actor,
    *,
    ground: str | None,
    explanation: str | None,
    complaint_channel: str | None,
) -> RightsRequest:
    """Refuse on one of GB/T 8.7's grounds, with an explanation and the complaint channel
    (PIPL 50); without all three nothing changes."""
    request = get_request(org, public_id)
    next_status("refuse", request.status)
    errors: dict[str, list[str]] = {}
    if ground not in REFUSAL_GROUNDS:
        errors["ground"] = [f"must be one of GB/T 35273 8.7's grounds: {', '.join(REFUSAL_GROUNDS)}"]
    for name, value in (("explanation", explanation), ("complaint_channel", complaint_channel)):
        if not isinstance(value, str) or not value.strip() or len(value) > 5000:
            errors[name] = ["is required (PIPL 50): text of 1-5000 characters"]
    if errors:
        raise InvalidInput("a refusal needs a ground, an explanation and the complaint channel", errors)
    request.refusal_ground = ground
    request.refusal_explanation = explanation.strip()
    request.complaint_channel = complaint_channel.strip()
    step(request, "refuse", actor, f"{ground}: {request.refusal_explanation}", now)
    _close(request, now)
    subject = db.session.get(Subject, request.subject_id)
    to = contact(request, subject)
    if to is not None:
        subject_line, text = messages.refusal(
            org_name(org, request.language), request.type, request.public_id, ground,
            request.refusal_explanation, request.complaint_channel, request.language,
        )  # fmt: skip
        queue_mail(to, subject_line, text, kind="rights.refused", org=org, language=request.language, now=now)
    emit(org, "rights.request.refused", webhook_data(request, subject), now, ordering_key=subject.external_id)
    return request


def withdraw(
    org: Organization, public_id: str, now: datetime, actor: Actor, note: str | None = None
) -> RightsRequest:
    """The requester no longer asks."""
    request = get_request(org, public_id)
    next_status("withdraw", request.status)
    step(request, "withdraw", actor, _text(note, "note", required=False), now)
    _close(request, now)
    return request


def no_open_tasks(request: RightsRequest) -> None:
    """:class:`TasksOpen` while data systems have tasks of the request to answer."""
    waiting = open_tasks(request)
    if waiting:
        raise TasksOpen(
            f"{waiting} tasks of data systems are still open; the request completes when all are answered",
            {"open_tasks": waiting},
        )


def open_tasks(request: RightsRequest) -> int:
    """How many of the request's tasks wait for an answer."""
    return db.session.scalar(
        select(func.count())
        .select_from(RightsTask)
        .where(RightsTask.request_id == request.id, RightsTask.status == "open")
    )


def _close(request: RightsRequest, now: datetime) -> None:
    """The request is answered: reminders not yet sent are dropped, and tasks still open (a
    refused or withdrawn request) are cancelled."""
    request.closed_at = now
    db.session.execute(
        update(RightsTask)
        .where(RightsTask.request_id == request.id, RightsTask.status == "open")
        .values(status="cancelled", answered_at=now)
    )
    db.session.execute(
        delete(RightsNotice).where(RightsNotice.request_id == request.id, RightsNotice.sent_at.is_(None))
    )
