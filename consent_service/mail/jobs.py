"""Scheduled delivery of the mail outbox (house style 8): everything queued since the last run,
and the retries that are due. Safe in several processes at once: PostgreSQL hands each pending
mail to one of them (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import logging

from consent_service.clock import utcnow
from consent_service.mail.service import deliver_due_mail
from consent_service.mail.transports import MailTransport
from consent_service.scheduling import Job
from consent_service.services import lookup
from consent_service.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


def deliver() -> dict[str, int]:
    """Send what is due through the configured transport and record the outcomes in one unit
    of work."""
    with unit_of_work():
        counts = deliver_due_mail(utcnow(), lookup(MailTransport))
    if counts["sent"] or counts["failed"]:
        log.info("mail: %s", counts)
    return counts


JOBS = [Job("mail", deliver, "MAIL_POLL_SECONDS", unit="seconds")]
