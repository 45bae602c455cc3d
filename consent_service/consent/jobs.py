"""Scheduled work on the ledger (house style 8): thin, stateless, idempotent.

Safe twice and in two processes at once: the expiry sweep locks each person's chain and reads
the state again under the lock before writing.
"""

from __future__ import annotations

import logging

from consent_service.clock import utcnow
from consent_service.consent.expiry import expire_lapsed
from consent_service.organizations.service import list_organizations
from consent_service.scheduling import Job
from consent_service.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


def expire_all() -> dict[str, int]:
    """Record ``expire`` events for grants whose validity period has ended, one unit of work
    per organization."""
    done: dict[str, int] = {}
    for org in list_organizations():
        with unit_of_work():
            done[org.slug] = expire_lapsed(org, utcnow())
        if done[org.slug]:
            log.info("expired %s consents for %s", done[org.slug], org.slug)
    return done


JOBS = [Job("expired", expire_all, "EXPIRY_SWEEP_INTERVAL_MINUTES")]
