"""What an export holds, as plain rows read from a server-side cursor.

Each kind names its columns once (the CSV header and the JSON Lines keys) and the one Core
statement that selects them for an organization and a period, joins done in SQL. Only
identifiers, codes, flags and times are selected: no evidence (address, user agent), no names,
no contact, no request details (GB/T 35273 6.1: an export carries no more than it needs).
The database writes every value as the file shows it (times as ISO 8601 text, flags as
``true``/``false``), so :func:`stream_batches` hands the driver's own tuples over, a batch at
a time, never all at once, and the CSV writer copies them out unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Label,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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


class iso_time(FunctionElement):
    """A stored (naive UTC) time as ISO 8601 text with microseconds and ``+00:00``, made by the
    database, so that no ``datetime`` is built per value: ``2026-11-02T08:00:00.000000+00:00``.
    ``NULL`` stays ``NULL``."""

    type = String()
    name = "iso_time"
    inherit_cache = True


@compiles(iso_time)
def _iso_time_sqlite(element, compiler, **kw) -> str:
    # SQLite keeps times as text, 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's storage format).
    return f"replace({compiler.process(element.clauses, **kw)}, ' ', 'T') || '+00:00'"


@compiles(iso_time, "postgresql")
def _iso_time_postgresql(element, compiler, **kw) -> str:
    return f"""to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


_TRUE, _FALSE = literal_column("'true'"), literal_column("'false'")


def _flag(condition):
    """A condition as the text ``true`` or ``false`` (``NULL`` when it is unknown), as the CSV
    writes it; the JSON Lines writer turns it back into a boolean."""
    return case((condition, _TRUE), (not_(condition), _FALSE), else_=null())


def _labelled(columns: tuple[str, ...], values: list) -> Select:
    """``values`` selected under the names ``columns`` (the CSV header, also in ``COPY``)."""
    return select(*(value.label(name) for name, value in zip(columns, values, strict=True)))


CONSENT_EVENT_COLUMNS = (
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
)  # fmt: skip
RIGHTS_REQUEST_COLUMNS = (
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
)  # fmt: skip


def _consent_events(org_id: int, starts_at: datetime, ends_at: datetime) -> Select:
    """The organization's consent acts that occurred in the period, in the order they occurred
    (the order of ``ix_consent_event_org_occurred``: no sort before the first row on SQLite)."""
    event, subject, purpose = ConsentEvent.__table__, Subject.__table__, Purpose.__table__
    policy, receipt = PolicyVersion.__table__, ConsentReceipt.__table__
    guardian = or_(
        event.c.actor_kind == "guardian",
        and_(event.c.actor_kind == "officer", event.c.actor_relationship.is_not(None),
             event.c.actor_relationship != ""),
    )  # fmt: skip
    values = [
        event.c.uuid,
        subject.c.external_id,
        event.c.seq,
        purpose.c.code,
        event.c.purpose_version,
        event.c.action,
        event.c.consent_type,
        event.c.method,
        policy.c.label,
        iso_time(event.c.occurred_at),
        iso_time(event.c.recorded_at),
        event.c.actor_kind,
        _flag(guardian),
        receipt.c.receipt_id,
        event.c.hash,
        event.c.prev_hash,
    ]  # fmt: skip
    return (
        _labelled(CONSENT_EVENT_COLUMNS, values)
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
        (req.c.closed_at.is_(None), null()),
        (or_(req.c.due_at.is_(None), req.c.closed_at <= req.c.due_at), _TRUE),
        else_=_FALSE,
    )
    values = [
        req.c.public_id,
        req.c.type,
        req.c.regime,
        req.c.status,
        req.c.channel,
        req.c.requester_kind,
        iso_time(req.c.received_at),
        iso_time(req.c.clock_started_at),
        iso_time(req.c.due_at),
        iso_time(req.c.closed_at),
        _flag(req.c.provisional == true()),
        _flag(req.c.extended_at.is_not(None)),
        req.c.paused_days,
        on_time,
        req.c.refusal_ground,
    ]  # fmt: skip
    return (
        _labelled(RIGHTS_REQUEST_COLUMNS, values)
        .where(req.c.org_id == org_id, req.c.received_at >= starts_at, req.c.received_at < ends_at)
        .order_by(req.c.received_at, req.c.id)
    )


