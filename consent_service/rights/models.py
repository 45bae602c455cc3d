"""Rights requests, their timeline, their pauses, identity codes and the notices already sent.

What a request asks and who asked for it can be personal information: the details and the
requester's contact are stored encrypted (``secrets_box``); only identifiers, codes and times are
in the clear, so that the queue can be sorted and swept in SQL.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_service.consent.models import Subject
from consent_service.extensions import db
from consent_service.types import BigId, JSONType, UTCDateTime


class RightsRequest(db.Model):
    """A request by (or for) one person to exercise a right (PIPL 44-50, GB/T 35273 8)."""

    __tablename__ = "rights_request"
    __table_args__ = (
        Index("ix_rights_request_queue", "org_id", "status", "due_at"),
        Index("ix_rights_request_unverified", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    regime: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    #: How it reached the organization: api, dashboard, paper, phone, email.
    channel: Mapped[str] = mapped_column(String(16))
    #: subject, guardian (PIPL 31), relative (PIPL 49), officer (entered from paper or phone).
    requester_kind: Mapped[str] = mapped_column(String(16))
    requester_name: Mapped[str | None] = mapped_column(String(200))
    requester_relationship: Mapped[str | None] = mapped_column(String(64))
    #: PIPL 49: what proves the relationship (a document reference) and the lawful interest.
    requester_proof: Mapped[str | None] = mapped_column(Text)
    requester_interest: Mapped[str | None] = mapped_column(Text)
    #: Where the codes and replies go, when it is not the person's own address (encrypted).
    requester_contact_encrypted: Mapped[str | None] = mapped_column(Text)
    #: The officer who entered a request received on paper or by phone.
    entered_by: Mapped[str | None] = mapped_column(String(200))
    #: The API client that created it (for the record).
    client_id: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    #: What is asked (a correction's content, the question to explain), encrypted.
    details_encrypted: Mapped[str | None] = mapped_column(Text)
    #: A correction of what this service holds ({"email": ..., "phone": ...}), encrypted JSON.
    corrections_encrypted: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: code (a mailed code), company (vouched for through the API), dashboard (the person's own
    #: signed-in session), officer.
    identity_verified_by: Mapped[str | None] = mapped_column(String(16))
    #: When the legal clock started (receipt or identity verification, after the rule).
    clock_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last day, in the organization's zone (the due time is its 23:59:59).
    due_day: Mapped[date | None] = mapped_column(Date)
    #: Computed past the calendar data known: conservative, recomputed when data loads.
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(Text)
    assigned_to: Mapped[str | None] = mapped_column(String(200))
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    #: GB/T 35273 8.7 d): the ground of a refusal, its explanation and the complaint channel.
    refusal_ground: Mapped[str | None] = mapped_column(String(32))
    refusal_explanation: Mapped[str | None] = mapped_column(Text)
    complaint_channel: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The next timeline event's number.
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    subject: Mapped[Subject] = relationship()

    def __repr__(self) -> str:
        """Id, type and status: nothing personal."""
        return f"<RightsRequest {self.public_id} {self.type} {self.status}>"


class RightsRequestEvent(db.Model):
    """One step of a request's life: who did what, when, and why (append-only)."""

    __tablename__ = "rights_request_event"
    __table_args__ = (UniqueConstraint("request_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_request.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    #: subject, client, officer or system (the scheduler).
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class RightsPause(db.Model):
    """A time the request waited for the requester (the clock stopped; GB/T 8.7)."""

    __tablename__ = "rights_pause"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_request.id"), index=True)
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)


class IdentityCode(db.Model):
    """The 6-digit code mailed to verify the requester, kept only as a keyed hash."""

    __tablename__ = "rights_identity_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_request.id"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RightsNotice(db.Model):
    """A reminder or escalation due for a request: written when the deadline is set, marked
    when sent. The unique key makes each one go out once, whatever runs the sweep."""

    __tablename__ = "rights_notice"
    __table_args__ = (
        UniqueConstraint("request_id", "kind"),
        # Only the notices still to send: the sweep's range, whatever number were sent before.
        Index(
            "ix_rights_notice_unsent",
            "sent_at",
            "due_at",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_request.id"))
    #: reminder:5, reminder:2, reminder:1 (working days before the due day), overdue.
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Sent, or passed over when a later notice of the same request was due at the same run.
    outcome: Mapped[str | None] = mapped_column(String(16))


class DataSystem(db.Model):
    """A system of the organization that holds personal information (a CRM, an order database,
    a mailing tool): its owner, the PI categories it holds (GB/T 35273 Annex A), and how it
    hears of a task: a webhook (``rights.task.opened``) or by hand (``manual``)."""

    __tablename__ = "data_system"
    __table_args__ = (Index("ix_data_system_org", "org_id", "retired_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list] = mapped_column(JSONType, default=list)
    #: webhook or manual.
    delivery: Mapped[str] = mapped_column(String(16))
    webhook_endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoint.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<DataSystem {self.public_id}>"


class RightsTask(db.Model):
    """What one data system must do for one request (give the data, delete, correct, restrict),
    and its answer. The answer's content (the data itself) is stored encrypted."""

    __tablename__ = "rights_task"
    __table_args__ = (
        UniqueConstraint("request_id", "system_id"),
        UniqueConstraint("system_id", "retention_key"),
        Index("ix_rights_task_open", "org_id", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    #: The request it serves; none for a deletion the retention sweep opened (PIPL 47 (1)-(2)).
    request_id: Mapped[int | None] = mapped_column(ForeignKey("rights_request.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("data_system.id"))
    #: A retention deletion: the purpose whose period ended or whose consent was withdrawn, and
    #: a key naming the consent event that ended it (so that one ending opens one task).
    purpose_id: Mapped[int | None] = mapped_column(ForeignKey("purpose.id"))
    retention_key: Mapped[str | None] = mapped_column(String(64))
    #: access (give the data), deletion, correction, restriction.
    action: Mapped[str] = mapped_column(String(16))
    #: PI categories the task is about (a retention deletion names its purpose's); empty: all.
    categories: Mapped[list] = mapped_column(JSONType, default=list)
    #: open, done (carried out), no_data (the system holds nothing of the person), cancelled
    #: (the request was refused or withdrawn first).
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the system says it carried the task out (deletion, correction).
    carried_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    #: The data returned for an access task, as encrypted JSON.
    result_encrypted: Mapped[str | None] = mapped_column(Text)

    system: Mapped[DataSystem] = relationship()

    def __repr__(self) -> str:
        return f"<RightsTask {self.public_id} {self.action} {self.status}>"


class RetentionEnding(db.Model):
    """The end of the reason to keep one person's information for one purpose (PIPL 47 (1)-(3),
    GB/T 35273 6.1): its consent ended with no other legal basis left, or its retention period
    passed. Written once per ending (the key names the consent event that ended it), with the
    categories to delete, those another basis still covers, and how many tasks were opened."""

    __tablename__ = "retention_ending"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purpose.id"))
    #: ``ended:<event uuid>`` or ``period:<event uuid>``.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: consent_ended or retention_period.
    reason: Mapped[str] = mapped_column(String(32))
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    categories: Mapped[list] = mapped_column(JSONType, default=list)
    #: Categories kept: another purpose the person consented to, or one with another legal basis.
    kept_categories: Mapped[list] = mapped_column(JSONType, default=list)
    tasks: Mapped[int] = mapped_column(Integer, default=0)


class RightsPackage(db.Model):
    """The access, copy or transfer package of a request (PIPL 45, GB/T 35273 8.1, 8.6): a zip
    stored encrypted, fetched through a link whose token is kept only as a keyed hash.

    Past ``expires_at`` the content is deleted (GB/T 6.1); the row stays as the record that a
    package was given: when, until when, how often it was fetched, and the SHA-256 of what it
    held.
    """

    __tablename__ = "rights_package"
    __table_args__ = (Index("ix_rights_package_purge", "purged_at", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_request.id"), index=True)
    #: HMAC-SHA256 of the link's token, keyed by the secret (kept after the purge: a 410).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The zip, encrypted; erased by the purge.
    content_encrypted: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    last_downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
