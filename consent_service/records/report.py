"""The compliance report of an organization for a period (PIPL 54: regular compliance audits;
GB/T 35273 11.7), as plain data, every figure counted in SQL so that a ledger of millions of
events is summarized in a few grouped statements: consents given and withdrawn per purpose,
rights requests by type and outcome, the share answered on time, the requests overdue now,
the policy versions published, and the state of the proof (the newest full verification of the
ledger, which the ``ledger_verification`` job runs on a schedule, the newest signed checkpoint,
the audit trail checked entry by entry, both heads).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from consent_service.audit.checkpoints import newest_checkpoint
from consent_service.audit.report import VerifyReport
from consent_service.audit.trail import trail_head
from consent_service.audit.trail_checks import verify_trail
from consent_service.audit.verifications import described, newest_verification
from consent_service.consent.models import ConsentEvent
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.rights.models import RightsRequest
from consent_service.rights.workflow import OPEN

#: What the figures are read through: a connection, or the session.
Reader = Connection | Session

#: The clauses this record answers to.
CLAUSES = "PIPL 54; GB/T 35273 11.7"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _acts(reader: Reader, org: Organization, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = reader.execute(
        select(Purpose.code, ConsentEvent.action, func.count())
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .where(
            ConsentEvent.org_id == org.id, ConsentEvent.occurred_at >= start, ConsentEvent.occurred_at < end
        )
        .group_by(Purpose.code, ConsentEvent.action)
    )
    per: dict[str, dict[str, int]] = {}
    for code, action, count in rows:
        per.setdefault(code, {})[action] = count
    return [{"purpose": code, "acts": dict(sorted(acts.items()))} for code, acts in sorted(per.items())]


def _requests(reader: Reader, org: Organization, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = reader.execute(
        select(RightsRequest.type, RightsRequest.status, func.count())
        .where(
            RightsRequest.org_id == org.id,
            RightsRequest.received_at >= start,
            RightsRequest.received_at < end,
        )
        .group_by(RightsRequest.type, RightsRequest.status)
        .order_by(RightsRequest.type, RightsRequest.status)
    )
    return [{"type": kind, "status": status, "count": count} for kind, status, count in rows]


def _on_time(reader: Reader, org: Organization, start: datetime, end: datetime) -> dict[str, Any]:
    closed = (
        RightsRequest.org_id == org.id,
        RightsRequest.closed_at >= start,
        RightsRequest.closed_at < end,
        RightsRequest.status.in_(("completed", "refused")),
    )
    answered, on_time = reader.execute(
        select(
            func.count(),
            func.sum(case((RightsRequest.closed_at <= RightsRequest.due_at, 1), else_=0)),
        ).where(*closed)
    ).one()
    return {
        "answered": answered,
        "on_time": int(on_time or 0),
        "share": (on_time or 0) / answered if answered else None,
    }


def _overdue(reader: Reader, org: Organization, now: datetime) -> list[dict[str, Any]]:
    rows = reader.execute(
        select(RightsRequest.public_id, RightsRequest.type, RightsRequest.status, RightsRequest.due_at)
        .where(
            RightsRequest.org_id == org.id,
            RightsRequest.status.in_(OPEN),
            RightsRequest.status != "awaiting_requester",
            RightsRequest.due_at < now,
        )
        .order_by(RightsRequest.due_at)
        .limit(1000)
    )
    return [
        {"id": rid, "type": kind, "status": status, "due_at": _iso(due)} for rid, kind, status, due in rows
    ]


def _policies(reader: Reader, org: Organization, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = reader.execute(
        select(PolicyVersion.label, PolicyVersion.published_at, PolicyVersion.is_material_change)
        .where(
            PolicyVersion.org_id == org.id,
            PolicyVersion.published_at >= start,
            PolicyVersion.published_at < end,
        )
        .order_by(PolicyVersion.seq)
    )
    return [{"label": label, "published_at": _iso(at), "material": bool(m)} for label, at, m in rows]


def _verification(org: Organization, checkpoint_seq: int | None) -> dict[str, Any] | None:
    """The newest full verification of the ledger, and how many checkpoints were signed since."""
    row = newest_verification(org.id)
    if row is None:
        return None
    since = (checkpoint_seq or 0) - (row.checkpoint_seq or 0)
    found = described(row)
    return {**found, "verified_at": _iso(row.verified_at), "checkpoints_since": max(since, 0),
            "problems": found["problems"][:5]}  # fmt: skip


def _proof(org: Organization) -> dict[str, Any]:
    checkpoint = newest_checkpoint(org)
    report = VerifyReport(org=org.slug)
    verify_trail(org.id, report)
    head = trail_head(org.id)
    return {
        "verification": _verification(org, checkpoint.seq if checkpoint is not None else None),
        "checkpoint": None
        if checkpoint is None
        else {
            "seq": checkpoint.seq,
            "created_at": _iso(checkpoint.created_at),
            "event_count": checkpoint.event_count,
            "merkle_root": checkpoint.merkle_root,
            "hash": checkpoint.hash,
        },
        "trail": {
            "entries": report.trail_entries,
            "ok": report.ok,
            "problems": report.problems[:20],
            "head": None if head is None else {"seq": head[0], "hash": head[1]},
        },
    }


def compliance_report(
    org: Organization, start: datetime, end: datetime, now: datetime, reader: Reader | None = None
) -> dict[str, Any]:
    """The report of ``[start, end)`` (UTC), the overdue list and the proof as of ``now``; the
    figures read through ``reader`` (a connection on the snapshot the full data is read from,
    so that the two agree; by default the session)."""
    reader = reader if reader is not None else db.session
    return {
        "clauses": CLAUSES,
        "period": {"from": _iso(start), "to": _iso(end)},
        "consents": _acts(reader, org, start, end),
        "requests": _requests(reader, org, start, end),
        "on_time": _on_time(reader, org, start, end),
        "overdue": _overdue(reader, org, now),
        "policies": _policies(reader, org, start, end),
        "proof": _proof(org),
    }
