"""Staff accounts of the officer's console (PIPL 51: internal management and access control;
GB/T 35273 11.7). Only hashes and ciphertexts of their secrets are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.types import BigId, JSONType, UTCDateTime


class StaffMember(db.Model):
    """A member of an organization's staff who signs in to the console with a role of
    :mod:`.roles`.

    ``email`` is the normalized address, lower case (unique in the organization).
    ``password_hash`` is argon2id (``None`` until enrolment); ``totp_secret_encrypted`` is the
    TOTP secret sealed by :mod:`~consent_service.secrets_box` under its own label, in force once
    ``totp_enabled_at`` is set; ``totp_last_step`` is the last 30-second step a code was
    accepted for, so that no code works twice. ``recovery_code_hashes`` lists the SHA-256 of the
    unused recovery codes (a used one is removed). ``token_hash`` is the SHA-256 of the one
    pending enrolment or reset link (``token_purpose``), until ``token_expires_at``.
    """

    __tablename__ = "staff_member"
    __table_args__ = (UniqueConstraint("org_id", "email"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(BigId)
    recovery_code_hashes: Mapped[list[str] | None] = mapped_column(JSONType)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_purpose: Mapped[str | None] = mapped_column(String(16))
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
