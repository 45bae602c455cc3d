"""Scheduled checkpoints (house style 8): thin, stateless, idempotent.

Safe twice and in two processes at once: a checkpoint locks its organization's row and is
skipped when no chain changed since the last one.
"""

from __future__ import annotations

import logging

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.clock import utcnow
from consent_service.organizations.service import list_organizations
from consent_service.scheduling import Job
from consent_service.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


def checkpoint_all(slug: str | None = None) -> dict[str, int | None]:
    """Write a signed checkpoint for each organization whose chains changed (one unit of work
    per organization); the number written, or ``None`` when nothing changed."""
    done: dict[str, int | None] = {}
    for org in list_organizations(slug):
        with unit_of_work():
            cp = create_checkpoint(org, utcnow())
        done[org.slug] = cp.seq if cp else None
        if cp:
            log.info("checkpoint #%s for %s: %s chains", cp.seq, org.slug, cp.subject_count)
    return done


JOBS = [Job("checkpoints", checkpoint_all, "CHECKPOINT_INTERVAL_MINUTES")]
