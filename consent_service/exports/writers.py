"""An export's rows as a file: CSV with a header row, or JSON Lines, a chunk at a time.

The rows arrive as the database wrote them (:mod:`~consent_service.exports.rows`): times as
ISO 8601 UTC text with microseconds, flags as ``true``/``false``, a missing value as ``NULL``.
CSV copies them out unchanged, one line per row ended by ``\\n``, a missing value an empty
cell; JSON Lines writes one object per row with the flags as JSON booleans and a missing
value ``null``. Each writer yields about :data:`CHUNK_CHARS` at a time, so that the file (or a
response) is written as the rows arrive and memory holds one batch and one chunk.

On PostgreSQL the CSV is written by the database itself (``COPY (…) TO STDOUT``, the same
statement, streamed by :func:`copied_csv`), and on SQLite each line is made by the statement
(:func:`sql_csv`): the same bytes as the writer's, at the speed of the database, with no row
built in Python. Both quote a value with a carriage return, which ``csv.writer`` (its line end
``\n``) leaves bare: it writes the CSV only where neither can (a connection shared with other
statements, as in tests).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from consent_service.exports.rows import (
    Kind,
    csv_line_statement,
    driver_batches,
    driver_statement,
    stream_batches,
)

#: About how much text (or how many bytes) is gathered before it is handed on.
CHUNK_CHARS = 256 * 1024
#: The formats, each with its file name's extension and media type.
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
_JSON_FLAGS = {"true": True, "false": False, None: None}

Batches = Iterable[Sequence[Sequence[Any]]]


@dataclass
class Tally:
    """Rows written so far, counted by the writer as it goes."""

    rows: int = 0


def csv_chunks(kind: Kind, batches: Batches, tally: Tally | None = None) -> Iterator[str]:
    """The rows as CSV: the header (:attr:`Kind.columns`), then one line per row."""
    tally = tally if tally is not None else Tally()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(kind.columns)
    for batch in batches:
        writer.writerows(batch)
        tally.rows += len(batch)
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if buffer.tell():
        yield buffer.getvalue()


def jsonl_chunks(kind: Kind, batches: Batches, tally: Tally | None = None) -> Iterator[str]:
    """The rows as JSON Lines: one object per row, its keys the kind's columns, in order."""
    tally = tally if tally is not None else Tally()
    columns, flags = kind.columns, kind.flags
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def line(row: Sequence[Any]) -> str:
        values = list(row)
        for position in flags:
            values[position] = _JSON_FLAGS[values[position]]
        return dumps(dict(zip(columns, values, strict=True)))

    parts: list[str] = []
    size = 0
    for batch in batches:
        tally.rows += len(batch)
        text = "\n".join([line(row) for row in batch])
        if not text:
            continue
        parts.append(text + "\n")
        size += len(text) + 1
        if size >= CHUNK_CHARS:
            yield "".join(parts)
            parts, size = [], 0
    if parts:
        yield "".join(parts)


def chunks(file_format: str, kind: Kind, batches: Batches, tally: Tally | None = None) -> Iterator[str]:
    """The rows in ``file_format`` (``csv`` or ``jsonl``)."""
    writer = csv_chunks if file_format == "csv" else jsonl_chunks
    return writer(kind, batches, tally)


def copied_csv(
    connection: Connection, kind: Kind, org_id: int, starts_at: datetime, ends_at: datetime, tally: Tally
) -> Iterator[bytes]:
    """The CSV of :func:`csv_chunks`, written by PostgreSQL (``COPY … TO STDOUT``, ``FORMAT
    csv``, its header the statement's labels) in the transaction of ``connection``. The server
    sends a row per message; they are gathered into chunks of about :data:`CHUNK_CHARS` bytes.
    (One difference: an empty text, which none of the columns holds, would be ``""``.)"""
    sql, params = driver_statement(connection, kind.statement(org_id, starts_at, ends_at))
    driver = connection.connection.driver_connection
    buffer = bytearray()
    messages = 0
    cursor = driver.cursor()
    with cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)", params) as copy:
        for data in copy:  # the header, then a row per message
            buffer += data
            messages += 1
            if len(buffer) >= CHUNK_CHARS:
                tally.rows = messages - 1
                yield bytes(buffer)
                buffer.clear()
    # The server's own count once it is done (the messages, less the header, while it runs).
    tally.rows = cursor.rowcount if cursor.rowcount >= 0 else max(messages - 1, 0)
    if buffer:
        yield bytes(buffer)


def sql_csv(
    connection: Connection, kind: Kind, org_id: int, starts_at: datetime, ends_at: datetime, tally: Tally
) -> Iterator[bytes]:
    """The CSV of :func:`csv_chunks`, its lines made by SQLite (:func:`csv_line_statement`)
    and read through the driver's cursor a batch at a time, joined here with their line ends."""
    statement = csv_line_statement(kind, org_id, starts_at, ends_at)
    parts, size = [",".join(kind.columns) + "\n"], 0
    for rows in driver_batches(connection, statement, f"lines_{kind.code}"):
        text = "\n".join([row[0] for row in rows]) + "\n"
        tally.rows += len(rows)
        parts.append(text)
        size += len(text)
        if size >= CHUNK_CHARS:
            yield "".join(parts).encode()
            parts, size = [], 0
    if parts:
        yield "".join(parts).encode()


def export_bytes(
    connection: Connection,
    kind: Kind,
    file_format: str,
    org_id: int,
    starts_at: datetime,
    ends_at: datetime,
    tally: Tally,
    may_copy: bool = True,
) -> Iterator[bytes]:
    """The export's file as UTF-8 chunks, rows counted in ``tally``: CSV on PostgreSQL by
    :func:`copied_csv` (unless not ``may_copy``: the connection is wanted for other statements
    between two chunks, which a ``COPY`` under way refuses), everything else from
    :func:`stream_batches` through a writer."""
    if file_format == "csv" and may_copy and connection.dialect.name == "postgresql":
        yield from copied_csv(connection, kind, org_id, starts_at, ends_at, tally)
        return
    if file_format == "csv" and connection.dialect.name == "sqlite":
        yield from sql_csv(connection, kind, org_id, starts_at, ends_at, tally)
        return
    batches = stream_batches(connection, kind, org_id, starts_at, ends_at)
    for chunk in chunks(file_format, kind, batches, tally):
        yield chunk.encode()
