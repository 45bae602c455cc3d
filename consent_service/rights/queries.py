"""Reading rights requests: one by its public id, and the organization's queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from consent_service.errors import NotFound
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.rights.models import RightsRequest


def get_request(org: Organization, public_id: str) -> RightsRequest:
    """The request ``public_id`` of ``org``; :class:`NotFound` otherwise."""
    request = db.session.scalars(
        select(RightsRequest).where(RightsRequest.org_id == org.id, RightsRequest.public_id == public_id)
    ).first()
    if request is None:
        raise NotFound(f"no rights request {public_id!r}")
    return request


def list_requests(
    org: Organization,
    now: datetime,
    *,
    status: str | None = None,
    request_type: str | None = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    at_risk: bool | None = None,
    cursor: int | None = None,
    limit: int = 50,
) -> tuple[list[RightsRequest], str | None]:
    """The organization's requests, soonest due first (those without a due date last), with a
    cursor for the next page."""
    query = select(RightsRequest).where(RightsRequest.org_id == org.id)
    if status is not None:
        query = query.where(RightsRequest.status == status)
    if request_type is not None:
        query = query.where(RightsRequest.type == request_type)
    if due_before is not None:
        query = query.where(RightsRequest.due_at < due_before)
    if overdue is not None:
        query = query.where(RightsRequest.overdue.is_(overdue))
    if at_risk is not None:
        query = query.where(RightsRequest.at_risk.is_(at_risk))
    if cursor is not None:
        query = query.where(RightsRequest.id > cursor)
    rows = list(db.session.scalars(query.order_by(RightsRequest.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    rows.sort(key=lambda r: (r.due_at is None, r.due_at or now, r.id))
    return rows, (str(max(r.id for r in rows)) if more else None)
