"""Scheduled delivery of the webhook outbox (house style 8): retries, and anything a process
that crashed after its commit left unsent. Safe in several processes at once: PostgreSQL
hands each pending delivery to one of them (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import logging

from consent_service.clock import utcnow
from consent_service.scheduling import Job
from consent_service.unit_of_work import unit_of_work
from consent_service.webhooks.delivery import deliver_due

log = logging.getLogger(__name__)


def deliver() -> dict[str, int]:
    """Send what is due and record the outcomes in one unit of work."""
    with unit_of_work():
        counts = deliver_due(utcnow())
    if counts["delivered"] or counts["failed"]:
        log.info("webhooks: %s", counts)
    return counts


JOBS = [Job("webhooks", deliver, "WEBHOOK_POLL_SECONDS", unit="seconds")]
