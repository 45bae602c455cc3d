"""Queueing mail with the change that causes it, and sending it after commit.

``queue_mail()`` writes an outbox row in the caller's transaction: an acknowledgement is sent
if, and only if, the request it acknowledges is committed. ``deliver_due_mail()`` sends what is
due, oldest first; a failure is tried again after 1, 2, 4, ... minutes (at most an hour apart)
until ``MAIL_RETRY_HOURS`` after the mail was queued, then the mail is marked failed. Delivery
is at least once: a process that dies between sending and its commit sends that mail again
(with the same Message-ID, by which receivers recognise it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.headerregistry import Address

from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import select

from consent_service.database import skipping_locked
from consent_service.extensions import db
from consent_service.ids import uuid7
from consent_service.mail.envelope import Envelope, sender_address
from consent_service.mail.models import MailMessage
from consent_service.mail.transports import MailNotSent, MailTransport
from consent_service.organizations.models import Organization

log = logging.getLogger(__name__)

#: The first retry waits this long; each later one twice as long as the one before, at most
#: :data:`LONGEST_RETRY_DELAY`.
FIRST_RETRY_DELAY = timedelta(minutes=1)
LONGEST_RETRY_DELAY = timedelta(hours=1)
#: Temporary failures in a row after which a batch stops sending (the relay is down).
GIVE_UP_BATCH_AFTER = 3
#: Fixed reasons recorded by the outbox itself (the transports name their own).
CONTENT_UNREADABLE = "content unreadable"
TRANSPORT_ERROR = "transport error"


def queue_mail(
    to: str,
    subject: str,
    text: str,
    *,
    kind: str,
    org: Organization | None = None,
    html: str | None = None,
    language: str = "zh-CN",
    reply_to: str | None = None,
    now: datetime,
) -> MailMessage:
    """Queue one mail to ``to`` in the caller's transaction (flushed, not committed).

    ``kind`` names what the mail is for (``rights.acknowledgement``) and stays on the record
    after the content is erased; it must never hold personal data. ``to`` and ``reply_to`` are
    bare addresses. :class:`~consent_service.errors.InvalidInput` names each field that is wrong.
    """
    envelope = Envelope.checked(to, subject, text, html=html, language=language, reply_to=reply_to, kind=kind)
    message = MailMessage(
        public_id="msg_" + uuid7().replace("-", ""),
        org_id=org.id if org is not None else None,
        kind=kind,
        content_encrypted=envelope.seal(),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    return message


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY_DELAY * 2 ** min(attempts - 1, 20), LONGEST_RETRY_DELAY)


def deliver_due_mail(now: datetime, transport: MailTransport, limit: int = 100) -> dict[str, int]:
    """Send up to ``limit`` due mails, oldest first, and record each outcome (flushed; the
    caller's unit of work commits).

    On PostgreSQL the rows are claimed with ``FOR UPDATE SKIP LOCKED``: several processes share
    the work and never send one mail twice. On SQLite the transaction holds the database's write
    lock (``BEGIN IMMEDIATE``) from its first statement, which serializes them just as well.

    After :data:`GIVE_UP_BATCH_AFTER` failures in a row the relay is taken to be down: the rest
    of the batch is ``deferred`` untouched to the next run, instead of each waiting out its own
    timeout while the transaction stays open.
    """
    counts = {"sent": 0, "retrying": 0, "failed": 0, "deferred": 0}
    query = (
        select(MailMessage)
        .where(MailMessage.status == "pending", MailMessage.next_attempt_at <= now)
        .order_by(MailMessage.id)
        .limit(limit)
    )
    query = skipping_locked(db.session, query)
    messages = db.session.scalars(query).all()
    if messages:
        sender = sender_address(current_app.config["MAIL_FROM"])
        retry_until = timedelta(hours=current_app.config["MAIL_RETRY_HOURS"])
        failures_in_a_row = 0
        for message in messages:
            if failures_in_a_row >= GIVE_UP_BATCH_AFTER:
                counts["deferred"] += 1
                continue
            outcome = _attempt(message, transport, sender, now, retry_until)
            failures_in_a_row = failures_in_a_row + 1 if outcome == "retrying" else 0
            counts[outcome] += 1
        db.session.flush()
    return counts


def _attempt(
    message: MailMessage, transport: MailTransport, sender: Address, now: datetime, window: timedelta
) -> str:
    """Try to send ``message`` once; answer ``sent``, ``retrying`` or ``failed``."""
    message.attempts += 1
    message.last_attempt_at = now
    try:
        envelope = Envelope.unseal(message.content_encrypted or "")
    except (InvalidToken, ValueError, TypeError):
        # Sealed under another SECRET_KEY (or erased): no attempt can ever read it.
        return _give_up(message, CONTENT_UNREADABLE)
    domain = sender.addr_spec.rpartition("@")[2]
    # The Message-ID is the row's: a mail sent again after a crash is recognisably the same mail.
    email = envelope.compose(
        sender=sender, message_id=f"<{message.public_id}@{domain}>", date=message.created_at
    )
    try:
        transport.send(email)
    except MailNotSent as exc:
        reason, permanent = exc.reason, exc.permanent
    except Exception as exc:
        # A transport that breaks its contract must not undo the record of the mails before it.
        log.error("mail %s (%s): %s from the transport", message.public_id, message.kind, type(exc).__name__)
        reason, permanent = TRANSPORT_ERROR, False
    else:
        message.status = "sent"
        message.sent_at = now
        message.last_error = None
        message.content_encrypted = None
        return "sent"
    message.last_error = reason[:200]
    next_attempt_at = now + retry_delay(message.attempts)
    if permanent or next_attempt_at > message.created_at + window:
        return _give_up(message, reason)
    message.next_attempt_at = next_attempt_at
    log.info("mail %s (%s): %s; next attempt at %s", message.public_id, message.kind, reason, next_attempt_at)
    return "retrying"


def _give_up(message: MailMessage, reason: str) -> str:
    """Mark ``message`` failed and erase its content: nothing will read it again (GB/T 6.1)."""
    message.status = "failed"
    message.last_error = reason[:200]
    message.content_encrypted = None
    log.warning(
        "mail %s (%s) failed after %d attempts: %s", message.public_id, message.kind, message.attempts, reason
    )
    return "failed"
