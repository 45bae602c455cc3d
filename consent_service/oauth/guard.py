"""The resource side of OAuth 2.0 (RFC 6750): one query per call, no cache.

The token is looked up by its hash together with its client, so a revoked token or client is
refused on the very next call. The caller's organization comes from the token, never from
the request: every API query is scoped by it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import request
from sqlalchemy import select

from consent_service.clock import utcnow
from consent_service.errors import DomainError
from consent_service.extensions import db
from consent_service.oauth.models import OAuthClient, OAuthToken
from consent_service.tokens import hash_secret


class InvalidToken(DomainError):
    """No usable bearer token: 401 with ``WWW-Authenticate: Bearer error="invalid_token"``."""

    code = "invalid_token"
    status = 401

    def problem_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{self.message}"'}


class InsufficientScope(DomainError):
    """The token lacks the route's scope: 403 naming it."""

    code = "insufficient_scope"
    status = 403

    def __init__(self, scope: str) -> None:
        super().__init__(f"this call needs the scope {scope!r}", {"required_scope": scope})
        self.scope = scope

    def problem_members(self) -> dict[str, Any]:
        return {"required_scope": self.scope}

    def problem_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.scope}"'}


@dataclass(frozen=True)
class Caller:
    """Who is calling: the client and the organization it acts for."""

    client_id: str
    org_id: int
    scopes: frozenset[str]


def bearer_token() -> str | None:
    """The bearer token of the request's Authorization header, if any."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


#: Where the caller is kept: the WSGI environ is the request's own, whereas ``g`` lives as long
#: as the application context, which several requests may share (a test client, a script).
CALLER_KEY = "consent_service.caller"


def authenticate() -> Caller:
    """The caller of this request, checked once and kept with the request."""
    caller = request.environ.get(CALLER_KEY)
    if caller is not None:
        return caller
    token = bearer_token()
    if token is None:
        raise InvalidToken("a bearer token is required (Authorization: Bearer <token>)")
    row = db.session.execute(
        select(
            OAuthToken.org_id,
            OAuthToken.scope,
            OAuthToken.expires_at,
            OAuthToken.revoked_at,
            OAuthClient.client_id,
            OAuthClient.revoked_at.label("client_revoked_at"),
        )
        .join(OAuthClient, OAuthClient.id == OAuthToken.client_pk)
        .where(OAuthToken.access_token_hash == hash_secret(token))
    ).first()
    if row is None:
        check_token(None, None, None, utcnow())
    check_token(row.revoked_at, row.client_revoked_at, row.expires_at, utcnow())
    caller = Caller(row.client_id, row.org_id, frozenset(row.scope.split()))
    request.environ[CALLER_KEY] = caller
    return caller


def check_token(
    revoked_at: datetime | None,
    client_revoked_at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """The bearer-token rules, for every query that looks a token up (this guard's, and the
    decision hot path's own): a token not found (``expires_at`` None), revoked, or of a revoked
    client, is :class:`InvalidToken`; so is an expired one."""
    if expires_at is None or revoked_at is not None or client_revoked_at is not None:
        raise InvalidToken("the access token is unknown or revoked")
    if expires_at <= now:
        raise InvalidToken("the access token has expired")


def check_scope(held: Collection[str], scope: str) -> None:
    """A token holding the scopes ``held`` may call a route that needs ``scope``."""
    if scope not in held:
        raise InsufficientScope(scope)


def require(scope: str) -> Caller:
    """Authenticate and check ``scope``; :class:`InsufficientScope` names the missing one."""
    caller = authenticate()
    check_scope(caller.scopes, scope)
    return caller