@dataclass(frozen=True)
class Kind:
    """One kind of export: its columns, which of them are flags (by position: ``true``,
    ``false`` or empty, as the database writes them), and the statement that selects them."""

    code: str
    columns: tuple[str, ...]
    flags: tuple[int, ...]
    statement: Callable[[int, datetime, datetime], Select]


CONSENT_EVENTS = Kind("consent_events", CONSENT_EVENT_COLUMNS, flags=(12,), statement=_consent_events)
RIGHTS_REQUESTS = Kind(
    "rights_requests", RIGHTS_REQUEST_COLUMNS, flags=(10, 11, 13), statement=_rights_requests
)
#: Every kind, by code.
KINDS = {kind.code: kind for kind in (CONSENT_EVENTS, RIGHTS_REQUESTS)}


#: A value SQLite's ``GLOB`` finds a comma, a quote or a line break in: a cell to quote.
_NEEDS_QUOTES = literal_column("'*[,\"\n\r]*'")  # the line breaks themselves, inside the literal
_COMMA, _QUOTE, _QUOTES, _EMPTY = (literal_column(text) for text in ("','", "'\"'", "'\"\"'", "''"))


def _cell(value: ColumnElement, safe: bool) -> ColumnElement:
    """``value`` as its CSV cell (RFC 4180): empty for ``NULL``; a text with a comma, a quote or
    a line break (CR or LF) quoted, its quotes doubled; ``safe`` values (times, flags,
    numbers) as they are."""
    text = value if isinstance(value.type, String) else cast(value, String)
    if safe:
        return func.ifnull(text, _EMPTY)
    quoted = _QUOTE.concat(func.replace(text, _QUOTE, _QUOTES)).concat(_QUOTE)
    return case((text.op("GLOB")(_NEEDS_QUOTES), quoted), else_=func.ifnull(text, _EMPTY))


def csv_line_statement(kind: Kind, org_id: int, starts_at: datetime, ends_at: datetime) -> Select:
    """SQLite's statement of ``kind`` with each row's CSV line made by the database (one text
    column, no line end): the cells of :func:`_cell` joined by commas, so that Python hands
    over one string a row instead of building it. PostgreSQL has ``COPY`` for this."""
    statement = kind.statement(org_id, starts_at, ends_at)
    cells = []
    for position, column in enumerate(statement.selected_columns):
        value = column.element if isinstance(column, Label) else column
        safe = isinstance(value, iso_time) or position in kind.flags or isinstance(value.type, Integer)
        cells.append(_cell(value, safe))
    line = reduce(lambda left, right: left.concat(_COMMA).concat(right), cells)
    return statement.with_only_columns(line.label("line"))


def driver_statement(connection: Connection, statement: Select) -> tuple[str, Any]:
    """``statement`` as the driver's SQL and its parameters (a tuple for SQLite's ``?``, a
    mapping for psycopg's ``%(name)s``), each value through its type's bind processing (a time
    to its stored form), for reading through the driver's own cursor."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    params = {}
    for name, value in compiled.construct_params().items():
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        params[name] = processor(value) if processor is not None else value
    if compiled.positional:
        return compiled.string, tuple(params[name] for name in compiled.positiontup or ())
    return compiled.string, params


def stream_batches(
    connection: Connection,
    kind: Kind,
    org_id: int,
    starts_at: datetime,
    ends_at: datetime,
    batch: int = BATCH,
) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows of ``kind`` for ``org_id`` and the period, in the transaction of ``connection``,
    as batches of at most ``batch`` plain tuples: only one batch is held at a time.

    The rows come from the driver's cursor (a server-side one on PostgreSQL), as the database
    wrote them: the statement already made every value text or a number, so no result
    processing is wanted, and none is paid for (about half the time of a row)."""
    statement = kind.statement(org_id, starts_at, ends_at)
    return driver_batches(connection, statement, f"export_{kind.code}", batch)


def driver_batches(
    connection: Connection, statement: Select, name: str, batch: int = BATCH
) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows of ``statement`` from the driver's own cursor (on PostgreSQL a server-side one
    called ``name``), in the transaction of ``connection``, as batches of at most ``batch``."""
    sql, params = driver_statement(connection, statement)
    driver = connection.connection.driver_connection
    is_postgres = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name=name) if is_postgres else driver.cursor()
    try:
        if is_postgres:
            cursor.itersize = batch
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()
