"""What the scheduler enforces: reminders before a deadline, escalation at it, the end of
requests left unverified, and due dates recomputed once calendar data is known.

Each sweep works in SQL on stored times (an index finds what is due; nothing loops over every
open request) and is safe twice and in two processes at once: a reminder is a row planned when
the deadline was set, claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write lock
serializes the sweeps) and marked sent in the same transaction as its mail and webhook, so it
goes out exactly once, and a run that dies half-way leaves it for the next. After downtime a
request gets only its most urgent notice, not every one it missed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.mail.envelope import normalize_address
from consent_service.mail.service import queue_mail
from consent_service.memo import batch_lookups
from consent_service.organizations.models import Organization
from consent_service.rights import messages
from consent_service.rights.models import RightsNotice, RightsRequest
from consent_service.rights.schedule import schedule
from consent_service.rights.timeline import SYSTEM, step, webhook_data
from consent_service.webhooks.service import emit

log = logging.getLogger(__name__)
#: Notices are sent while a request still runs; a paused one waits (its clock stands still).
_RUNNING = ("received", "verifying_identity", "in_progress", "awaiting_systems")


def _officers(org: Organization, request: RightsRequest) -> list[str]:
    """Who is reminded: the assigned officer and the PI protection officer (PIPL 52), where
    they are mail addresses."""
    found = []
    for value in (request.assigned_to, org.pipo_contact):
        address = normalize_address(value) if value else None
        if address and address not in found:
            found.append(address)
    return found


def send_due_notices(now: datetime, limit: int = 5000) -> dict[str, int]:
    """Send the reminders and escalations now due; mark the ones passed over."""
    counts = {"reminders": 0, "overdue": 0, "passed": 0}
    query = (
        select(RightsNotice, RightsRequest)
        .join(RightsRequest, RightsRequest.id == RightsNotice.request_id)
        .where(
            RightsNotice.sent_at.is_(None),
            RightsNotice.due_at <= now,
            RightsRequest.status.in_(_RUNNING),
        )
        .order_by(RightsNotice.request_id, RightsNotice.due_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=RightsNotice)
    by_request: dict[int, list[tuple[RightsNotice, RightsRequest]]] = {}
    for notice, request in db.session.execute(query):
        by_request.setdefault(request.id, []).append((notice, request))
    # One query each for the people and organizations, and the webhook endpoints once per
    # organization (batch_lookups), rather than a round trip per notice.
    requests = [pairs[0][1] for pairs in by_request.values()]
    subjects = _by_id(Subject, {request.subject_id for request in requests})
    orgs = _by_id(Organization, {request.org_id for request in requests})
    with batch_lookups():
        flags = [_send(pairs, orgs, subjects, now, counts) for pairs in by_request.values()]
    # Marked once every mail is queued: queue_mail flushes each mail, and a mark made before
    # would cost a statement of its own in one of those flushes, not one batch in the last.
    for pairs, flag in zip(by_request.values(), flags, strict=True):
        *passed, (notice, request) = pairs
        for older, _ in passed:
            older.sent_at, older.outcome = now, "passed"
        notice.sent_at, notice.outcome = now, "sent"
        setattr(request, flag, True)
    db.session.flush()
    if counts["reminders"] or counts["overdue"]:
        log.info("rights notices: %s", counts)
    return counts


def _by_id(model: type, ids: set[int]) -> dict:
    """The rows of ``model`` with these ids, by id, in one query."""
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


def _send(
    pairs: list[tuple[RightsNotice, RightsRequest]],
    orgs: dict[int, Organization],
    subjects: dict[int, Subject],
    now: datetime,
    counts: dict[str, int],
) -> str:
    """Queue the mails and webhooks of the most urgent of one request's due notices (the
    latest due; the others are passed over); return the flag it sets on the request."""
    *passed, (notice, request) = pairs  # ordered by due time: the last is the most urgent
    counts["passed"] += len(passed)
    org = orgs[request.org_id]
    subject = subjects[request.subject_id]
    name = org.name_zh
    if notice.kind == "overdue":
        flag = "overdue"
        subject_line, text = messages.escalation(
            name, request.public_id, request.type, request.due_at, org.timezone
        )
        kind = "rights.escalation"
        emit(
            org,
            "rights.request.overdue",
            webhook_data(request, subject),
            now,
            ordering_key=subject.external_id,
        )
        counts["overdue"] += 1
    else:
        days = int(notice.kind.split(":")[1])
        flag = "at_risk"
        if not request.at_risk:
            emit(org, "rights.request.at_risk", webhook_data(request, subject), now,
                 ordering_key=subject.external_id)  # fmt: skip
        subject_line, text = messages.reminder(
            name, request.public_id, request.type, days, request.due_at, org.timezone
        )
        kind = "rights.reminder"
        counts["reminders"] += 1
    for to in _officers(org, request):
        queue_mail(to, subject_line, text, kind=kind, org=org, now=now)
    return flag


def expire_unverified(now: datetime, limit: int = 1000) -> int:
    """End the requests whose requester was never verified within ``RIGHTS_UNVERIFIED_DAYS``."""
    cutoff = now - timedelta(days=current_app.config["RIGHTS_UNVERIFIED_DAYS"])
    query = (
        select(RightsRequest)
        .where(
            RightsRequest.status.in_(("received", "verifying_identity")), RightsRequest.received_at <= cutoff
        )
        .order_by(RightsRequest.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    requests = db.session.scalars(query).all()
    for request in requests:
        step(request, "expire_unverified", SYSTEM, "identity not verified in time", now)
        request.closed_at = now
    db.session.flush()
    return len(requests)


def recompute_provisional(now: datetime) -> int:
    """Compute again the due dates that were provisional (past the calendar data then known):
    after a notice is loaded they become exact, and their reminders move with them."""
    requests = db.session.scalars(
        select(RightsRequest).where(RightsRequest.provisional.is_(True), RightsRequest.closed_at.is_(None))
    ).all()
    orgs: dict[int, Organization] = {}
    changed = 0
    for request in requests:
        org = orgs.get(request.org_id) or orgs.setdefault(
            request.org_id, db.session.get(Organization, request.org_id)
        )
        before = (request.due_at, request.provisional)
        schedule(org, request, now)
        changed += (request.due_at, request.provisional) != before
    return changed
