"""Export jobs: asked for in the console, claimed and written by the scheduler, kept for a
while, then deleted (GB/T 35273 6.1: a copy of the records is kept no longer than it serves).

:func:`request_export` checks what was asked and queues an :class:`ExportJob`.
:func:`claim_next` takes the oldest queued job through the database (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, SQLite's write lock elsewhere), so two schedulers never run one job.
:func:`write_export` writes the file from a server-side cursor on a connection of its own, so
the progress it reports (:func:`record_progress`) can be committed while it reads;
:func:`finish` and :func:`fail` end the job. :func:`purge_expired` deletes the files whose time
is up, and :func:`fail_abandoned` ends the jobs left ``running`` by a worker that stopped.
Besides the rows of one kind, a job may be the compliance report of a period (:data:`REPORT`),
a PDF the :class:`ReportWriter` writes, which the records package provides. Nothing here
commits: the jobs (``exports.jobs``) and the console do.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from consent_service.database import SQLITE_BEGIN, skipping_locked
from consent_service.errors import InvalidInput, NotFound
from consent_service.exports.models import ExportJob
from consent_service.exports.rows import KINDS, Period
from consent_service.exports.writers import FORMATS, Tally, export_bytes
from consent_service.extensions import db
from consent_service.ids import uuid7
from consent_service.organizations.models import Organization
from consent_service.services import lookup

log = logging.getLogger(__name__)

#: Chunks written between two progress reports.
PROGRESS_EVERY = 8
#: How many of an organization's exports the console lists.
LISTED = 50


#: The kind of export that is the compliance report (a PDF with the period's data attached),
#: written by the :class:`ReportWriter` the application provides.
REPORT = "compliance_report"
#: Each format's media type.
MEDIA_TYPES = {**FORMATS, "pdf": "application/pdf"}


class ReportWriter(Protocol):
    """Writes the signed compliance report of an organization for a period (the records
    package provides it: it stands above this one)."""

    def __call__(
        self,
        org: Organization,
        start: datetime,
        end: datetime,
        now: datetime,
        out: BinaryIO,
        progress: Callable[[int], None] | None = None,
        work_folder: Path | None = None,
    ) -> int:
        """Write the report of ``[start, end)`` as of ``now`` to ``out``, calling
        ``progress(rows)`` as its data is read, temporary files in ``work_folder``; the rows."""
        ...


class ExportFailed(Exception):
    """An export could not be written; ``reason`` is a fixed code, all the job keeps."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Written:
    """What :func:`write_export` wrote: rows, bytes and the file's SHA-256."""

    rows: int
    size_bytes: int
    sha256: str


