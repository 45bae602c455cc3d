"""The reply and completion record of one rights request (PIPL 44–50; GB/T 35273 8.7): what
was asked, by whom (as a kind, not a name), under which rule, when the clock started and when
it was due, every step of its timeline with its actor, each data system's task and answer,
whether it was answered on time, and for a refusal the ground, the explanation and the
complaint channel the requester was given. What the requester alone receives (a download
link, the data itself) is not in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.records.consent_records import local_time
from consent_service.rights import tasks
from consent_service.rights.deadline_rules import rule_for
from consent_service.rights.grounds import REFUSAL_GROUNDS
from consent_service.rights.queries import get_request
from consent_service.rights.timeline import timeline
from consent_service.rights.types import REQUEST_TYPES


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


#: A request's status in Chinese, as the record prints it beside the code.
STATUS_ZH = {
    "received": "已收到",
    "verifying_identity": "核实身份中",
    "in_progress": "处理中",
    "awaiting_requester": "等待请求人答复",
    "awaiting_systems": "等待业务系统",
    "completed": "已完成",
    "refused": "已拒绝",
    "withdrawn_by_requester": "请求人已撤回",
    "expired_unverified": "身份未核实，已结束",
}


def request_record(org: Organization, public_id: str) -> dict[str, Any]:
    """The record of request ``public_id`` of ``org`` as plain data (times in UTC, and as the
    organization's readers write them in ``local``)."""
    request = get_request(org, public_id)
    zone = org.timezone
    kind = REQUEST_TYPES[request.type]
    subject = db.session.get(Subject, request.subject_id)
    on_time = None
    if request.closed_at is not None and request.due_at is not None:
        on_time = request.closed_at <= request.due_at
    ground = REFUSAL_GROUNDS.get(request.refusal_ground or "")
    rule = rule_for(request.regime, request.type)
    return {
        "clauses": ", ".join(kind.clauses) + "; GB/T 35273 8.7",
        "rights_request": {
            "id": request.public_id,
            "type": request.type,
            "type_zh": kind.name_zh,
            "type_en": kind.name_en,
            "subject": subject.external_id,
            "regime": request.regime,
            "channel": request.channel,
            "requester_kind": request.requester_kind,
            "status": request.status,
            "rule": rule.describe(),
            "rule_zh": rule.describe_zh(),
            "status_zh": STATUS_ZH.get(request.status, request.status),
            "received_at": _iso(request.received_at),
            "identity_verified_by": request.identity_verified_by,
            "clock_started_at": _iso(request.clock_started_at),
            "due_at": _iso(request.due_at),
            "provisional": bool(request.provisional),
            "extended_at": _iso(request.extended_at),
            "paused_days": request.paused_days,
            "closed_at": _iso(request.closed_at),
            "on_time": on_time,
            "local": {
                name: local_time(getattr(request, name), zone)
                for name in ("received_at", "clock_started_at", "due_at", "extended_at", "closed_at")
            },
            "refusal": None
            if ground is None
            else {
                "ground": request.refusal_ground,
                "ground_zh": ground[0],
                "ground_en": ground[1],
                "explanation": request.refusal_explanation,
                "complaint_channel": request.complaint_channel,
            },
        },
        "timeline": [
            {
                "seq": event.seq,
                "at": _iso(event.at),
                "at_local": local_time(event.at, zone),
                "action": event.action,
                "from": event.from_status,
                "to": event.to_status,
                "actor": event.actor_kind + (f": {event.actor}" if event.actor else ""),
                "note": event.note,
            }
            for event in timeline(request)
        ],
        "tasks": [
            {
                "system": described["system_name"],
                "action": described["action"],
                "status": described["status"],
                "opened_at": _iso(described["opened_at"]),
                "answered_at": _iso(described["answered_at"]),
                "carried_out_at": _iso(described["carried_out_at"]),
            }
            for described in (tasks.describe_task(task) for task in tasks.tasks_of(request))
        ],
    }
