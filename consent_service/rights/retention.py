"""The retention sweep (PIPL 47 (1)-(3), GB/T 35273 6.1): information is deleted when the reason
to keep it ends, without anyone having to ask.

Two endings are found, in SQL, on the stored state:

- a consent ended (withdrawn, expired or invalidated) for a purpose whose legal basis is consent;
- a consent to a purpose version with a retention period is older than that period.

For each, the categories of the purpose that no other basis still covers (another purpose the
person consents to, or a purpose of the organization with another legal basis, PIPL 13) get a
deletion task in every data system that holds them. Each ending is written once, keyed by the
consent event that ended it, so the sweep is safe twice and in two processes at once (on
PostgreSQL the state rows are claimed with ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, literal, select

from consent_service.consent.models import ConsentState, Subject
from consent_service.database import skipping_locked
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose, PurposeVersion
from consent_service.rights.fulfilment import open_tasks
from consent_service.rights.models import RetentionEnding
from consent_service.rights.timeline import SYSTEM

log = logging.getLogger(__name__)
ENDED = ("withdrawn", "expired", "invalidated")
_VERSION = and_(
    PurposeVersion.purpose_id == ConsentState.purpose_id,
    PurposeVersion.version == ConsentState.purpose_version,
)


def _claim(query, limit: int):
    query = query.order_by(ConsentState.subject_id, ConsentState.purpose_id).limit(limit)
    query = skipping_locked(db.session, query, of=ConsentState)
    return db.session.execute(query).all()


def _not_found_yet(prefix: str):
    return ~exists().where(RetentionEnding.key == literal(prefix) + ConsentState.event_uuid)


def consents_ended(limit: int) -> list[tuple[ConsentState, PurposeVersion]]:
    """Consents that ended, for purposes that rest on consent, not yet swept."""
    query = (
        select(ConsentState, PurposeVersion)
        .join(PurposeVersion, _VERSION)
        .where(
            ConsentState.status.in_(ENDED),
            PurposeVersion.legal_basis == "consent",
            _not_found_yet("ended:"),
        )
    )
    return _claim(query, limit)


def periods_passed(now: datetime, limit: int) -> list[tuple[ConsentState, PurposeVersion]]:
    """Consents in force whose version's retention period has passed, not yet swept: one
    range query per purpose version that has a period (there are few)."""
    found: list[tuple[ConsentState, PurposeVersion]] = []
    versions = db.session.scalars(
        select(PurposeVersion).where(
            PurposeVersion.retention_days.is_not(None), PurposeVersion.legal_basis == "consent"
        )
    ).all()
    for version in versions:
        if len(found) >= limit:
            break
        query = (
            select(ConsentState, PurposeVersion)
            .join(PurposeVersion, _VERSION)
            .where(
                ConsentState.purpose_id == version.purpose_id,
                ConsentState.purpose_version == version.version,
                ConsentState.status == "granted",
                ConsentState.occurred_at <= now - timedelta(days=version.retention_days),
                _not_found_yet("period:"),
            )
        )
        found += _claim(query, limit - len(found))
    return found


def _consented_elsewhere(subject_id: int, but: int) -> set[str]:
    """Categories the person's other consents in force cover (purpose ``but`` aside)."""
    covered: set[str] = set()
    granted = db.session.scalars(
        select(PurposeVersion.pi_categories)
        .join(ConsentState, _VERSION)
        .where(
            ConsentState.subject_id == subject_id,
            ConsentState.status == "granted",
            ConsentState.purpose_id != but,
        )
    )
    for categories in granted:
        covered |= set(categories or [])
    return covered


def _other_bases(org: Organization) -> set[str]:
    """Categories the organization's purposes on a legal basis other than consent cover."""
    covered: set[str] = set()
    others = db.session.scalars(
        select(PurposeVersion.pi_categories)
        .join(
            Purpose,
            and_(Purpose.id == PurposeVersion.purpose_id, Purpose.current_version == PurposeVersion.version),
        )
        .where(Purpose.org_id == org.id, PurposeVersion.legal_basis != "consent")
    )
    for categories in others:
        covered |= set(categories or [])
    return covered


def sweep(now: datetime, limit: int = 1000) -> dict[str, int]:
    """Find the endings and open their deletion tasks; return what was found."""
    counts = {"endings": 0, "tasks": 0, "kept": 0}
    orgs: dict[int, Organization] = {}
    bases: dict[int, set[str]] = {}
    work = [("consent_ended", "ended:", row) for row in consents_ended(limit)]
    work += [("retention_period", "period:", row) for row in periods_passed(now, limit)]
    for reason, prefix, (state, version) in work:
        subject = db.session.get(Subject, state.subject_id)
        if subject is None or subject.erased_at is not None:
            continue
        org = orgs.get(state.org_id) or orgs.setdefault(
            state.org_id, db.session.get(Organization, state.org_id)
        )
        categories = set(version.pi_categories or [])
        if org.id not in bases:  # once per organization and run
            bases[org.id] = _other_bases(org)
        kept = categories & (bases[org.id] | _consented_elsewhere(subject.id, state.purpose_id))
        to_delete = sorted(categories - kept)
        key = prefix + state.event_uuid
        tasks = []
        if to_delete:
            tasks = open_tasks(org, None, subject, "deletion", now, SYSTEM, categories=to_delete,
                               purpose_id=state.purpose_id, retention_key=key)  # fmt: skip
        db.session.add(
            RetentionEnding(
                org_id=org.id,
                subject_id=subject.id,
                purpose_id=state.purpose_id,
                key=key,
                reason=reason,
                found_at=now,
                categories=to_delete,
                kept_categories=sorted(kept),
                tasks=len(tasks),
            )
        )
        counts["endings"] += 1
        counts["tasks"] += len(tasks)
        counts["kept"] += not to_delete
    db.session.flush()
    if counts["endings"]:
        log.info("retention sweep: %s", counts)
    return counts
