"""What this service holds about one person, as plain data: their record, their consent state
and history (the hash chain, with each grant's receipt), their rights requests without anyone
else's data or the requests' secrets, and what a data system returned. Read through the
session; nothing is written. The access package (:mod:`.package`) is made of these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.extensions import db
from consent_service.policies.models import PolicyVersion, Purpose, PurposeVersion
from consent_service.receipts.models import ConsentReceipt
from consent_service.rights.models import RightsRequest
from consent_service.rights.timeline import timeline


@dataclass(frozen=True)
class SystemResult:
    """What one of the organization's data systems returned for the person: the system's
    name, the PI categories it holds (GB/T 35273 Annex A codes), its data (anything JSON can
    hold), and when it answered."""

    system: str
    categories: tuple[str, ...]
    data: Any
    answered_at: datetime


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def subject_record(subject: Subject) -> dict[str, Any]:
    """The person as this service knows them (including a guardian named for a child, PIPL 31)."""
    return {
        "id": subject.external_id,
        "email": subject.email,
        "phone": subject.phone,
        "birth_date": subject.birth_date.isoformat() if subject.birth_date else None,
        "is_under_14": subject.is_under_14,
        "guardian": {
            "name": subject.guardian_name,
            "relationship": subject.guardian_relationship,
            "contact": subject.guardian_contact,
        },
        "created_at": iso(subject.created_at),
        "updated_at": iso(subject.updated_at),
    }


def consent_history(subject: Subject) -> list[dict[str, Any]]:
    """Every consent event of the person, oldest first, with its place in the hash chain and,
    for a grant, the signed receipt (JWS) it was issued."""
    rows = db.session.execute(
        select(ConsentEvent, Purpose.code, PolicyVersion.label, ConsentReceipt)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(PolicyVersion, PolicyVersion.id == ConsentEvent.policy_version_id)
        .outerjoin(ConsentReceipt, ConsentReceipt.event_id == ConsentEvent.id)
        .where(ConsentEvent.subject_id == subject.id)
        .order_by(ConsentEvent.seq)
    )
    history = []
    for event, purpose_code, policy_label, receipt in rows:
        history.append(
            {
                "id": event.uuid,
                "seq": event.seq,
                "purpose": purpose_code,
                "purpose_version": event.purpose_version,
                "policy_version": policy_label,
                "action": event.action,
                "consent_type": event.consent_type,
                "actor": {
                    "kind": event.actor_kind,
                    "name": event.actor_name,
                    "relationship": event.actor_relationship,
                    "reason": event.actor_reason,
                },
                "method": event.method,
                "evidence": event.evidence or {},
                "is_subject_initiated": event.is_subject_initiated,
                "bundle_id": event.bundle_id,
                "occurred_at": iso(event.occurred_at),
                "recorded_at": iso(event.recorded_at),
                "expires_at": iso(event.expires_at),
                "prev_hash": event.prev_hash,
                "hash": event.hash,
                "receipt": (
                    {"id": receipt.receipt_id, "kid": receipt.kid, "jws": receipt.jws} if receipt else None
                ),
            }
        )
    return history


def consent_state(subject: Subject, history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The person's current consent per purpose: its status, the version and policy consented
    to, when it was last granted and withdrawn, when it lapses; and what the purpose processes
    and who receives it (PIPL 45: types, purpose, recipients)."""
    rows = db.session.execute(
        select(ConsentState, Purpose.code, PurposeVersion)
        .join(Purpose, Purpose.id == ConsentState.purpose_id)
        .join(
            PurposeVersion,
            (PurposeVersion.purpose_id == ConsentState.purpose_id)
            & (PurposeVersion.version == ConsentState.purpose_version),
        )
        .where(ConsentState.subject_id == subject.id)
        .order_by(Purpose.code)
    )
    by_event = {event["id"]: event for event in history}
    last: dict[tuple[str, str], str] = {}
    for event in history:  # oldest first: the latest of each kind wins
        last[(event["purpose"], event["action"])] = event["occurred_at"]
    states = []
    for state, code, version in rows:
        event = by_event.get(state.event_uuid, {})
        states.append(
            {
                "purpose": code,
                "name_zh": version.name_zh,
                "name_en": version.name_en,
                "purpose_version": state.purpose_version,
                "function_kind": version.function_kind,
                "legal_basis": version.legal_basis,
                "pi_categories": list(version.pi_categories or []),
                "is_sensitive": version.is_sensitive,
                "recipients": [r.get("name") for r in version.recipients or []],
                "cross_border_recipients": [
                    f"{r.get('name')} ({r.get('country')})" for r in version.cross_border_recipients or []
                ],
                "status": state.status,
                "consent_type": state.consent_type,
                "policy_version": event.get("policy_version"),
                "granted_at": last.get((code, "grant")),
                "withdrawn_at": last.get((code, "withdraw")),
                "changed_at": iso(state.occurred_at),
                "expires_at": iso(state.expires_at),
                "consent_event_id": state.event_uuid,
            }
        )
    return states


def request_records(subject: Subject, requests: Iterable[RightsRequest]) -> list[dict[str, Any]]:
    """The person's rights requests with their timelines. What identifies others or could be
    misused is left out: the requester's name, contact and proof, the details asked, identity
    codes, and who (which officer or client) did each step."""
    records = []
    for request in sorted(requests, key=lambda r: (r.received_at, r.public_id)):
        if request.subject_id != subject.id:
            raise ValueError("a package holds the requests of its own person only")
        records.append(
            {
                "id": request.public_id,
                "type": request.type,
                "regime": request.regime,
                "status": request.status,
                "channel": request.channel,
                "requester_kind": request.requester_kind,
                "received_at": iso(request.received_at),
                "identity_verified_at": iso(request.identity_verified_at),
                "due_at": iso(request.due_at),
                "extended_at": iso(request.extended_at),
                "closed_at": iso(request.closed_at),
                "refusal_ground": request.refusal_ground,
                "refusal_explanation": request.refusal_explanation,
                "complaint_channel": request.complaint_channel,
                "timeline": [
                    {
                        "seq": event.seq,
                        "at": iso(event.at),
                        "action": event.action,
                        "from_status": event.from_status,
                        "to_status": event.to_status,
                        "actor_kind": event.actor_kind,
                    }
                    for event in timeline(request)
                ],
            }
        )
    return records


def system_record(result: SystemResult) -> dict[str, Any]:
    """One system's answer as its file holds it."""
    return {
        "system": result.system,
        "categories": list(result.categories),
        "answered_at": iso(result.answered_at),
        "data": result.data,
    }
