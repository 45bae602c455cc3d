"""Signing keys and issued consent receipts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from consent_service.extensions import db
from consent_service.types import BigId, JSONType, UTCDateTime


class SigningKey(db.Model):
    """An asymmetric key (ES256) that signs receipts and ledger checkpoints.

    The private key is stored as PKCS#8 PEM encrypted with a key derived from the
    application's secret; the public JWK stays published after rotation so that old
    receipts remain verifiable.
    """

    __tablename__ = "signing_key"
    __table_args__ = (
        # At most one active key, even when two first grants race to create it.
        Index(
            "uq_signing_key_one_active",
            "is_active",
            unique=True,
            sqlite_where=text("is_active"),
            postgresql_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16), default="ES256")
    public_jwk: Mapped[dict] = mapped_column(JSONType)
    private_pem_encrypted: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsentReceipt(db.Model):
    """The signed receipt issued for a grant, as a compact JWS.

    The token names the person (``sub``, ``piiPrincipalId``). When their information is
    erased (PIPL 47) it is replaced by ``NULL`` and ``jws_sha256`` keeps its SHA-256: the
    person, who holds the receipt, can still show that theirs is the one issued.
    """

    __tablename__ = "consent_receipt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("consent_event.id"), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    kid: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str | None] = mapped_column(Text)
    #: Set when the token was erased: the SHA-256 (hex) of the token as it was.
    jws_sha256: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
