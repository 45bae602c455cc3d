"""The compliance report of a period written whole: the summary pages, counted in SQL, and the
period's full data attached (PIPL 54; GB/T 35273 11.7).

An auditor who reads "40,112 consents given to marketing" can count them: the PDF carries every
consent event and every rights request of the period as ``consent_events.csv`` and
``rights_requests.csv``, the exports' own files (:mod:`consent_service.exports.rows`). Both
the figures and the files are read on one snapshot of the database, so they agree. The files
are streamed from the database into compressed files on disk (on PostgreSQL, written by
``COPY``), their SHA-256 and rows counted on the way; the summary is drawn, signed over the
files' digests too, and the files are appended to the PDF (:mod:`consent_service.pdf.appended`).
Memory holds a chunk of a file, never the file: a million events take seconds, not gigabytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.engine import Connection

from consent_service.exports.rows import KINDS
from consent_service.exports.service import reading_connection
from consent_service.exports.writers import Tally, export_bytes
from consent_service.organizations.models import Organization
from consent_service.pdf.appended import DeflatedFile, Packed
from consent_service.records import compliance_records
from consent_service.records.consent_records import generated_text
from consent_service.records.document import write_record
from consent_service.records.report import compliance_report

#: The exports attached, in order.
ATTACHED = ("consent_events", "rights_requests")
#: Chunks written between two progress reports.
PROGRESS_EVERY = 16


def write_report(
    org: Organization,
    start: datetime,
    end: datetime,
    now: datetime,
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
    work_folder: Path | None = None,
) -> int:
    """Write the signed compliance report of ``[start, end)`` as of ``now`` to ``out``, with
    the period's consent events and rights requests attached; ``progress(rows)`` is called as
    the files fill. The compressed files wait in ``work_folder`` (default: the system's
    temporary folder) and are deleted once appended. Returns the rows attached."""
    report = progress or (lambda _rows: None)
    packed: list[Packed] = []
    attached: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="report-", dir=work_folder) as folder:
        with reading_connection() as (connection, shared):
            data = compliance_report(org, start, end, now, connection)
            for code in ATTACHED:
                before = sum(f["rows"] for f in attached)
                file, rows = _attach(connection, code, org.id, (start, end), Path(folder), not shared,
                                     lambda n, before=before: report(before + n))  # fmt: skip
                packed.append(file)
                attached.append({"file": file.name, "rows": rows, "bytes": file.size, "sha256": file.sha256})
        record = compliance_records.report(org, {**data, "attached": attached})
        generated = generated_text(org, now)
        write_record(record, now, compliance_records.REPORT_TITLE, generated, packed, out)
    return sum(f["rows"] for f in attached)


def _attach(
    connection: Connection,
    code: str,
    org_id: int,
    period: tuple[datetime, datetime],
    folder: Path,
    may_copy: bool,
    progress: Callable[[int], None],
) -> tuple[Packed, int]:
    """The export ``code`` of the period as CSV, compressed into ``folder``; and its rows."""
    deflated = DeflatedFile(folder / f"{code}.csv.deflate", f"{code}.csv", "text/csv")
    tally = Tally()
    chunks = export_bytes(connection, KINDS[code], "csv", org_id, *period, tally, may_copy=may_copy)
    try:
        for count, chunk in enumerate(chunks, 1):
            deflated.write(chunk)
            if count % PROGRESS_EVERY == 0:
                progress(tally.rows)
    except BaseException:
        deflated.discard()
        raise
    progress(tally.rows)
    return deflated.close(), tally.rows
