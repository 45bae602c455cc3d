"""A request's deadline explained, and the queue's urgency: what an officer reads before acting.

:func:`explain` recomputes the due date the way :func:`~.schedule.schedule` did and says how it
was counted: the rule and where it comes from, the day the clock started (not counted), each
pause with its reason and the days it added back, the non-working days passed over (weekends,
holidays, and not the weekend days moved into working days, 调休), any extension, and whether the
date is provisional. :func:`urgency` sorts a request into overdue, at risk or on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.rights.calendar_data import current_calendar
from consent_service.rights.deadlines import compute_due, rule_for
from consent_service.rights.models import RightsPause, RightsRequest


@dataclass(frozen=True)
class PauseExplained:
    """A time the request waited for the requester."""

    paused_at: datetime
    resumed_at: datetime | None
    reason: str


@dataclass(frozen=True)
class DeadlineExplained:
    """How a request's due date was reached, in plain data for a page or an export."""

    rule: str
    clause: str
    unit: str
    amount: int
    starts_at: str
    clock_started_at: datetime | None
    #: The day the clock started, in the organization's zone (not counted).
    start_day: date | None
    due_at: datetime | None
    due_day: date | None
    provisional: bool
    extended: bool
    extension_reason: str | None
    counted: tuple[date, ...] = ()
    skipped: tuple[date, ...] = ()
    paused_days: tuple[date, ...] = ()
    pauses: tuple[PauseExplained, ...] = ()


def explain(org: Organization, request: RightsRequest, now: datetime) -> DeadlineExplained:
    """The deadline of ``request`` and how it was counted (see the module)."""
    rule = rule_for(request.regime, request.type)
    rows = db.session.scalars(
        select(RightsPause).where(RightsPause.request_id == request.id).order_by(RightsPause.paused_at)
    ).all()
    waits = tuple(PauseExplained(p.paused_at, p.resumed_at, p.reason) for p in rows)
    base = {
        "rule": rule.describe(),
        "clause": rule.clause,
        "unit": rule.unit,
        "amount": rule.amount,
        "starts_at": rule.starts_at,
        "clock_started_at": request.clock_started_at,
        "extended": request.extended_at is not None,
        "extension_reason": request.extension_reason,
        "pauses": waits,
    }
    if request.clock_started_at is None:
        return DeadlineExplained(**base, start_day=None, due_at=None, due_day=None, provisional=False)
    due = compute_due(
        rule,
        request.clock_started_at,
        org.timezone,
        current_calendar(),
        [(p.paused_at, p.resumed_at or now) for p in waits],
        extended=request.extended_at is not None,
        now=now,
    )
    return DeadlineExplained(
        **base,
        start_day=request.clock_started_at.astimezone(ZoneInfo(org.timezone)).date(),
        due_at=due.at,
        due_day=due.last_day,
        provisional=due.provisional,
        counted=due.counted,
        skipped=due.skipped,
        paused_days=due.paused,
    )


def urgency(request: RightsRequest, now: datetime) -> str:
    """``overdue`` (past its due time, still open; a paused request's clock stands still),
    ``at_risk`` (a reminder went out), ``closed``, ``waiting`` (no due date yet: the requester is
    not verified) or ``on_time``. :func:`urgency_filter` is the same in SQL."""
    if request.closed_at is not None:
        return "closed"
    if request.due_at is None:
        return "waiting"
    if request.overdue or (request.due_at < now and request.status != "awaiting_requester"):
        return "overdue"
    return "at_risk" if request.at_risk else "on_time"


def urgency_filter(level: str, now: datetime) -> ColumnElement[bool]:
    """The open requests of urgency ``level`` (as :func:`urgency` decides), as a SQL condition."""
    late = RightsRequest.overdue.is_(True) | (
        (RightsRequest.due_at < now) & (RightsRequest.status != "awaiting_requester")
    )
    if level == "waiting":
        return RightsRequest.due_at.is_(None)
    if level == "overdue":
        return RightsRequest.due_at.is_not(None) & late
    at_risk = RightsRequest.at_risk.is_(True)
    return RightsRequest.due_at.is_not(None) & ~late & (at_risk if level == "at_risk" else ~at_risk)
