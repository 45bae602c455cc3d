"""Scheduled checkpoints and verifications (house style 8): thin, stateless, idempotent.

Safe twice and in two processes at once: a checkpoint locks its organization's row and is
skipped when no chain changed since the last one; a verification only reads (on one
snapshot, in a transaction of its own, so that writers go on) and then keeps its result.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app

from consent_service.audit.checkpoints import create_checkpoint, newest_checkpoint
from consent_service.audit.verifications import newest_verification, record_verification
from consent_service.audit.verify import verify_organization
from consent_service.clock import utcnow
from consent_service.database import snapshot_transaction
from consent_service.extensions import db
from consent_service.organizations.models import Organization
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


def verify_all(slug: str | None = None) -> dict[str, bool | None]:
    """Verify each organization's whole ledger and keep the result
    (:mod:`~consent_service.audit.verifications`); whether each was intact, or ``None`` for
    one verified less than ``LEDGER_VERIFY_INTERVAL_MINUTES`` ago (a second scheduler, or a
    run by hand, does not walk it again)."""
    interval = timedelta(minutes=current_app.config["LEDGER_VERIFY_INTERVAL_MINUTES"])
    with unit_of_work():
        organizations = [(org.id, org.slug) for org in list_organizations(slug)]
    done: dict[str, bool | None] = {}
    for org_id, name in organizations:
        # Reads only, in a transaction of its own begun on one snapshot: no write lock is
        # held while it walks (SQLite's included), and writers go on.
        with unit_of_work():
            snapshot_transaction(db.session)
            previous = newest_verification(org_id)
            verified_at = utcnow()
            if previous is not None and verified_at - previous.verified_at < interval:
                done[name] = None
                continue
            started = time.perf_counter()
            org = db.session.get(Organization, org_id)
            checkpoint = newest_checkpoint(org)
            report = verify_organization(org, now=verified_at)
            seconds = time.perf_counter() - started
        with unit_of_work():
            record_verification(org_id, report, verified_at, seconds, checkpoint)
        done[name] = report.ok
        level = logging.INFO if report.ok else logging.WARNING
        log.log(level, "ledger of %s verified: %s, %s events, %s problems", name,
                "intact" if report.ok else "BROKEN", report.events, len(report.problems))  # fmt: skip
    return done


JOBS = [
    Job("checkpoints", checkpoint_all, "CHECKPOINT_INTERVAL_MINUTES"),
    Job("ledger_verification", verify_all, "LEDGER_VERIFY_INTERVAL_MINUTES"),
]
