"""What the scheduler enforces: reminders before a deadline, escalation at it, the end of
requests left unverified, and due dates recomputed once calendar data is known.

Each sweep works in SQL on stored times (an index finds what is due; nothing loops over every
open request) and is safe twice and in two processes at once: a reminder is a row planned when
the deadline was set, claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write lock
serializes the sweeps) and marked sent in the same transaction as its mail and webhook, so it
goes out exactly once, and a run that dies half-way leaves it for the next. After downtime a
request gets only its most urgent notice, not every one it missed. An officer gets one mail
per kind per run, listing their requests, not one mail per request.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from consent_service.consent.models import Subject
from consent_service.database import skipping_locked
from consent_service.extensions import db
from consent_service.mail.envelope import normalize_address
from consent_service.mail.service import queue_mail
from consent_service.memo import batch_lookups
from consent_service.organizations.models import Organization
from consent_service.rights import messages
from consent_service.rights.models import RightsNotice, RightsRequest
from consent_service.rights.schedule import schedule
from consent_service.rights.timeline import SYSTEM, step, webhook_data
from consent_service.webhooks.service import emit_many

log = logging.getLogger(__name__)
#: Requests listed in one digest mail at most (a line is about 150 characters; a mail holds
#: 100,000): a run with more sends several.
DIGEST_LINES = 500
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
    """Send the reminders and escalations now due; mark the ones passed over.

    Each officer gets one mail per kind per run, listing their requests (a digest when there
    are several), and each organization's webhooks are queued in one go. A batch cut by
    ``limit`` leaves its last request whole for the next run, and a notice older than one
    already sent (another process sent the later one first) is passed over, never sent late.
    """
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
    # Requests, not notices, are claimed: a request's due notices go to one process whole, so
    # two at once never send an older one beside a newer one.
    query = skipping_locked(db.session, query, of=RightsRequest)
    rows = db.session.execute(query).all()
    by_request: dict[int, list[tuple[RightsNotice, RightsRequest]]] = {}
    for notice, request in rows:
        by_request.setdefault(request.id, []).append((notice, request))
    if len(rows) == limit and len(by_request) > 1:
        by_request.popitem()  # its other notices may be past the limit: next run, whole
    if not by_request:
        return counts
    latest_sent = dict(
        db.session.execute(
            select(RightsNotice.request_id, func.max(RightsNotice.due_at))
            .where(RightsNotice.request_id.in_(list(by_request)), RightsNotice.outcome == "sent")
            .group_by(RightsNotice.request_id)
        ).all()
    )
    requests = [pairs[0][1] for pairs in by_request.values()]
    subjects = _by_id(Subject, {request.subject_id for request in requests})
    orgs = _by_id(Organization, {request.org_id for request in requests})
    mails: dict[tuple[int, str, str], list] = {}
    events: dict[int, list[tuple[str, dict, str]]] = {}
    for pairs in by_request.values():
        *passed, (notice, request) = pairs  # ordered by due time: the last is the most urgent
        already = latest_sent.get(request.id)
        if already is not None and notice.due_at <= already:
            passed.append((notice, request))  # a later notice already went out
            notice = None
        for older, _ in passed:
            older.sent_at, older.outcome = now, "passed"
        counts["passed"] += len(passed)
        if notice is None:
            continue
        notice.sent_at, notice.outcome = now, "sent"
        org, subject = orgs[request.org_id], subjects[request.subject_id]
        if notice.kind == "overdue":
            request.overdue = True
            events.setdefault(org.id, []).append(
                ("rights.request.overdue", webhook_data(request, subject), subject.external_id)
            )
            item = ("rights.escalation", (request.public_id, request.type, request.due_at))
            counts["overdue"] += 1
        else:
            if not request.at_risk:
                request.at_risk = True
                events.setdefault(org.id, []).append(
                    ("rights.request.at_risk", webhook_data(request, subject), subject.external_id)
                )
            days = int(notice.kind.split(":")[1])
            item = ("rights.reminder", (request.public_id, request.type, days, request.due_at))
            counts["reminders"] += 1
        for to in _officers(org, request):
            mails.setdefault((org.id, to, item[0]), []).append(item[1])
    with batch_lookups():
        for org_id, queued in events.items():
            emit_many(orgs[org_id], queued, now)
    for (org_id, to, kind), items in mails.items():
        org = orgs[org_id]
        compose = messages.escalations if kind == "rights.escalation" else messages.reminders
        for start in range(0, len(items), DIGEST_LINES):
            subject_line, text = compose(org.name_zh, items[start : start + DIGEST_LINES], org.timezone)
            queue_mail(to, subject_line, text, kind=kind, org=org, now=now)
    db.session.flush()
    if counts["reminders"] or counts["overdue"]:
        log.info("rights notices: %s", counts)
    return counts


def _by_id(model: type, ids: set[int]) -> dict:
    """The rows of ``model`` with these ids, by id, in one query."""
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}


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
    query = skipping_locked(db.session, query)
    requests = db.session.scalars(query).all()
    for request in requests:
        step(request, "expire_unverified", SYSTEM, "identity not verified in time", now, flush=False)
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
