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
from consent_service.console.labels import (
    CHANNEL,
    REQUESTER,
    STATUS,
    STEP,
    TASK_ACTION,
    TASK_STATUS,
    label,
    rule_words,
)
from consent_service.console.request_actions import workers
from consent_service.extensions import db
from consent_service.i18n import local_datetime
from consent_service.organizations.models import Organization
from consent_service.rights import queries, tasks
from consent_service.rights.deadlines import rule_for
from consent_service.rights.explain import explain, urgency
from consent_service.rights.explain import urgency_filter as urgency_condition
from consent_service.rights.grounds import REFUSAL_GROUNDS
from consent_service.rights.models import DataSystem, RightsRequest
from consent_service.rights.replies import details_of
from consent_service.rights.stats import overview
from consent_service.rights.timeline import timeline
from consent_service.rights.types import REQUEST_TYPES
from consent_service.rights.workflow import OPEN, allowed_actions
from consent_service.staff.models import StaffMember

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
            "status": label(STATUS, request.status),
            "urgency": urgency(request, now),
            "due": local_datetime(request.due_at, org.timezone, lang) if request.due_at else None,
            "provisional": request.provisional,
            "assigned_to": request.assigned_to,
            "received": local_datetime(request.received_at, org.timezone, lang),
        }
        for request in rows
    ]


def _staff(org: Organization) -> list[tuple[int, str, str]]:
    """The organization's staff as ``(id, name, email)`` (one query)."""
    rows = db.session.execute(
        select(StaffMember.id, StaffMember.name, StaffMember.email).where(StaffMember.org_id == org.id)
    )
    return [tuple(row) for row in rows]


def _actor(kind: str, name: str | None, staff: dict[str, str]) -> str:
    if name in staff:
        return f"{kind}: {staff[name]}"
    return f"{kind}{': ' + name if name else ''}"


def _actions(request: RightsRequest, lang: str) -> dict[str, Any]:
    """What may be done to the request now (the workflow's table), and the choices the forms
    offer: the members who work requests, the grounds of a refusal, whether it may be extended."""
    allowed = set(allowed_actions(request.status))
    rule = rule_for(request.regime, request.type)
    if not rule.extension_amount or request.extended_at is not None:
        allowed.discard("extend")
    if request.identity_verified_at is not None:
        allowed.discard("send_code")
    return {
        "allowed": sorted(allowed),
        "grounds": [(code, zh if lang == "zh" else en) for code, (zh, en) in REFUSAL_GROUNDS.items()],
        "extension": {"amount": rule.extension_amount, "unit": rule.extension_unit or rule.unit},
    }


def request_page(org: Organization, public_id: str, now: datetime, lang: str) -> dict[str, Any]:
    """One request for an officer: the facts, what is asked, the deadline explained, the
    timeline, the tasks, and what may be done now."""
    request = queries.get_request(org, public_id)
    subject = db.session.get(Subject, request.subject_id)
    explained = explain(org, request, now)
    members = _staff(org)
    staff = {f"staff:{member_id}": name for member_id, name, _ in members}
    by_email = {email: name for _, name, email in members}
    described = [tasks.describe_task(task) for task in tasks.tasks_of(request)]
    manual = set(
        db.session.scalars(
            select(DataSystem.public_id).where(
                DataSystem.org_id == org.id,
                DataSystem.delivery == "manual",
                DataSystem.public_id.in_([t["system"] for t in described] or [""]),
            )
        )
    )
    return {
        **_actions(request, lang),
        "details": details_of(request),
        "open_tasks": sum(1 for t in described if t["status"] == "open"),
        "assigned_to_name": by_email.get((request.assigned_to or "").lower()),
        "workers": [{"id": member.id, "name": member.name} for member in workers(org)],
        "id": request.public_id,
        "type": _type(request.type, lang),
        "clauses": ", ".join(REQUEST_TYPES[request.type].clauses),
        "status": label(STATUS, request.status),
        "status_code": request.status,
        "urgency": urgency(request, now),
        "subject": subject.external_id,
        "regime": request.regime,
        "channel": label(CHANNEL, request.channel),
        "requester_kind": label(REQUESTER, request.requester_kind),
        "assigned_to": request.assigned_to,
        "received": local_datetime(request.received_at, org.timezone, lang),
        "deadline": {
            "rule": rule_words(rule_for(request.regime, request.type)),
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
                "action": label(STEP, e.action),
                "to_status": label(STATUS, e.to_status),
                "actor": _actor(e.actor_kind, e.actor, staff),
                "note": e.note,
            }
            for e in timeline(request)
        ],
        "tasks": [
            {
                "id": t["id"],
                "system": t["system_name"],
                "action": t["action"],
                "action_name": label(TASK_ACTION, t["action"]),
                "status": t["status"],
                "status_name": label(TASK_STATUS, t["status"]),
                "manual": t["system"] in manual,
                "answered": local_datetime(t["answered_at"], org.timezone, lang)
                if t["answered_at"]
                else None,
            }
            for t in described
        ],
    }
