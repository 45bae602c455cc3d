"""Filling an organization's ledger and requests quickly, for the export tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert

from consent_service.consent.models import ConsentEvent
from consent_service.ids import uuid7


def fill_events(db, org, subject, purpose, count: int, start: datetime, step=timedelta(seconds=1)) -> None:
    """``count`` grant events of ``subject`` on ``purpose``, one ``step`` apart from ``start``,
    in one statement (the columns an export reads; the chain is not checked here)."""
    rows = [
        {
            "uuid": uuid7(),
            "org_id": org.id,
            "subject_id": subject.id,
            "seq": 1000 + n,
            "purpose_id": purpose.id,
            "purpose_version": 1,
            "policy_seq": 0,
            "action": "grant",
            "consent_type": "explicit",
            "actor_kind": "subject",
            "method": "api",
            "evidence": {"ip": "203.0.113.9", "user_agent": "Secret-Agent/1.0"},
            "is_subject_initiated": False,
            "bundle_id": uuid7(),
            "bundle_size": 1,
            "occurred_at": start + step * n,
            "recorded_at": start + step * n,
            "prev_hash": "0" * 64,
            "hash": f"{n:064x}",
        }  # fmt: skip
        for n in range(count)
    ]
    db.session.execute(insert(ConsentEvent), rows)
    db.session.flush()