def export_folder() -> Path:
    """Where export files are written (``EXPORT_FOLDER``; unset: the instance folder's
    ``exports/``)."""
    configured = current_app.config.get("EXPORT_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "exports"


def request_export(
    org: Organization, kind: str, file_format: str, period: Period, requested_by: int | None, now: datetime
) -> ExportJob:
    """Queue an export of ``org``'s records of ``kind`` in ``file_format`` for ``period``.
    :class:`InvalidInput` names an unknown kind or format."""
    errors: dict[str, list[str]] = {}
    if kind not in (*KINDS, REPORT):
        errors["kind"] = [f"is not one of {', '.join([*KINDS, REPORT])}"]
    formats = ("pdf",) if kind == REPORT else tuple(FORMATS)
    if file_format not in formats:
        errors["format"] = [f"is not one of {', '.join(formats)}"]
    if errors:
        raise InvalidInput("invalid export", errors)
    job = ExportJob(
        public_id="ex_" + uuid7().replace("-", "")[:24],
        org_id=org.id,
        kind=kind,
        format=file_format,
        from_day=period.from_day,
        to_day=period.to_day,
        starts_at=period.starts_at,
        ends_at=period.ends_at,
        requested_by=requested_by,
        status="queued",
        rows_written=0,
        created_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


def list_exports(org: Organization, limit: int = LISTED) -> list[ExportJob]:
    """The organization's newest exports."""
    query = select(ExportJob).where(ExportJob.org_id == org.id)
    newest = query.order_by(ExportJob.created_at.desc(), ExportJob.id.desc()).limit(limit)
    return list(db.session.scalars(newest))


def get_export(org: Organization, public_id: str) -> ExportJob:
    """One of the organization's exports; :class:`NotFound` for another's or none."""
    job = db.session.scalars(
        select(ExportJob).where(ExportJob.org_id == org.id, ExportJob.public_id == public_id)
    ).one_or_none()
    if job is None:
        raise NotFound("no such export")
    return job


def claim_next(now: datetime) -> int | None:
    """Take the oldest queued export (it is ``running`` from now on) and return its id, or
    ``None`` when nothing is queued or every queued one is being claimed elsewhere."""
    query = (
        select(ExportJob)
        .where(ExportJob.status == "queued")
        .order_by(ExportJob.created_at, ExportJob.id)
        .limit(1)
    )
    job = db.session.scalars(skipping_locked(db.session, query)).one_or_none()
    if job is None:
        return None
    job.status = "running"
    job.started_at = now
    db.session.flush()
    return job.id


@contextmanager
def reading_connection() -> Iterator[tuple[Connection, bool]]:
    """A connection to read the export through, on one snapshot, and whether it is the
    session's own. Beside the session's, so that progress committed while reading does not end
    the read; when the session is itself bound to a connection (one transaction shared, as in
    tests) that connection is used, and said to be shared."""
    bind = db.session.get_bind()
    if not isinstance(bind, Engine):
        yield bind, True
        return
    is_postgres = bind.dialect.name == "postgresql"
    options = {"isolation_level": "REPEATABLE READ"} if is_postgres else {SQLITE_BEGIN: "DEFERRED"}
    with bind.connect().execution_options(**options) as connection, connection.begin():
        yield connection, False


def write_export(job_id: int, progress: Callable[[int], None], every: int = PROGRESS_EVERY) -> Written:
    """Write the file of the claimed export ``job_id`` under :func:`export_folder`, calling
    ``progress(rows)`` every ``every`` chunks. The file appears under its name only once whole;
    :class:`ExportFailed` (the partial file deleted) if it cannot be written. A compliance
    report is written as of the time the job was claimed."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.status != "running":
        raise ExportFailed("not_claimed")
    folder = export_folder()
    name = _file_name(job)
    job.file_name = name
    db.session.flush()
    partial = folder / (name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as file:
            out = _Counted(file)
            if job.kind == REPORT:
                org = db.session.get(Organization, job.org_id)
                write = lookup(ReportWriter)
                rows = write(org, job.starts_at, job.ends_at, job.started_at, out, progress, folder)
            else:
                rows = _write_rows(job, out, progress, every)
        partial.replace(folder / name)
    except Exception as exc:  # noqa: BLE001  (any fault is the job's, recorded as a code)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        reason = _reason(exc)
        log.warning("export %s failed: %s (%s)", job_id, reason, type(exc).__name__)
        raise ExportFailed(reason) from None
    return Written(rows, out.size, out.digest.hexdigest())


def _file_name(job: ExportJob) -> str:
    """The name of the job's file: its kind, its days and its id."""
    return f"{job.kind}-{job.from_day.isoformat()}-{job.to_day.isoformat()}-{job.public_id}.{job.format}"


class _Counted:
    """A file being written, its bytes counted and hashed as they pass."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.size, self.digest = file, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.file.write(data)


def _write_rows(job: ExportJob, out: _Counted, progress: Callable[[int], None], every: int) -> int:
    """The rows of a consent events or rights requests export, in its format; how many."""
    tally = Tally()
    with reading_connection() as (connection, shared):
        # COPY holds its connection until the last row: not one the progress is written on.
        chunks = export_bytes(connection, KINDS[job.kind], job.format, job.org_id, job.starts_at,
                              job.ends_at, tally, may_copy=not shared)  # fmt: skip
        for count, data in enumerate(chunks, 1):
            out.write(data)
            if count % every == 0:
                progress(tally.rows)
    return tally.rows


def _reason(exc: Exception) -> str:
    """The fixed reason a job keeps for ``exc``: its text may quote the data, so never that."""
    if isinstance(exc, OSError):
        return "storage_error"
    if isinstance(exc, SQLAlchemyError):
        return "database_error"
    return "export_error"


def record_progress(job_id: int, rows: int) -> None:
    """How many rows the running export ``job_id`` has written so far."""
    job = db.session.get(ExportJob, job_id)
    if job is not None and job.status == "running":
        job.rows_written = rows
        db.session.flush()


def finish(job_id: int, written: Written, now: datetime) -> None:
    """The export is done: its rows, size and SHA-256, and when its file is deleted
    (``EXPORT_KEEP_HOURS`` from now). A job no longer running (taken for abandoned meanwhile)
    stays as it is, and the file is deleted."""
    job = db.session.get(ExportJob, job_id)
    if job.status != "running":
        (export_folder() / _file_name(job)).unlink(missing_ok=True)
        return
    job.status = "done"
    job.rows_written = written.rows
    job.size_bytes = written.size_bytes
    job.sha256 = written.sha256
    job.finished_at = now
    job.expires_at = now + timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])
    db.session.flush()


def fail(job_id: int, reason: str, now: datetime) -> None:
    """The export failed for ``reason`` (a fixed code); it keeps no file. One that has failed
    already keeps its first reason."""
    job = db.session.get(ExportJob, job_id)
    if job.status == "failed":
        return
    job.status = "failed"
    job.error = reason
    job.file_name = None
    job.finished_at = now
    db.session.flush()


def file_path(job: ExportJob) -> Path | None:
    """Where a done export's file is, or ``None`` when it is not there to download."""
    if job.status != "done" or not job.file_name:
        return None
    path = export_folder() / job.file_name
    return path if path.is_file() else None


def fail_abandoned(now: datetime) -> int:
    """Fail the exports ``running`` for longer than ``EXPORT_ABANDONED_MINUTES`` (their worker
    stopped: a restart, a crash) with reason ``abandoned``, deleting what they had written, so
    that the console stops showing them as under way and they can be asked for again; how many."""
    limit = now - timedelta(minutes=current_app.config["EXPORT_ABANDONED_MINUTES"])
    query = select(ExportJob).where(ExportJob.status == "running", ExportJob.started_at < limit)
    jobs = list(db.session.scalars(skipping_locked(db.session, query)))
    folder = export_folder()
    for job in jobs:
        if job.file_name:
            (folder / (job.file_name + ".part")).unlink(missing_ok=True)
        fail(job.id, "abandoned", now)
    return len(jobs)


def purge_expired(now: datetime) -> int:
    """Delete the files of the exports whose time is up and mark them ``expired`` (the row
    stays, with its SHA-256, as the record that the export was made); return how many."""
    query = select(ExportJob).where(ExportJob.status == "done", ExportJob.expires_at <= now)
    jobs = list(db.session.scalars(skipping_locked(db.session, query)))
    folder = export_folder()
    for job in jobs:
        if job.file_name:
            (folder / job.file_name).unlink(missing_ok=True)
        job.status = "expired"
    db.session.flush()
    return len(jobs)
