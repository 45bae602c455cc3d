"""Scheduled work on the ledger (house style 8): thin, stateless, idempotent.

Each job opens an app context, calls a service per organization, commits once per
organization and logs what it did. Running a job twice, or in two processes at once, is
safe: checkpoints lock the organization row and skip when nothing changed; the expiry
sweep locks each person's chain and re-reads the state before writing.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import select

from consent_service.clock import utcnow
from consent_service.consent.chain import expire_lapsed
from consent_service.consent.ledger import create_checkpoint
from consent_service.extensions import db
from consent_service.policies.models import Organization

log = logging.getLogger(__name__)


def _organizations(slug: str | None = None) -> list[Organization]:
    query = select(Organization).order_by(Organization.slug)
    if slug is not None:
        query = query.where(Organization.slug == slug)
    return list(db.session.scalars(query))


def checkpoint_all(app: Flask, slug: str | None = None) -> dict[str, int | None]:
    """Write a signed checkpoint for each organization whose chains changed."""
    done: dict[str, int | None] = {}
    with app.app_context():
        for org in _organizations(slug):
            try:
                cp = create_checkpoint(org, utcnow())
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("checkpoint failed for %s", org.slug)
                raise
            done[org.slug] = cp.seq if cp else None
            if cp:
                log.info("checkpoint #%s for %s: %s chains", cp.seq, org.slug, cp.subject_count)
    return done


def expire_all(app: Flask) -> dict[str, int]:
    """Record ``expire`` events for grants whose validity period has ended."""
    done: dict[str, int] = {}
    with app.app_context():
        for org in _organizations():
            try:
                done[org.slug] = expire_lapsed(org, utcnow())
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("expiry sweep failed for %s", org.slug)
                raise
            if done[org.slug]:
                log.info("expired %s consents for %s", done[org.slug], org.slug)
    return done
