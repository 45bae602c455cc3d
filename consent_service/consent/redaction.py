"""What erasure changes in a person's records, as pure functions (PIPL 47, 73; GB/T 3.14, 8.3).

An erased person's consent events keep everything the proof of lawful processing needs
(which purpose, which version, what act, when, by which kind of actor, under which policy) and
lose what identifies them: the evidence but its locale and notice hash, and the actor's name,
relationship and reason. Each redacted event keeps its original ``hash`` (the chain and the
checkpoints over it stay intact); the digest of its redacted content, computed by
:func:`redacted_digest` exactly as the chain hash is, goes into the signed erasure record
(:func:`record_payload`), against which the audit checks it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from consent_service.consent.hashing import event_hash, iso_utc
from consent_service.consent.models import SubjectErasure
from consent_service.consent.rows import EventRow

#: What a redacted personal field holds. A field that was empty stays empty, so that what the
#: state derives from the event (a guardian act: an officer's with a relationship) is unchanged.
REDACTED = "[erased]"
#: Evidence that identifies nobody and is kept: the language of the notice shown, the SHA-256
#: of its text, the platform an imported act came from. Every other key is redacted.
KEPT_EVIDENCE = frozenset({"locale", "notice_sha256", "source_method"})
#: The JWS type of an erasure record.
ERASURE_TYPE = "consent-erasure+jws"
#: The label of the pseudonym key derived from ``SECRET_KEY``.
PSEUDONYM_KEY_INFO = b"consent-subject-pseudonym"


def redact(event: EventRow) -> EventRow:
    """The event with its personal fields redacted (evidence but :data:`KEPT_EVIDENCE`, the
    actor's name, relationship and reason). An act the system wrote (an expiry, the erasure's
    own withdrawals) names nobody and keeps its actor fields."""
    evidence = {key: value if key in KEPT_EVIDENCE else REDACTED for key, value in event.evidence.items()}
    if event.actor_kind == "system":
        return replace(event, evidence=evidence)
    return replace(
        event,
        evidence=evidence,
        actor_name=_mark(event.actor_name),
        actor_relationship=_mark(event.actor_relationship),
        actor_reason=_mark(event.actor_reason),
    )


def _mark(value: str | None) -> str | None:
    return None if value is None else REDACTED


def needs_redaction(event: EventRow) -> bool:
    """Whether the event holds anything :func:`redact` removes."""
    return redact(event) != event


def redacted_digest(event: EventRow) -> str:
    """SHA-256 of the event's content as stored, in the chain hash's canonical form
    (:func:`~consent_service.consent.hashing.event_content`, ``prev_hash`` included)."""
    return event_hash(event, event.purpose_code)


def pseudonym(org_id: int, external_id: str) -> str:
    """The keyed pseudonym of a person's external id (PIPL 73(3), GB/T 3.15): ``psn_`` and the
    first 32 hex digits of HMAC-SHA256 over ``"{org_id}:{external_id}"``, keyed with a key
    derived from ``SECRET_KEY``. The same for the same organization and id, different across
    organizations; the company, which holds the original id, can have it computed again to show
    which record was theirs; the table alone identifies nobody."""
    secret = current_app.config["SECRET_KEY"].encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PSEUDONYM_KEY_INFO).derive(secret)
    digest = hmac.new(key, f"{org_id}:{external_id}".encode(), hashlib.sha256).hexdigest()
    return "psn_" + digest[:32]


def record_payload(record: SubjectErasure, pseudonym: str) -> dict[str, Any]:
    """What an erasure record's JWS signs: every column of the record but the signature, and
    the pseudonym the person's row was given."""
    return {
        "org_id": record.org_id,
        "subject_id": record.subject_id,
        "pseudonym": pseudonym,
        "erased_at": iso_utc(record.erased_at),
        "reference": record.reference,
        "reason": record.reason,
        "events": [list(item) for item in record.events],
        "receipts": [list(item) for item in record.receipts],
    }
