"""Signed checkpoints of the ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
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
