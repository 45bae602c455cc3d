"""The expiry sweep: grants whose validity period has passed end with an ``expire`` event.

It writes through the same :class:`~consent_service.consent.writer.ChainWriter` as every other
act, so an expiry is hashed, chained and notified like a withdrawal. Idempotent: a lapsed grant
is expired once, and a second run finds nothing to do.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from consent_service.consent.models import ConsentState, Subject
from consent_service.consent.writer import Actor, ChainWriter
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import Purpose

#: How many people the expiry sweep writes for at a time.
EXPIRY_CHUNK = 1000


def expire_lapsed(org: Organization, now: datetime) -> int:
    """Append an ``expire`` event for every grant whose validity has passed; return how many.

    Idempotent: a lapsed grant is expired once, and a second run finds nothing to do.
    """
    lapsed = db.session.execute(
        select(Subject.external_id, ConsentState.subject_id, ConsentState.purpose_id)
        .join(ConsentState, ConsentState.subject_id == Subject.id)
        .where(
            ConsentState.org_id == org.id,
            ConsentState.status == "granted",
            ConsentState.expires_at <= now,
        )
        .order_by(ConsentState.subject_id, ConsentState.purpose_id)
    ).all()
    count = 0
    for start in range(0, len(lapsed), EXPIRY_CHUNK):
        chunk = lapsed[start : start + EXPIRY_CHUNK]
        writer = ChainWriter(org, now)
        chains = {c.id: c for c in writer.lock(row.external_id for row in chunk).values()}
        writer.load_states((row.subject_id, row.purpose_id) for row in chunk)
        due = sorted(  # checked again under the lock
            key
            for key, state in writer.states.items()
            if state.status == "granted" and state.expires_at is not None and state.expires_at <= now
        )
        writer.reserve(len(due))
        for subject_id, purpose_id in due:
            state = writer.states[(subject_id, purpose_id)]
            purpose = db.session.get(Purpose, purpose_id)
            version = next(v for v in purpose.versions if v.version == state.purpose_version)
            writer.append(
                chains[subject_id],
                version,
                None,
                action="expire",
                consent_type=None,
                method="system",
                actor=Actor(kind="system", reason="consent validity period ended"),
                evidence={},
                occurred_at=state.expires_at,
                bundle_id=str(uuid.uuid4()),
                bundle_size=1,
                idempotency_key=None,
                is_subject_initiated=False,
            )
        writer.write()
        count += len(due)
    return count
