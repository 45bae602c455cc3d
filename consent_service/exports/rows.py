"""What an export holds, as plain rows read from a server-side cursor.

Each kind names its columns once (the CSV header and the JSON Lines keys) and the one Core
statement that selects them for an organization and a period, joins done in SQL. Only
identifiers, codes, flags and times are selected: no evidence (address, user agent), no names,
no contact, no request details (GB/T 35273 6.1: an export carries no more than it needs).
:func:`stream_rows` hands the rows over as tuples, a batch at a time, never all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Select, and_, case, false, or_, select, true, type_coerce
from sqlalchemy.engine import Connection

from consent_service.clock import day_bounds
from consent_service.consent.models import ConsentEvent, Subject
from consent_service.errors import InvalidInput
from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.receipts.models import ConsentReceipt
from consent_service.rights.models import RightsRequest

#: Rows the database cursor hands over at a time.
BATCH = 2000


@dataclass(frozen=True)
class Period:
    """Days in the organization's time zone, both included, and the UTC bounds they make
    (``ends_at`` excluded)."""

    from_day: date
    to_day: date
    starts_at: datetime
    ends_at: datetime

    def described(self) -> dict[str, str]:
        """The period as plain JSON (what an audit entry keeps)."""
        return {"from": self.from_day.isoformat(), "to": self.to_day.isoformat()}


def _day(value: str, errors: dict[str, list[str]], field: str) -> date | None:
    if not value:
        errors[field] = ["is required"]
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = ["is not a date (YYYY-MM-DD)"]
        return None


def period_bounds(from_day: date, to_day: date, timezone: str) -> Period:
    """The UTC bounds of the days ``from_day`` to ``to_day`` in ``timezone``."""
    starts_at, ends_at = day_bounds(from_day, to_day, timezone)
    return Period(from_day, to_day, starts_at, ends_at)


def export_period(args: Mapping[str, str], timezone: str) -> Period:
    """The period ``args`` ask for (``from`` and ``to``, days ``YYYY-MM-DD``), read in
    ``timezone``; :class:`InvalidInput` names each wrong field (missing, not a date, ``to``
    before ``from``)."""
    errors: dict[str, list[str]] = {}
    from_day = _day((args.get("from") or "").strip(), errors, "from")
    to_day = _day((args.get("to") or "").strip(), errors, "to")
    if from_day and to_day and from_day > to_day:
        errors["to"] = ["is before the first day"]
    if errors or from_day is None or to_day is None:
        raise InvalidInput("invalid export period", errors)
    return period_bounds(from_day, to_day, timezone)


def _utc(column):
    """A time column as the stored naive UTC value: the writers mark it UTC themselves, which
    spares a conversion per value."""
    return type_coerce(column, DateTime())


def _consent_events(org_id: int, starts_at: datetime, ends_at: datetime) -> Select:
    """The organization's consent acts that occurred in the period, in the order they occurred
    (the order of ``ix_consent_event_org_occurred``: no sort before the first row)."""
    event, subject, purpose = ConsentEvent.__table__, Subject.__table__, Purpose.__table__
    policy, receipt = PolicyVersion.__table__, ConsentReceipt.__table__
    guardian = or_(
        event.c.actor_kind == "guardian",
        and_(event.c.actor_kind == "officer", event.c.actor_relationship.is_not(None),
             event.c.actor_relationship != ""),
    )  # fmt: skip
    return (
        select(
            event.c.uuid,
            subject.c.external_id,
            event.c.seq,
            purpose.c.code,
            event.c.purpose_version,
            event.c.action,
            event.c.consent_type,
            event.c.method,
            policy.c.label,
            _utc(event.c.occurred_at),
            _utc(event.c.recorded_at),
            event.c.actor_kind,
            type_coerce(case((guardian, true()), else_=false()), Boolean()),
            receipt.c.receipt_id,
            event.c.hash,
            event.c.prev_hash,
        )  # fmt: skip
        .select_from(event)
        .join(subject, subject.c.id == event.c.subject_id)
        .join(purpose, purpose.c.id == event.c.purpose_id)
        .outerjoin(policy, policy.c.id == event.c.policy_version_id)
        .outerjoin(receipt, receipt.c.event_id == event.c.id)
        .where(event.c.org_id == org_id, event.c.occurred_at >= starts_at, event.c.occurred_at < ends_at)
        .order_by(event.c.occurred_at, event.c.id)
    )


def _rights_requests(org_id: int, starts_at: datetime, ends_at: datetime) -> Select:
    """The organization's rights requests received in the period, oldest first."""
    req = RightsRequest.__table__
    on_time = case(
        (req.c.closed_at.is_(None), None),
        (or_(req.c.due_at.is_(None), req.c.closed_at <= req.c.due_at), true()),
        else_=false(),
    )
    return (
        select(
            req.c.public_id,
            req.c.type,
            req.c.regime,
            req.c.status,
            req.c.channel,
            req.c.requester_kind,
            _utc(req.c.received_at),
            _utc(req.c.clock_started_at),
            _utc(req.c.due_at),
            _utc(req.c.closed_at),
            req.c.provisional,
            type_coerce(req.c.extended_at.is_not(None), Boolean()),
            req.c.paused_days,
            type_coerce(on_time, Boolean()),
            req.c.refusal_ground,
        )  # fmt: skip
        .where(req.c.org_id == org_id, req.c.received_at >= starts_at, req.c.received_at < ends_at)
        .order_by(req.c.received_at, req.c.id)
    )


@dataclass(frozen=True)
class Kind:
    """One kind of export: its columns, which of them are times and which flags (by
    position), and the statement that selects them."""

    code: str
    columns: tuple[str, ...]
    times: tuple[int, ...]
    flags: tuple[int, ...]
    statement: Callable[[int, datetime, datetime], Select]


CONSENT_EVENTS = Kind(
    "consent_events",
    (
        "event_uuid",
        "subject_external_id",
        "seq",
        "purpose_code",
        "purpose_version",
        "action",
        "consent_type",
        "method",
        "policy_version",
        "occurred_at",
        "recorded_at",
        "actor_kind",
        "is_guardian_act",
        "receipt_id",
        "hash",
        "prev_hash",
    ),  # fmt: skip
    times=(9, 10),
    flags=(12,),
    statement=_consent_events,
)
RIGHTS_REQUESTS = Kind(
    "rights_requests",
    (
        "request_id",
        "type",
        "regime",
        "status",
        "channel",
        "requester_kind",
        "received_at",
        "clock_started_at",
        "due_at",
        "closed_at",
        "is_provisional",
        "is_extended",
        "paused_days",
        "is_on_time",
        "refusal_ground",
    ),  # fmt: skip
    times=(6, 7, 8, 9),
    flags=(10, 11, 13),
    statement=_rights_requests,
)
#: Every kind, by code.
KINDS = {kind.code: kind for kind in (CONSENT_EVENTS, RIGHTS_REQUESTS)}


def stream_batches(
    connection: Connection,
    kind: Kind,
    org_id: int,
    starts_at: datetime,
    ends_at: datetime,
    batch: int = BATCH,
) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows of ``kind`` for ``org_id`` and the period, from a server-side cursor on
    ``connection``, as batches of at most ``batch`` tuple-like rows: only one batch is held
    at a time."""  # fmt: skip
    result = connection.execute(
        kind.statement(org_id, starts_at, ends_at).execution_options(yield_per=batch, stream_results=True)
    )
    try:
        yield from result.partitions()
    finally:
        result.close()
