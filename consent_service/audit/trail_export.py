"""Reading an organization's audit trail: filtered, a page at a time, and exported whole as
CSV or JSON Lines in constant memory (PIPL 54; GB/T 35273 11.7).

:func:`trail_filter` turns what an auditor asked for (actor kind, actor, action or action
prefix, a period of days in the organization's time zone) into a :class:`TrailFilter`, or an
:class:`~consent_service.errors.InvalidInput` naming each wrong field. :func:`trail_page` reads
one page, newest first, by ``seq`` (keyset paging). :func:`export_entries` streams every
matching entry, oldest first, from a server-side cursor, and :func:`csv_chunks` and
:func:`jsonl_chunks` write them: each row carries its ``hash`` and ``prev_hash``, and the fields
its hash covers, so the chain can be checked again from the file with
:func:`consent_service.audit.trail.entry_hash`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from consent_service.audit.models import AuditEntry
from consent_service.audit.trail import ACTOR_KINDS, COLUMNS
from consent_service.canonical import canonical_json
from consent_service.consent.hashing import iso_utc
from consent_service.database import snapshot_transaction
from consent_service.errors import InvalidInput
from consent_service.extensions import db

#: Entries on one page of the trail.
PAGE_SIZE = 100
#: The columns of an export, in the order of the CSV header: every field the hash covers, the
#: hash itself.
EXPORT_COLUMNS = COLUMNS
#: Rows the database cursor hands over at a time while exporting.
_BATCH = 1000
#: About how much CSV or JSON text is gathered before it is handed on.
_CHUNK_CHARS = 64 * 1024
_TABLE = AuditEntry.__table__


@dataclass(frozen=True)
class TrailFilter:
    """Which entries of a trail to read. ``action`` ending in ``:`` is a prefix (``console:``,
    ``api:``), otherwise an exact action; ``from_day`` and ``to_day`` are days in the
    organization's time zone, both included, and ``starts_at``/``ends_at`` the UTC bounds they
    make (``ends_at`` excluded)."""

    actor_kind: str | None = None
    actor: str | None = None
    action: str | None = None
    from_day: date | None = None
    to_day: date | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    before_seq: int | None = None

    def described(self) -> dict[str, Any]:
        """The filter as plain JSON (what an export's audit entry keeps), unset fields left out."""
        plain = {
            "actor_kind": self.actor_kind,
            "actor": self.actor,
            "action": self.action,
            "from": self.from_day.isoformat() if self.from_day else None,
            "to": self.to_day.isoformat() if self.to_day else None,
        }
        return {key: value for key, value in plain.items() if value is not None}

    def query(self) -> dict[str, str]:
        """The filter as the query string of the trail's pages (without ``before_seq``)."""
        return {key: str(value) for key, value in self.described().items()}


def _day(value: str, errors: dict[str, list[str]], field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = ["is not a date (YYYY-MM-DD)"]
        return None


def trail_filter(args: Mapping[str, str], timezone: str) -> TrailFilter:
    """The filter the query ``args`` ask for (``actor_kind``, ``actor``, ``action``, ``from``,
    ``to``, ``before_seq``; empty values ignored), the days read in ``timezone``.

    :class:`InvalidInput` names each wrong field: an unknown actor kind, a date that is not
    ``YYYY-MM-DD``, ``from`` after ``to``, a ``before_seq`` that is not a positive number.
    """
    errors: dict[str, list[str]] = {}
    actor_kind = (args.get("actor_kind") or "").strip() or None
    if actor_kind is not None and actor_kind not in ACTOR_KINDS:
        errors["actor_kind"] = [f"is not one of {', '.join(ACTOR_KINDS)}"]
    actor = (args.get("actor") or "").strip() or None
    action = (args.get("action") or "").strip() or None
    from_day = _day((args.get("from") or "").strip(), errors, "from")
    to_day = _day((args.get("to") or "").strip(), errors, "to")
    if from_day and to_day and from_day > to_day:
        errors["to"] = ["is before the first day"]
    before_seq = None
    raw_seq = (args.get("before_seq") or "").strip()
    if raw_seq:
        if raw_seq.isdigit() and int(raw_seq) > 0:
            before_seq = int(raw_seq)
        else:
            errors["before_seq"] = ["is not a positive number"]
    if errors:
        raise InvalidInput("invalid audit trail filter", errors)
    zone = ZoneInfo(timezone)
    starts_at = datetime.combine(from_day, time(), zone) if from_day else None
    ends_at = datetime.combine(to_day + timedelta(days=1), time(), zone) if to_day else None
    return TrailFilter(
        actor_kind, actor, action, from_day, to_day,
        starts_at.astimezone(UTC) if starts_at else None,
        ends_at.astimezone(UTC) if ends_at else None,
        before_seq,
    )  # fmt: skip


def _escaped_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _selected(org_id: int, chosen: TrailFilter) -> Select:
    """The entries of ``org_id``'s trail that ``chosen`` keeps (``before_seq`` included)."""
    table = _TABLE
    query = select(table).where(table.c.org_id == org_id)
    if chosen.actor_kind:
        query = query.where(table.c.actor_kind == chosen.actor_kind)
    if chosen.actor:
        query = query.where(table.c.actor == chosen.actor)
    if chosen.action:
        if chosen.action.endswith(":"):
            query = query.where(table.c.action.like(_escaped_prefix(chosen.action), escape="\\"))
        else:
            query = query.where(table.c.action == chosen.action)
    if chosen.starts_at:
        query = query.where(table.c.at >= chosen.starts_at)
    if chosen.ends_at:
        query = query.where(table.c.at < chosen.ends_at)
    if chosen.before_seq:
        query = query.where(table.c.seq < chosen.before_seq)
    return query


def trail_page(
    org_id: int, chosen: TrailFilter, size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the entries ``chosen`` keeps, newest first, and the ``before_seq`` of the
    next (older) page, or ``None`` on the last page."""
    rows = db.session.execute(_selected(org_id, chosen).order_by(_TABLE.c.seq.desc()).limit(size + 1))
    entries = [dict(row) for row in rows.mappings()]
    if len(entries) > size:
        return entries[:size], entries[size - 1]["seq"]
    return entries, None


def export_entries(org_id: int, chosen: TrailFilter) -> Iterator[dict[str, Any]]:
    """Every entry ``chosen`` keeps, oldest first (the chain's order), from a server-side
    cursor: the rows are fetched a batch at a time, never all held at once. The export reads
    one snapshot (on PostgreSQL a repeatable read; on SQLite a read transaction that takes no
    write lock). Run it inside the request (``stream_with_context``): it uses the session."""
    snapshot_transaction(db.session)
    result = db.session.execute(
        _selected(org_id, chosen)
        .order_by(_TABLE.c.seq)
        .execution_options(yield_per=_BATCH, stream_results=True)
    )
    try:
        for row in result.mappings():
            yield dict(row)
    finally:
        result.close()


def exported(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as an export writes it: its columns, the time as the hash reads it (ISO 8601,
    UTC, microseconds)."""
    return {name: iso_utc(entry[name]) if name == "at" else entry[name] for name in EXPORT_COLUMNS}


def jsonl_chunks(entries: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The entries as JSON Lines: one canonical JSON object per entry and line."""
    buffer: list[str] = []
    size = 0
    for entry in entries:
        line = canonical_json(exported(entry)).decode() + "\n"
        buffer.append(line)
        size += len(line)
        if size >= _CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def csv_chunks(entries: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The entries as CSV with a header row (:data:`EXPORT_COLUMNS`): the details as canonical
    JSON in one column, an empty cell for a missing value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for entry in entries:
        row = exported(entry)
        row["details"] = canonical_json(row["details"]).decode() if row["details"] is not None else None
        writer.writerow(["" if row[name] is None else row[name] for name in EXPORT_COLUMNS])
        if buffer.tell() >= _CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if buffer.tell():
        yield buffer.getvalue()


def entry_from_csv(row: Mapping[str, str]) -> dict[str, Any]:
    """An entry read back from a row of :func:`csv_chunks` (for checking its hash again)."""
    entry: dict[str, Any] = {name: (row[name] or None) for name in EXPORT_COLUMNS}
    entry["org_id"] = int(row["org_id"]) if row["org_id"] else None
    entry["seq"] = int(row["seq"])
    entry["at"] = datetime.fromisoformat(row["at"])
    entry["details"] = json.loads(row["details"]) if row["details"] else None
    return entry
