"""OAuth client management: create, rotate the secret, revoke, list.

Functions flush, never commit. A new secret is returned once and never stored in the clear.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from consent_service.changes import note as note_change
from consent_service.errors import InvalidInput, NotFound
from consent_service.extensions import db
from consent_service.oauth.models import OAuthClient, OAuthToken
from consent_service.oauth.scopes import SCOPES
from consent_service.organizations.models import Organization
from consent_service.tokens import hash_secret


@dataclass
class IssuedClient:
    """A client and its secret, which exists in the clear only here."""

    client: OAuthClient
    client_secret: str


def _parse_scopes(scopes: str | list[str]) -> str:
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    unknown = sorted(set(items) - set(SCOPES))
    if not items or unknown:
        raise InvalidInput(
            "invalid scopes",
            {"scopes": [f"unknown: {', '.join(unknown)}" if unknown else "name at least one scope"]},
        )
    return " ".join(s for s in SCOPES if s in items)


def create_client(org: Organization, name: str, scopes: str | list[str], now: datetime) -> IssuedClient:
    """Register a client of ``org`` with ``scopes``; the secret is shown once."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("invalid client", {"name": ["must be 1-200 characters"]})
    secret = secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id="cs_" + secrets.token_hex(12),
        client_secret_hash=hash_secret(secret),
        org_id=org.id,
        name=name.strip(),
        scope=_parse_scopes(scopes),
        created_at=now,
    )
    db.session.add(client)
    db.session.flush()
    note_change(f"oauth_client:{client.client_id}", None, {"scope": client.scope})
    return IssuedClient(client, secret)


def get_client(client_id: str) -> OAuthClient:
    """The client ``client_id``; :class:`NotFound` otherwise."""
    client = db.session.scalars(select(OAuthClient).where(OAuthClient.client_id == client_id)).first()
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    return client


def rotate_secret(client_id: str, now: datetime) -> IssuedClient:
    """Give the client a new secret; the old one stops working at once. Tokens stay valid."""
    client = get_client(client_id)
    if client.revoked_at is not None:
        raise InvalidInput("client is revoked", {"client_id": ["is revoked"]})
    secret = secrets.token_urlsafe(32)
    client.client_secret_hash = hash_secret(secret)
    client.secret_rotated_at = now
    db.session.flush()
    note_change(f"oauth_client:{client.client_id}", {"secret": "old"}, {"secret": "rotated"})
    return IssuedClient(client, secret)


def revoke_client(client_id: str, now: datetime) -> OAuthClient:
    """Disable a client and every token it holds, effective on the next call."""
    client = get_client(client_id)
    note_change(
        f"oauth_client:{client.client_id}", {"revoked": client.revoked_at is not None}, {"revoked": True}
    )
    client.revoked_at = client.revoked_at or now
    db.session.execute(
        update(OAuthToken)
        .where(OAuthToken.client_pk == client.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.flush()
    return client


def list_clients(org: Organization | None = None) -> list[OAuthClient]:
    """Clients, of one organization or all, oldest first."""
    query = select(OAuthClient).order_by(OAuthClient.id)
    if org is not None:
        query = query.where(OAuthClient.org_id == org.id)
    return list(db.session.scalars(query))
