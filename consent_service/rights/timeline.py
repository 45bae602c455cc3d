"""The record of a rights request: every step, with its actor, time and note (append-only),
moved by the transition table; and what the request's webhooks say."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from consent_service import changes
from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.rights.models import RightsRequest, RightsRequestEvent
from consent_service.rights.workflow import next_status


@dataclass(frozen=True)
class Actor:
    """Who does a step: the person, an API client, an officer, or the system (the scheduler)."""

    kind: str
    name: str | None = None


SYSTEM = Actor("system", "scheduler")


def record(
    request: RightsRequest,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: Actor,
    note: str | None,
    now: datetime,
    *,
    flush: bool = True,
) -> None:
    """Append the event (flushed, unless the caller flushes a batch of them itself)."""
    request.event_count += 1
    request.updated_at = now
    db.session.add(
        RightsRequestEvent(
            request_id=request.id,
            seq=request.event_count,
            at=now,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor_kind=actor.kind,
            actor=actor.name,
            note=note,
        )
    )
    if flush:
        db.session.flush()


def step(
    request: RightsRequest, action: str, actor: Actor, note: str | None, now: datetime, *, flush: bool = True
) -> None:
    """Move ``request`` by ``action`` (the transition table decides) and record the event."""
    before = request.status
    request.status = next_status(action, before)
    record(request, action, before, request.status, actor, note, now, flush=flush)
    if request.status != before:
        changes.note(f"rights_request:{request.public_id}", {"status": before}, {"status": request.status})


def timeline(request: RightsRequest) -> list[RightsRequestEvent]:
    """Every step of the request, oldest first."""
    return list(
        db.session.scalars(
            select(RightsRequestEvent)
            .where(RightsRequestEvent.request_id == request.id)
            .order_by(RightsRequestEvent.seq)
        )
    )


def webhook_data(request: RightsRequest, subject: Subject) -> dict[str, Any]:
    """What a ``rights.request.*`` webhook says: identifiers, type, status and dates only."""
    return {
        "id": request.public_id,
        "subject": subject.external_id,
        "type": request.type,
        "status": request.status,
        "due_at": request.due_at.isoformat() if request.due_at else None,
        "provisional": request.provisional,
    }
