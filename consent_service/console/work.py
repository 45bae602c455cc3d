"""What the console's work pages show, as plain data: the overview's figures and chart, the
queue of requests by due date with their urgency, and one request with its deadline explained,
its timeline and its tasks. Reads only; the pages render."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from consent_service.charts import line_chart
from consent_service.consent.models import Subject
from consent_service.consent.stats import weekly_acts
from consent_service.extensions import db
from consent_service.i18n import local_datetime
from consent_service.organizations.models import Organization
from consent_service.rights import queries, tasks
from consent_service.rights.explain import explain, urgency
from consent_service.rights.explain import urgency_filter as urgency_condition
from consent_service.rights.models import RightsRequest
from consent_service.rights.stats import overview
from consent_service.rights.timeline import timeline
from consent_service.rights.types import REQUEST_TYPES
from consent_service.rights.workflow import OPEN

#: The queue's filters: what each keeps.
URGENCIES = ("overdue", "at_risk", "on_time", "waiting")


def _type(code: str, lang: str) -> str:
    kind = REQUEST_TYPES[code]
    return kind.name_zh if lang == "zh" else kind.name_en


def dashboard(org: Organization, now: datetime, lang: str, chart_title: str, labels: tuple[str, str]) -> dict:
    """The overview's figures, and a chart of consents given and withdrawn per week over 90
    days (``labels``: the two series' names in the page's language)."""
    figures = overview(org, now)
    weeks = weekly_acts(org, now - timedelta(days=90), now)
    days = next(iter(weeks.values()), [])
    grants = [sum(week[i][1] for week in weeks.values()) for i in range(len(days))]
    withdrawals = [sum(week[i][2] for week in weeks.values()) for i in range(len(days))]
    chart = line_chart(
        chart_title,
        [monday.strftime("%m-%d") for monday, _, _ in days],
        [(labels[0], grants), (labels[1], withdrawals)],
    )
    return {"figures": asdict(figures), "chart": chart, "purposes": sorted(weeks)}


def queue(
    org: Organization, now: datetime, lang: str, *, request_type: str | None, urgency_filter: str | None
) -> list[dict[str, Any]]:
    """The open requests, soonest due first (overdue and at-risk ones marked), filtered in SQL,
    the first 500."""
    query = select(RightsRequest).where(RightsRequest.org_id == org.id, RightsRequest.status.in_(OPEN))
    if request_type:
        query = query.where(RightsRequest.type == request_type)
    if urgency_filter:
        query = query.where(urgency_condition(urgency_filter, now))
    rows = db.session.scalars(
        query.order_by(RightsRequest.due_at.is_(None), RightsRequest.due_at, RightsRequest.id).limit(500)
    ).all()
    return [
        {
            "id": request.public_id,
            "type": _type(request.type, lang),
            "status": request.status,
            "urgency": urgency(request, now),
            "due": local_datetime(request.due_at, org.timezone, lang) if request.due_at else None,
            "provisional": request.provisional,
            "assigned_to": request.assigned_to,
            "received": local_datetime(request.received_at, org.timezone, lang),
        }
        for request in rows
    ]


def request_page(org: Organization, public_id: str, now: datetime, lang: str) -> dict[str, Any]:
    """One request for an officer: the facts, the deadline explained, the timeline, the tasks."""
    request = queries.get_request(org, public_id)
    subject = db.session.get(Subject, request.subject_id)
    explained = explain(org, request, now)
    return {
        "id": request.public_id,
        "type": _type(request.type, lang),
        "clauses": ", ".join(REQUEST_TYPES[request.type].clauses),
        "status": request.status,
        "urgency": urgency(request, now),
        "subject": subject.external_id,
        "regime": request.regime,
        "channel": request.channel,
        "requester_kind": request.requester_kind,
        "assigned_to": request.assigned_to,
        "received": local_datetime(request.received_at, org.timezone, lang),
        "deadline": {
            "rule": explained.rule,
            "clause": explained.clause,
            "start_day": explained.start_day,
            "due": local_datetime(explained.due_at, org.timezone, lang) if explained.due_at else None,
            "provisional": explained.provisional,
            "extended": explained.extended,
            "counted": len(explained.counted),
            "skipped": list(explained.skipped),
            "paused_days": len(explained.paused_days),
            "pauses": [
                {
                    "from": local_datetime(p.paused_at, org.timezone, lang),
                    "to": local_datetime(p.resumed_at, org.timezone, lang) if p.resumed_at else None,
                    "reason": p.reason,
                }
                for p in explained.pauses
            ],
        },
        "timeline": [
            {
                "at": local_datetime(e.at, org.timezone, lang),
                "action": e.action,
                "to_status": e.to_status,
                "actor": f"{e.actor_kind}{': ' + e.actor if e.actor else ''}",
                "note": e.note,
            }
            for e in timeline(request)
        ],
        "tasks": [
            {"system": t["system_name"], "action": t["action"], "status": t["status"]}
            for t in (tasks.describe_task(task) for task in tasks.tasks_of(request))
        ],
    }
