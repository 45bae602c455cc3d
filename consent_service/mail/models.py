"""The mail outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.types import BigId, UTCDateTime

MAIL_STATUSES = ("pending", "sent", "failed")


class MailMessage(db.Model):
    """One mail to one person: written in the transaction of the change, sent after it.

    Who it goes to and what it says are one Fernet token (``content_encrypted``), so neither an
    address nor a code in a body can be read in the table (PIPL 51). Once the mail is sent, or
    given up, the token is erased (GB/T 6.1: kept no longer than needed); the row stays as the
    record that a mail of this ``kind`` went out, and when.
    """

    __tablename__ = "mail_message"
    __table_args__ = (Index("ix_mail_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    #: What the mail is for, e.g. ``rights.acknowledgement``: a name, never personal data.
    kind: Mapped[str] = mapped_column(String(64))
    #: Recipient, subject, bodies, language and Reply-To, encrypted; ``None`` once sent or failed.
    content_encrypted: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: A short fixed reason such as ``connection failed`` or ``recipient refused (550)``, never
    #: an exception's text (which may quote the address).
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        """Id, kind and status: nothing personal."""
        return f"<MailMessage {self.public_id} {self.kind} {self.status}>"
