"""How the organization keeps its deadlines: the figures of the console's overview.

Open requests, those at risk (a reminder went out) and those overdue are counted in SQL on the
stored flags and due dates (:func:`~.explain.urgency_filter`, as the queue filters them). Over
the last ``days`` (90 by default): how many requests were completed, the share answered on time
(closed no later than their due time) and the median time from receipt to answer. Refused and
withdrawn requests are answered too and count for the on-time share; requests that expired
unverified never started their clock and do not.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.rights.explain import urgency_filter
from consent_service.rights.models import RightsRequest
from consent_service.rights.workflow import OPEN

#: Answered: what counts for the on-time share and the time to answer.
ANSWERED = ("completed", "refused", "withdrawn_by_requester")


@dataclass(frozen=True)
class Overview:
    """The overview's figures (``on_time_rate`` and ``median_days`` are ``None`` without any
    answered request in the period)."""

    open: int
    at_risk: int
    overdue: int
    answered: int
    on_time: int
    on_time_rate: float | None
    median_days: float | None
    days: int


def overview(org: Organization, now: datetime, days: int = 90) -> Overview:
    """The figures for ``org`` at ``now``, the answered ones over the last ``days``."""
    mine = RightsRequest.org_id == org.id
    still_open = RightsRequest.status.in_(OPEN)
    open_count = db.session.scalar(select(func.count()).where(mine, still_open))
    overdue = db.session.scalar(select(func.count()).where(mine, still_open, urgency_filter("overdue", now)))
    at_risk = db.session.scalar(select(func.count()).where(mine, still_open, urgency_filter("at_risk", now)))
    answered = db.session.execute(
        select(RightsRequest.received_at, RightsRequest.closed_at, RightsRequest.due_at).where(
            mine,
            RightsRequest.status.in_(ANSWERED),
            RightsRequest.closed_at >= now - timedelta(days=days),
            RightsRequest.closed_at <= now,
        )
    ).all()
    on_time = sum(1 for _, closed, due in answered if due is None or closed <= due)
    durations = [(closed - received).total_seconds() / 86400 for received, closed, _ in answered]
    return Overview(
        open=open_count,
        at_risk=at_risk,
        overdue=overdue,
        answered=len(answered),
        on_time=on_time,
        on_time_rate=on_time / len(answered) if answered else None,
        median_days=round(statistics.median(durations), 1) if durations else None,
        days=days,
    )
