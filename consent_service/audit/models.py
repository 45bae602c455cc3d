"""Signed checkpoints of the ledger, and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.types import BigId, JSONType, UTCDateTime


class LedgerCheckpoint(db.Model):
    """A signed commitment to every chain head of one organization (a Merkle root).

    ``leaves`` lists ``[subject_id, seq]`` for every chain at the time, so that a dropped
    or shortened chain is found and named; checkpoints chain to each other by ``prev_hash``.
    """

    __tablename__ = "ledger_checkpoint"
    __table_args__ = (UniqueConstraint("org_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    subject_count: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(BigInteger)
    leaves: Mapped[list] = mapped_column(JSONType)
    merkle_root: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    #: The audit trail's head when it was signed (``None`` before the trail, or while empty).
    trail_seq: Mapped[int | None] = mapped_column(BigInteger)
    trail_hash: Mapped[str | None] = mapped_column(String(64))
    #: The service's own trail's head (jobs, commands) when it was signed, so that every
    #: organization's checkpoints also cover the entries of the work done across them.
    service_trail_seq: Mapped[int | None] = mapped_column(BigInteger)
    service_trail_hash: Mapped[str | None] = mapped_column(String(64))


class LedgerVerification(db.Model):
    """One full verification of an organization's ledger (every chain, state row, receipt,
    checkpoint and the audit trail), as the scheduled job ran it: what it covered, whether it
    found the ledger intact, and its first problems. The compliance report states the newest
    (GB/T 35273 11.7): a full walk of millions of events takes minutes, so it is done on a
    schedule and cited, not repeated for each report."""

    __tablename__ = "ledger_verification"
    __table_args__ = (Index("ix_ledger_verification_org", "org_id", "verified_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    #: The moment the ledger was read at (one snapshot), and how long the walk took.
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seconds: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    subjects: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(BigInteger)
    receipts: Mapped[int] = mapped_column(BigInteger)
    checkpoints: Mapped[int] = mapped_column(Integer)
    trail_entries: Mapped[int] = mapped_column(BigInteger)
    #: The newest checkpoint then, which the walk proved (``None``: there was none).
    checkpoint_seq: Mapped[int | None] = mapped_column(Integer)
    checkpoint_hash: Mapped[str | None] = mapped_column(String(64))
    problem_count: Mapped[int] = mapped_column(Integer)
    #: The first problems, as the verification wrote them (ids and sequence numbers, no
    #: personal data).
    problems: Mapped[list] = mapped_column(JSONType)

    def __repr__(self) -> str:
        """Its id and organization: no text column (house rule for every model's repr)."""
        return f"<LedgerVerification {self.id} org={self.org_id}>"


#: The trail of the service itself (jobs, commands that span organizations): ``org_id`` NULL in
#: ``audit_entry``, 0 in ``audit_head`` (which needs a key).
SERVICE_TRAIL = 0


class AuditEntry(db.Model):
    """One thing someone did, in an append-only chain per organization (PIPL 51, 54; GB/T 35273
    11.7): who (``actor_kind``, ``actor``: identifiers, never an email or a name), what
    (``action``), to what (``target``), with what outcome, and the changed fields' codes.

    ``hash`` is the SHA-256 of the entry's canonical JSON, ``prev_hash`` included; ``seq``
    counts from 1 without a gap in each trail. ``org_id`` is NULL in the service's own trail.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        UniqueConstraint("org_id", "seq"),
        # NULL is distinct from NULL in a unique constraint: the service's trail needs its own.
        Index(
            "uq_audit_entry_service_seq",
            "seq",
            unique=True,
            sqlite_where=text("org_id IS NULL"),
            postgresql_where=text("org_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ``staff``, ``client``, ``job``, ``command`` or ``subject``.
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(200))
    target: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict | None] = mapped_column(JSONType)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The newest entry of each trail: the row a writer locks, so that appends to one trail are
    serialized (``seq`` stays gapless) while other organizations' writers go on."""

    __tablename__ = "audit_head"

    #: The organization's id, or :data:`SERVICE_TRAIL` (no foreign key: 0 names no organization).
    trail: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str | None] = mapped_column(String(64))
