"""The chain hash: each consent event's SHA-256 covers its content and the previous hash.

Each person's events form their own chain, so writers for different people never wait on
each other; :mod:`consent_service.audit` commits to every chain head with signed checkpoints
and verifies them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from consent_service.canonical import canonical_json, json_value
from consent_service.consent.models import ConsentEvent


def iso_utc(value: datetime | None) -> str | None:
    # In UTC, as the database gives it back: a hash must not depend on the caller's time zone.
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def event_content(event: ConsentEvent, purpose_code: str) -> dict[str, Any]:
    """The fields an event's hash covers: everything but its own id and hash."""
    return {
        "uuid": event.uuid,
        "org_id": event.org_id,
        "subject_id": event.subject_id,
        "seq": event.seq,
        "purpose": purpose_code,
        "purpose_version": event.purpose_version,
        "policy_version_id": event.policy_version_id,
        "policy_seq": event.policy_seq,
        "action": event.action,
        "consent_type": event.consent_type,
        "actor": [event.actor_kind, event.actor_name, event.actor_relationship, event.actor_reason],
        "method": event.method,
        "evidence": event.evidence,
        "is_subject_initiated": event.is_subject_initiated,
        "bundle": [event.bundle_id, event.bundle_size],
        "idempotency_key": event.idempotency_key,
        "occurred_at": iso_utc(event.occurred_at),
        "recorded_at": iso_utc(event.recorded_at),
        "expires_at": iso_utc(event.expires_at),
        "prev_hash": event.prev_hash,
    }


def event_hash(event: ConsentEvent, purpose_code: str) -> str:
    """SHA-256 over the event's canonical content (which includes the previous hash).

    The bytes are those of ``canonical_json(event_content(event, purpose_code))``, written
    out field by field: every event written is hashed, and the general encoder, sorting the
    same twenty keys each time, was the larger part of an import's work. A property test
    holds the two equal.
    """
    e = event
    evidence = e.evidence
    text = _EVENT_TEMPLATE % (
        json_value(e.action),
        json_value(e.actor_kind),
        json_value(e.actor_name),
        json_value(e.actor_relationship),
        json_value(e.actor_reason),
        json_value(e.bundle_id),
        json_value(e.bundle_size),
        json_value(e.consent_type),
        "{}" if not evidence else canonical_json(evidence).decode(),
        json_value(iso_utc(e.expires_at)),
        json_value(e.idempotency_key),
        json_value(e.is_subject_initiated),
        json_value(e.method),
        json_value(iso_utc(e.occurred_at)),
        json_value(e.org_id),
        json_value(e.policy_seq),
        json_value(e.policy_version_id),
        json_value(e.prev_hash),
        json_value(purpose_code),
        json_value(e.purpose_version),
        json_value(iso_utc(e.recorded_at)),
        json_value(e.seq),
        json_value(e.subject_id),
        json_value(e.uuid),
    )
    return hashlib.sha256(text.encode()).hexdigest()


#: :func:`event_content`'s keys in sorted order, as :func:`canonical_json` writes them.
_EVENT_TEMPLATE = (
    '{"action":%s,"actor":[%s,%s,%s,%s],"bundle":[%s,%s],"consent_type":%s,"evidence":%s,'
    '"expires_at":%s,"idempotency_key":%s,"is_subject_initiated":%s,"method":%s,"occurred_at":%s,'
    '"org_id":%s,"policy_seq":%s,"policy_version_id":%s,"prev_hash":%s,"purpose":%s,'
    '"purpose_version":%s,"recorded_at":%s,"seq":%s,"subject_id":%s,"uuid":%s}'
)
