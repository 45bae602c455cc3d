"""Signing in to the dashboard: single-use hand-off links and mailed codes; only hashes of
their secrets are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.types import BigId, UTCDateTime


class DashboardLink(db.Model):
    """A link the company hands to a signed-in user to open their privacy dashboard."""

    __tablename__ = "dashboard_link"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInCode(db.Model):
    """A pending sign-in by a 6-digit code mailed to the person (issue 11 §1), one row per
    address asked for in an organization, kept as keyed hashes only.

    Whether the address belongs to anyone must show neither in the answer nor in its time, so
    a row is written for *every* well-formed address asked for: ``address_hash`` (an HMAC of the
    organization and the normalized address, keyed from ``SECRET_KEY``) identifies it, and
    ``subject_id`` is the person it opens, or ``NULL`` when no one (or more than one person, or
    only an erased one) in the organization has that address. Both cases draw a code, hash it,
    build and seal the mail, count sends and attempts and answer alike; only the one outbox
    row is left out when ``subject_id`` is ``NULL``, and a code for such a row never opens
    anything. The resend limits (``last_sent_at``, ``sends`` in the hour from
    ``window_started_at``) therefore hold per address whether or not it is known.

    The browser keeps its pending sign-in as an opaque random id in the session, stored here
    only as ``pending_hash`` (SHA-256). ``code_hash`` is an HMAC keyed from ``SECRET_KEY`` with
    its own label: six digits are a small space, a plain hash would be reversed at once. A new
    code replaces the last (and its pending id); ``used_at`` makes each code single use.
    """

    __tablename__ = "dashboard_sign_in_code"
    __table_args__ = (UniqueConstraint("org_id", "address_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    address_hash: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), index=True)
    pending_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
