"""Scheduled enforcement of rights deadlines (house style 8): thin, idempotent, each step in a
unit of work. Safe in several scheduler processes at once (see :mod:`.sweeps`)."""

from __future__ import annotations

import logging

from consent_service.clock import utcnow
from consent_service.rights import retention
from consent_service.rights.packages import purge
from consent_service.rights.sweeps import expire_unverified, send_due_notices
from consent_service.scheduling import Job
from consent_service.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


def sweep_deadlines() -> dict[str, int]:
    """Reminders at the configured working days before each due date, escalation at it, and
    the end of requests left unverified."""
    with unit_of_work():
        counts = send_due_notices(utcnow())
    with unit_of_work():
        counts["expired_unverified"] = expire_unverified(utcnow())
    return counts


def sweep_retention() -> dict[str, int]:
    """Deletion tasks where the reason to keep a person's information ended (PIPL 47)."""
    with unit_of_work():
        return retention.sweep(utcnow())


def purge_packages() -> dict[str, int]:
    """Delete the content of access and copy packages whose link has expired (GB/T 6.1)."""
    with unit_of_work():
        purged = purge(utcnow())
    if purged:
        log.info("rights packages purged: %s", purged)
    return {"purged": purged}


JOBS = [
    Job("rights", sweep_deadlines, "RIGHTS_SWEEP_INTERVAL_MINUTES"),
    Job("retention", sweep_retention, "RIGHTS_RETENTION_INTERVAL_MINUTES"),
    Job("rights_packages", purge_packages, "RIGHTS_SWEEP_INTERVAL_MINUTES"),
]
