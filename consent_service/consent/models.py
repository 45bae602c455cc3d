"""Subjects, the append-only consent ledger and the current state."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.types import BigId, JSONType, UTCDateTime

#: ISO/IEC TS 27560 event states, in the law's terms.
ACTIONS = ("grant", "withdraw", "refuse", "expire", "invalidate")
#: GB/T 3.6, 3.7: consent (implied), explicit (明示同意), separate (单独同意), written (书面同意).
CONSENT_TYPES = ("implied", "explicit", "separate", "written")
#: Who expressed the act.
ACTOR_KINDS = ("subject", "guardian", "officer", "system")
COLLECTION_METHODS = ("web", "app", "api", "paper", "phone", "import", "system")
#: Current-state statuses; one per action.
STATUSES = {
    "grant": "granted",
    "withdraw": "withdrawn",
    "refuse": "refused",
    "expire": "expired",
    "invalidate": "invalidated",
}


def is_guardian_act(actor_kind: str, relationship: str | None) -> bool:
    """A guardian expressed the act, directly or on paper recorded by an officer (PIPL 31)."""
    return actor_kind == "guardian" or (actor_kind == "officer" and bool(relationship))


class Subject(db.Model):
    """A personal-information subject (个人信息主体) known to one organization.

    Email and phone are personal information: they are left out of ``repr`` so that
    they never reach a log line. Once the person's information is erased (PIPL 47, GB/T 8.3,
    8.5: :mod:`consent_service.consent.erasure`) ``erased_at`` is set, ``external_id`` is a
    keyed pseudonym and the contact, birth date and guardian fields are empty.
    """

    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("org_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[date | None] = mapped_column(Date)
    #: Set when the company knows the person is under 14 without a birth date.
    is_under_14: Mapped[bool] = mapped_column(Boolean, default=False)
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    guardian_contact: Mapped[str | None] = mapped_column(String(200))
    guardian_relationship: Mapped[str | None] = mapped_column(String(64))
    #: Head of this person's hash chain: the number and hash of their last event.
    chain_seq: Mapped[int] = mapped_column(Integer, default=0)
    chain_head: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the person's information was erased (PIPL 47): see :class:`SubjectErasure`.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()

    def __repr__(self) -> str:
        return f"<Subject {self.id} org={self.org_id}>"


class ConsentEvent(db.Model):
    """One consent act on one purpose; append-only, hash-chained per subject.

    Application code inserts events and never deletes them. The one update is erasure
    (PIPL 47): the personal fields (evidence, actor name, relationship and reason) are
    redacted, ``hash`` and ``prev_hash`` kept, and a signed :class:`SubjectErasure` holds the
    digest of each redacted event.
    """

    __tablename__ = "consent_event"
    __table_args__ = (
        UniqueConstraint("subject_id", "seq"),
        UniqueConstraint("org_id", "idempotency_key"),
        Index("ix_consent_event_subject_purpose", "subject_id", "purpose_id", "occurred_at"),
        #: An organization's acts of a period, in the order they occurred (exports read it in
        #: index order, so a million rows stream without a sort).
        Index("ix_consent_event_org_occurred", "org_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    #: Indexed by the (org_id, idempotency_key) constraint, whose first column it is.
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    #: Position in the subject's chain: 1, 2, 3...
    seq: Mapped[int] = mapped_column(Integer)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purpose.id"))
    purpose_version: Mapped[int] = mapped_column(Integer)
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_version.id"))
    #: The policy's published sequence (0 when none was named), for re-consent checks.
    policy_seq: Mapped[int] = mapped_column(Integer, default=0)
    action: Mapped[str] = mapped_column(String(16))
    consent_type: Mapped[str | None] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    #: For a guardian (or an officer recording a guardian's paper consent): the relationship.
    actor_relationship: Mapped[str | None] = mapped_column(String(64))
    actor_reason: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(16))
    #: {ip, user_agent, locale, notice_sha256, ...}
    evidence: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: The person started this act themselves (GB/T C.4 b: not a re-prompt).
    is_subject_initiated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Events recorded in one act share a bundle id; the key sits on the act's first event.
    #: A bundle is consecutive in its person's chain, so it is found by (subject_id, seq).
    bundle_id: Mapped[str] = mapped_column(String(36))
    bundle_size: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of the act as first asked under that key: a retry must ask for the same act.
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    subject: Mapped[Subject] = relationship()
    purpose: Mapped[Purpose] = relationship()
    policy: Mapped[PolicyVersion | None] = relationship()

    @property
    def is_guardian_act(self) -> bool:
        """A guardian expressed this act, directly or on paper recorded by an officer."""
        return is_guardian_act(self.actor_kind, self.actor_relationship)


class ConsentState(db.Model):
    """The current state of one (subject, purpose), written with each event that changes it."""

    __tablename__ = "consent_state"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), primary_key=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purpose.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[int] = mapped_column(ForeignKey("consent_event.id"))
    #: That event's uuid, copied here: a decision answers with it and need not read the event.
    event_uuid: Mapped[str] = mapped_column(String(36))
    purpose_version: Mapped[int] = mapped_column(Integer)
    policy_seq: Mapped[int] = mapped_column(Integer, default=0)
    consent_type: Mapped[str | None] = mapped_column(String(16))
    is_guardian_act: Mapped[bool] = mapped_column(Boolean, default=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: Time of the latest refusal, kept across later acts for the 48-hour rule.
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[ConsentEvent] = relationship()


class SubjectErasure(db.Model):
    """The minimal record that a person's information was erased (PIPL 47, GB/T 8.3, 8.5).

    ``events`` lists ``[seq, original hash, digest of the redacted content]`` for every event
    the erasure redacted, ``receipts`` ``[receipt id, SHA-256 of the erased token]``; ``jws``
    signs all of it with the service's key (:func:`~consent_service.consent.erasure.record_payload`),
    so that the audit checks a redacted event against it instead of its original hash, and a
    database writer cannot change a redacted event, or this record, unseen. ``reference``
    and ``reason`` name the request; they carry no personal information.
    """

    __tablename__ = "subject_erasure"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    events: Mapped[list] = mapped_column(JSONType)
    receipts: Mapped[list] = mapped_column(JSONType)
    kid: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)
