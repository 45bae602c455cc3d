"""Purposes (versioned) and privacy policy versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.types import JSONType, UTCDateTime

#: PIPL 13: the seven lawful bases; only the first is consent.
LEGAL_BASES = (
    "consent",  # 13(1)
    "contract",  # 13(2) contract the subject is party to, or HR management
    "legal_duty",  # 13(3)
    "public_health",  # 13(4) public-health emergency, protecting life and property
    "news_reporting",  # 13(5)
    "public_information",  # 13(6) information already lawfully made public
    "other_law",  # 13(7)
)
LEGAL_BASIS_CLAUSES = {
    "consent": "PIPL 13(1)",
    "contract": "PIPL 13(2)",
    "legal_duty": "PIPL 13(3)",
    "public_health": "PIPL 13(4)",
    "news_reporting": "PIPL 13(5)",
    "public_information": "PIPL 13(6)",
    "other_law": "PIPL 13(7)",
}
#: GB/T 35273 5.3 and Annex C: basic (基本业务功能) and extended (扩展业务功能) functions.
FUNCTION_KINDS = ("basic", "extended")
#: What a purpose asks of a consent act, weakest first (GB/T 3.6, 3.7; PIPL 14, 29).
CONSENT_REQUIREMENTS = ("none", "consent", "explicit", "separate", "written")
POLICY_STATUSES = ("draft", "published")


class Purpose(db.Model):
    """A processing purpose (处理目的) of one organization; its content lives in versions."""

    __tablename__ = "purpose"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    #: The latest version whose change was material (PIPL 14): consents to earlier
    #: versions no longer count.
    material_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Publishing a material policy change sets this to the policy's published sequence:
    #: consents given under an earlier policy need re-consent.
    reconsent_policy_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
    versions: Mapped[list[PurposeVersion]] = relationship(
        back_populates="purpose", order_by="PurposeVersion.version"
    )

    @property
    def current(self) -> PurposeVersion:
        """The purpose's current version."""
        return next(v for v in self.versions if v.version == self.current_version)

    def __repr__(self) -> str:
        return f"<Purpose {self.code} v{self.current_version}>"


class PurposeVersion(db.Model):
    """One immutable version of a purpose: what the person is told and consents to."""

    __tablename__ = "purpose_version"
    __table_args__ = (UniqueConstraint("purpose_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purpose.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_zh: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    #: 处理方式: how the information is collected and processed.
    processing_method_zh: Mapped[str | None] = mapped_column(Text)
    processing_method_en: Mapped[str | None] = mapped_column(Text)
    function_kind: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str] = mapped_column(String(32))
    consent_requirement: Mapped[str] = mapped_column(String(16))
    pi_categories: Mapped[list] = mapped_column(JSONType, default=list)
    is_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    #: PIPL 23: other handlers the information is provided to: [{name, contact, purpose}].
    recipients: Mapped[list] = mapped_column(JSONType, default=list)
    #: PIPL 38, 39: [{name, country, contact, rights_channel}].
    cross_border_recipients: Mapped[list] = mapped_column(JSONType, default=list)
    #: PIPL 25: the information is disclosed publicly.
    is_publicly_disclosed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: GB/T 6.1: how long the information is kept.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    retention_note: Mapped[str | None] = mapped_column(Text)
    #: How long a consent to this version lasts, if it lapses at all.
    consent_validity_days: Mapped[int | None] = mapped_column(Integer)
    is_material: Mapped[bool] = mapped_column(Boolean, default=True)
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    purpose: Mapped[Purpose] = relationship(back_populates="versions")

    @property
    def needs_separate_consent(self) -> bool:
        """Whether each grant must be its own act (PIPL 23, 25, 29, 39)."""
        return self.legal_basis == "consent" and (
            self.is_sensitive
            or bool(self.recipients)
            or bool(self.cross_border_recipients)
            or self.is_publicly_disclosed
        )


policy_purpose_version = Table(
    "policy_purpose_version",
    db.metadata,
    Column("policy_id", ForeignKey("policy_version.id"), primary_key=True),
    Column("purpose_version_id", ForeignKey("purpose_version.id"), primary_key=True),
)


class PolicyVersion(db.Model):
    """A version of the privacy policy (个人信息保护政策), draft then published (PIPL 17)."""

    __tablename__ = "policy_version"
    __table_args__ = (UniqueConstraint("org_id", "label"), UniqueConstraint("org_id", "seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    text_zh: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    #: The required items that are prose: rights, refusal_consequences, security_measures,
    #: complaints; each {"zh": ..., "en": ...} in Markdown.
    sections: Mapped[dict] = mapped_column(JSONType, default=dict)
    change_summary: Mapped[str | None] = mapped_column(Text)
    is_material_change: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: 1, 2, 3... in publishing order; empty while a draft.
    seq: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: SHA-256 of the published content, fixed at publishing.
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
    purpose_versions: Mapped[list[PurposeVersion]] = relationship(
        secondary=policy_purpose_version, order_by=PurposeVersion.id
    )

    @property
    def is_published(self) -> bool:
        return self.status == "published"
