"""The legal clock of a request: its due date from the rule, the clock's start, the pauses and
any extension, and the reminders and escalation planned with it (each sent once)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.rights.calendar_data import current_calendar
from consent_service.rights.deadlines import compute_due, reminder_times, rule_for
from consent_service.rights.models import RightsNotice, RightsPause, RightsRequest


def pauses(request: RightsRequest, now: datetime) -> list[tuple[datetime, datetime]]:
    """The request's pauses; one still open counts until ``now``."""
    return [
        (p.paused_at, p.resumed_at or now)
        for p in db.session.scalars(
            select(RightsPause).where(RightsPause.request_id == request.id).order_by(RightsPause.paused_at)
        )
    ]


def schedule(org: Organization, request: RightsRequest, now: datetime) -> None:
    """Compute the due date from the rule, the clock's start, the pauses and any extension,
    and plan the reminders and the escalation that go with it (once each)."""
    rule = rule_for(request.regime, request.type)
    start = request.received_at if rule.starts_at == "receipt" else request.identity_verified_at
    if start is None:
        return
    calendar = current_calendar()
    due = compute_due(
        rule, start, org.timezone, calendar, pauses(request, now), extended=request.extended_at is not None
    )
    request.clock_started_at = start
    request.due_at = due.at
    request.due_day = due.last_day
    request.provisional = due.provisional
    request.paused_days = len(due.paused)
    planned = {
        f"reminder:{days}": at
        for days, at in reminder_times(
            due, current_app.config["RIGHTS_REMINDER_WORKING_DAYS"], timezone=org.timezone, calendar=calendar
        )
    }
    planned["overdue"] = due.at
    existing = {
        notice.kind: notice
        for notice in db.session.scalars(select(RightsNotice).where(RightsNotice.request_id == request.id))
    }
    for kind, at in planned.items():
        notice = existing.get(kind)
        if notice is None:
            db.session.add(RightsNotice(request_id=request.id, kind=kind, due_at=at))
        elif notice.sent_at is None:
            notice.due_at = at
    for kind, notice in existing.items():
        if kind not in planned and notice.sent_at is None:
            db.session.delete(notice)
    if request.overdue and due.at > now:
        request.overdue = False
    db.session.flush()
