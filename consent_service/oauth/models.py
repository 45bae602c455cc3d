"""OAuth clients and access tokens; secrets and tokens are stored only as SHA-256 hashes.

Client secrets and access tokens are 256-bit random values, so a plain SHA-256 is enough to
make a stolen table useless (a slow password hash protects guessable secrets, and these are
not guessable) and keeps token checks to one indexed lookup.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent_service.clock import utcnow
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.tokens import secret_matches
from consent_service.types import BigId, UTCDateTime

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class OAuthClient(db.Model):
    """A company system that calls the API for one organization."""

    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Space-separated scopes (RFC 6749 3.3).
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()

    # --- Authlib ClientMixin -------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """All the client's scopes when none are asked for, else those asked for."""
        held = self.scope.split()
        if not scope:
            return " ".join(held)
        return " ".join(s for s in scope.split() if s in held)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.revoked_at is None and secret_matches(client_secret, self.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class OAuthToken(db.Model):
    """An access token issued to a client; only its hash is kept."""

    __tablename__ = "oauth_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[OAuthClient] = relationship()

    # --- Authlib TokenMixin --------------------------------------------------------------
    def check_client(self, client: OAuthClient) -> bool:
        return self.client_pk == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None
