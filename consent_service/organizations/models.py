"""Organizations (personal-information handlers) and the PI category catalogue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.types import JSONType, UTCDateTime


class Organization(db.Model):
    """A personal-information handler (个人信息处理者)."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    #: PIPL 52: the personal-information protection officer, published.
    pipo_name: Mapped[str | None] = mapped_column(String(200))
    pipo_contact: Mapped[str | None] = mapped_column(String(200))
    default_regime: Mapped[str] = mapped_column(String(16), default="PIPL")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"


class PICategory(db.Model):
    """A category of personal information (GB/T 35273 Annex A; sensitive per Annex B, PIPL 28)."""

    __tablename__ = "pi_category"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    examples_zh: Mapped[str | None] = mapped_column(Text)
    is_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitive_items: Mapped[list] = mapped_column(JSONType, default=list)
    pipl28_kind: Mapped[str | None] = mapped_column(String(200))
    kantara_categories: Mapped[list] = mapped_column(JSONType, default=list)
