"""An export's rows as text: CSV with a header row, or JSON Lines, a chunk at a time.

The writers take the batches of :func:`~consent_service.exports.rows.stream_batches` and
yield text of about :data:`CHUNK_CHARS` characters, so that the file (or a response) is
written as the rows arrive and memory holds one batch and one chunk. Times are UTC, written
as ISO 8601 with ``+00:00``; flags are ``true``/``false`` (CSV) or JSON booleans; a missing
value is an empty cell or ``null``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from consent_service.exports.rows import Kind

#: About how much text is gathered before it is handed on.
CHUNK_CHARS = 256 * 1024
#: The formats, each with its file name's extension and media type.
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
_UTC = "+00:00"
_CSV_FLAGS = {True: "true", False: "false", None: None}

Batches = Iterable[Sequence[Sequence[Any]]]


def _converter(kind: Kind, flags: dict | None) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """What turns one row of ``kind`` into the values written: times as text, flags through
    ``flags`` (``None``: left as booleans). The positions are fixed per kind, so the work per
    row is a copy and a few item assignments."""
    times = kind.times
    flag_positions = kind.flags if flags is not None else ()

    def convert(row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for position in times:
            value = values[position]
            if value is not None:
                values[position] = value.isoformat() + _UTC
        for position in flag_positions:
            values[position] = flags[values[position]]  # type: ignore[index]
        return values

    return convert


def csv_chunks(kind: Kind, batches: Batches) -> Iterator[str]:
    """The rows as CSV: the header (:attr:`Kind.columns`), then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(kind.columns)
    convert = _converter(kind, _CSV_FLAGS)
    for batch in batches:
        writer.writerows(map(convert, batch))
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
    if buffer.tell():
        yield buffer.getvalue()


def jsonl_chunks(kind: Kind, batches: Batches) -> Iterator[str]:
    """The rows as JSON Lines: one object per row, its keys the kind's columns, in order."""
    columns = kind.columns
    convert = _converter(kind, None)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    parts: list[str] = []
    size = 0
    for batch in batches:
        text = "\n".join([dumps(dict(zip(columns, convert(row), strict=True))) for row in batch])
        if not text:
            continue
        parts.append(text + "\n")
        size += len(text) + 1
        if size >= CHUNK_CHARS:
            yield "".join(parts)
            parts, size = [], 0
    if parts:
        yield "".join(parts)


def chunks(file_format: str, kind: Kind, batches: Batches) -> Iterator[str]:
    """The rows in ``file_format`` (``csv`` or ``jsonl``)."""
    return csv_chunks(kind, batches) if file_format == "csv" else jsonl_chunks(kind, batches)
