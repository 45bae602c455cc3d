"""ExportJob: one export asked for in the console, run in the background."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.types import BigId, UTCDateTime

#: queued → running → done (→ expired, its file deleted) or failed.
STATUSES = ("queued", "running", "done", "failed", "expired")


class ExportJob(db.Model):
    """An export of one organization's records of one kind for a period of days, and its file.

    The row keeps what was asked (kind, format, period, by which member of staff), how far it
    got (``rows_written``, updated while it runs), and the file it wrote: its name under the
    export folder, size and SHA-256, and when it is deleted. ``error`` is a fixed reason code,
    never an exception's text (which could quote the data).
    """

    __tablename__ = "export_job"
    __table_args__ = (
        Index("ix_export_job_status", "status", "created_at"),
        Index("ix_export_job_org", "org_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    #: consent_events or rights_requests.
    kind: Mapped[str] = mapped_column(String(32))
    #: csv or jsonl.
    format: Mapped[str] = mapped_column(String(8))
    #: The days asked for, in the organization's zone, and the UTC bounds they make.
    from_day: Mapped[date] = mapped_column(Date)
    to_day: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        """Its id and organization: no text column (house rule for every model's repr)."""
        return f"<ExportJob {self.id} org={self.org_id}>"
