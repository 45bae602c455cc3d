"""Writing to a person's chain: append one event, move the state, queue its webhook; and the
scheduled expiry sweep, which writes through the same path.

The caller holds the person's lock (:func:`consent_service.consent.subjects.lock_subjects` or
the row lock taken by ``record_act``) and owns the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from consent_service.consent import ledger
from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.consent.state import StateView, apply, fold
from consent_service.errors import InvalidInput
from consent_service.extensions import db
from consent_service.policies.models import Organization, PolicyVersion, Purpose, PurposeVersion


@dataclass(frozen=True)
class Actor:
    """Who expressed an act: the subject, a guardian, an officer, or the system."""

    kind: str = "subject"
    name: str | None = None
    relationship: str | None = None
    reason: str | None = None

    @classmethod
    def from_value(cls, value: Actor | dict[str, Any] | None) -> Actor:
        """Accept an :class:`Actor`, a mapping with the same keys, or ``None`` (the subject)."""
        if value is None:
            return cls()
        if isinstance(value, Actor):
            return value
        if not isinstance(value, dict):
            raise InvalidInput("invalid actor", {"actor": ["must be an object"]})
        unknown = set(value) - {"kind", "name", "relationship", "reason"}
        if unknown:
            raise InvalidInput("invalid actor", {"actor": [f"unknown fields: {sorted(unknown)}"]})
        return cls(**value)

    @property
    def is_guardian(self) -> bool:
        return self.kind == "guardian" or (self.kind == "officer" and bool(self.relationship))


#: The webhook each action sends (PIPL 15: a withdrawal reaches the company at once).
WEBHOOK_EVENTS = {
    "grant": "consent.granted",
    "withdraw": "consent.withdrawn",
    "refuse": "consent.refused",
    "expire": "consent.expired",
    "invalidate": "consent.invalidated",
}


def notify(
    org: Organization, subject: Subject, event: ConsentEvent, state: ConsentState, now: datetime
) -> None:
    """Queue the webhook for ``event`` in this transaction (the outbox)."""
    from consent_service.webhooks.service import emit

    emit(
        org,
        WEBHOOK_EVENTS[event.action],
        {
            "subject": subject.external_id,
            "purpose": event.purpose.code,
            "purpose_version": event.purpose_version,
            "action": event.action,
            "consent_type": event.consent_type,
            "consent_event_id": event.uuid,
            "occurred_at": event.occurred_at.isoformat(),
            "recorded_at": event.recorded_at.isoformat(),
            "expires_at": event.expires_at.isoformat() if event.expires_at else None,
            "status": state.status,
        },
        now,
        ordering_key=subject.external_id,
    )


def append(
    org: Organization,
    subject: Subject,
    version: PurposeVersion,
    now: datetime,
    *,
    action: str,
    consent_type: str | None,
    method: str,
    actor: Actor,
    evidence: dict[str, Any],
    occurred_at: datetime,
    policy: PolicyVersion | None,
    bundle_id: str,
    bundle_size: int,
    idempotency_key: str | None,
    is_subject_initiated: bool,
) -> ConsentEvent:
    """Append one event to the subject's chain (the caller holds the subject's lock)."""
    expires_at = None
    if action == "grant" and version.consent_validity_days:
        expires_at = occurred_at + timedelta(days=version.consent_validity_days)
    event = ConsentEvent(
        uuid=str(uuid.uuid4()),
        org_id=org.id,
        subject_id=subject.id,
        seq=subject.chain_seq + 1,
        purpose_id=version.purpose_id,
        purpose_version=version.version,
        policy_version_id=policy.id if policy else None,
        policy_seq=policy.seq if policy else 0,
        action=action,
        consent_type=consent_type if action == "grant" else None,
        actor_kind=actor.kind,
        actor_name=actor.name,
        actor_relationship=actor.relationship,
        actor_reason=actor.reason,
        method=method,
        evidence=dict(evidence),
        is_subject_initiated=is_subject_initiated,
        bundle_id=bundle_id,
        bundle_size=bundle_size,
        idempotency_key=idempotency_key,
        occurred_at=occurred_at.astimezone(UTC),
        recorded_at=now,
        expires_at=expires_at,
        prev_hash=subject.chain_head,
    )
    event.hash = ledger.event_hash(event, version.purpose.code)
    event.purpose = version.purpose  # relationships set, so nothing is loaded before the flush
    event.policy = policy
    subject.chain_seq = event.seq
    subject.chain_head = event.hash
    db.session.add(event)
    return event


def project(row: ConsentState | None, event: ConsentEvent) -> ConsentState:
    """Update (or create) the state row for ``event``'s (subject, purpose).

    An event recorded after one that happened later (a late paper form) is placed in time by
    folding the pair's whole history again; otherwise the state moves one step.
    """
    if row is not None and event.occurred_at < row.occurred_at:
        history = db.session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.subject_id == event.subject_id, ConsentEvent.purpose_id == event.purpose_id
            )
        ).all()
        view = fold(history)
    else:
        view = apply(_view(row), event)
    if row is None:
        row = ConsentState(subject_id=event.subject_id, purpose_id=event.purpose_id, org_id=event.org_id)
        db.session.add(row)
    row.status = view.status
    row.event = event if view.event_id in (None, event.id) else db.session.get(ConsentEvent, view.event_id)
    row.purpose_version = view.purpose_version
    row.policy_seq = view.policy_seq
    row.consent_type = view.consent_type
    row.is_guardian_act = view.is_guardian_act
    row.occurred_at = view.occurred_at
    row.expires_at = view.expires_at
    row.refused_at = view.refused_at
    return row


def _view(row: ConsentState | None) -> StateView | None:
    if row is None:
        return None
    return StateView(
        status=row.status,
        event_id=row.event_id,
        purpose_version=row.purpose_version,
        policy_seq=row.policy_seq,
        consent_type=row.consent_type,
        is_guardian_act=row.is_guardian_act,
        occurred_at=row.occurred_at,
        expires_at=row.expires_at,
        refused_at=row.refused_at,
    )


def expire_lapsed(org: Organization, now: datetime) -> int:
    """Append an ``expire`` event for every grant whose validity has passed; return how many.

    Idempotent: a lapsed grant is expired once, and a second run finds nothing to do.
    """
    rows = db.session.scalars(
        select(ConsentState).where(
            ConsentState.org_id == org.id,
            ConsentState.status == "granted",
            ConsentState.expires_at <= now,
        )
    ).all()
    count = 0
    for state in rows:
        subject = db.session.get(Subject, state.subject_id)
        db.session.execute(select(Subject.id).where(Subject.id == subject.id).with_for_update())
        db.session.refresh(subject)
        db.session.refresh(state)
        if state.status != "granted" or state.expires_at is None or state.expires_at > now:
            continue
        purpose = db.session.get(Purpose, state.purpose_id)
        version = next(v for v in purpose.versions if v.version == state.purpose_version)
        event = append(
            org,
            subject,
            version,
            now,
            action="expire",
            consent_type=None,
            method="system",
            actor=Actor(kind="system", reason="consent validity period ended"),
            evidence={},
            occurred_at=state.expires_at,
            policy=None,
            bundle_id=str(uuid.uuid4()),
            bundle_size=1,
            idempotency_key=None,
            is_subject_initiated=False,
        )
        notify(org, subject, event, project(state, event), now)
        count += 1
    db.session.flush()
    return count
