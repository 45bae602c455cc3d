"""The full verifications of a ledger kept as rows, so that a record can cite the newest.

Walking millions of events with their receipts takes minutes (``docs/performance.md``), too
long to repeat for each compliance report. The ``ledger_verification`` job runs
:func:`~consent_service.audit.verify.verify_organization` on a schedule, on one snapshot, and
:func:`record_verification` keeps what it covered and found; :func:`newest_verification` is
what the compliance report states (GB/T 35273 11.7), beside the newest signed checkpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from consent_service.audit.models import LedgerCheckpoint, LedgerVerification
from consent_service.audit.report import VerifyReport
from consent_service.extensions import db

#: Problems kept on the row (the count is kept whole).
KEPT_PROBLEMS = 20


def record_verification(
    org_id: int,
    report: VerifyReport,
    verified_at: datetime,
    seconds: float,
    checkpoint: LedgerCheckpoint | None,
) -> LedgerVerification:
    """Keep what a full verification of ``org_id``'s ledger found, read at ``verified_at``;
    ``checkpoint`` is the newest one it proved."""
    row = LedgerVerification(
        org_id=org_id,
        verified_at=verified_at,
        seconds=round(seconds, 3),
        ok=report.ok,
        subjects=report.subjects,
        events=report.events,
        receipts=report.receipts,
        checkpoints=report.checkpoints,
        trail_entries=report.trail_entries,
        checkpoint_seq=checkpoint.seq if checkpoint is not None else None,
        checkpoint_hash=checkpoint.hash if checkpoint is not None else None,
        problem_count=len(report.problems),
        problems=report.problems[:KEPT_PROBLEMS],
    )
    db.session.add(row)
    db.session.flush()
    return row


def described(row: LedgerVerification) -> dict[str, Any]:
    """What a verification found, as plain values (``verified_at`` a UTC ``datetime``)."""
    return {
        "verified_at": row.verified_at,
        "ok": row.ok,
        "events": row.events,
        "receipts": row.receipts,
        "subjects": row.subjects,
        "checkpoints": row.checkpoints,
        "trail_entries": row.trail_entries,
        "checkpoint_seq": row.checkpoint_seq,
        "checkpoint_hash": row.checkpoint_hash,
        "problem_count": row.problem_count,
        "problems": list(row.problems),
    }


def newest_verification(org_id: int) -> LedgerVerification | None:
    """The organization's newest full verification, or ``None`` before the first."""
    query = select(LedgerVerification).where(LedgerVerification.org_id == org_id)
    newest = query.order_by(LedgerVerification.verified_at.desc(), LedgerVerification.id.desc()).limit(1)
    return db.session.scalars(newest).one_or_none()
