"""Consents given and withdrawn per purpose over time, for the console's overview: counted in
SQL by purpose, act and day (UTC), then gathered into weeks starting on Monday."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from consent_service.consent.models import ConsentEvent
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose


def _day(value) -> date:
    """A day as SQL answers it: a ``date`` (PostgreSQL) or ``YYYY-MM-DD`` text (SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def weekly_acts(
    org: Organization, since: datetime, until: datetime
) -> dict[str, list[tuple[date, int, int]]]:
    """For each purpose code, each week's ``(monday, grants, withdrawals)`` from ``since`` to
    ``until``, every week present (zeros included), oldest first."""
    day = func.date(ConsentEvent.occurred_at)
    rows = db.session.execute(
        select(Purpose.code, ConsentEvent.action, day, func.count())
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .where(
            ConsentEvent.org_id == org.id,
            ConsentEvent.occurred_at >= since,
            ConsentEvent.occurred_at < until,
            ConsentEvent.action.in_(("grant", "withdraw")),
        )
        .group_by(Purpose.code, ConsentEvent.action, day)
    ).all()
    first = since.date() - timedelta(days=since.date().weekday())
    weeks = []
    monday = first
    while monday <= until.date():
        weeks.append(monday)
        monday += timedelta(days=7)
    counts: dict[str, dict[date, list[int]]] = defaultdict(lambda: {w: [0, 0] for w in weeks})
    for code, action, when, count in rows:
        when = _day(when)
        week = when - timedelta(days=when.weekday())
        counts[code][week][0 if action == "grant" else 1] += count
    return {code: [(w, *by_week[w]) for w in weeks] for code, by_week in sorted(counts.items())}
