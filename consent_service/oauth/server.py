"""The Authlib authorization server: client credentials, introspection, revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, current_app
from sqlalchemy import select

from consent_service.clock import utcnow
from consent_service.extensions import authorization, db
from consent_service.oauth.models import AUTH_METHODS, OAuthClient, OAuthToken
from consent_service.oauth.scopes import SCOPES
from consent_service.tokens import hash_secret


def query_client(client_id: str) -> OAuthClient | None:
    """The active client ``client_id`` (a revoked client cannot authenticate)."""
    if not isinstance(client_id, str) or "\x00" in client_id:  # PostgreSQL would refuse a NUL
        return None
    return db.session.scalars(
        select(OAuthClient).where(OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None))
    ).first()


def save_token(token: dict[str, Any], request) -> None:
    """Keep the token's hash, client, organization, scope and lifetime (the view commits)."""
    now = utcnow()
    client: OAuthClient = request.client
    db.session.add(
        OAuthToken(
            access_token_hash=hash_secret(token["access_token"]),
            client_pk=client.id,
            org_id=client.org_id,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_at=now + timedelta(seconds=int(token["expires_in"])),
        )
    )
    db.session.flush()


def query_token(token_string: str) -> OAuthToken | None:
    """The token with this value, by its hash."""
    if not token_string:
        return None
    return db.session.scalars(
        select(OAuthToken).where(OAuthToken.access_token_hash == hash_secret(token_string))
    ).first()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 4.4 with both secret methods; no scope asked means every scope held."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def create_token_response(self):
        requested = self.request.payload.scope
        scope = self.client.get_allowed_scope(requested)
        if requested and set(requested.split()) - set(scope.split()):
            raise InvalidScopeError(description="the client does not hold every scope asked for")
        # Read per request: TOKEN_LIFETIME_SECONDS is the one setting that counts.
        lifetime = int(current_app.config["TOKEN_LIFETIME_SECONDS"])
        token = self.generate_token(scope=scope, expires_in=lifetime, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class Introspection(IntrospectionEndpoint):
    """RFC 7662: a client may introspect the tokens of its own organization."""

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string, token_type_hint):
        return query_token(token_string)

    def check_permission(self, token: OAuthToken, client: OAuthClient, request) -> bool:
        return token.org_id == client.org_id

    def introspect_token(self, token: OAuthToken) -> dict[str, Any]:
        return {
            "active": token.client.revoked_at is None,
            "client_id": token.client.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "sub": token.client.client_id,
            "iat": int(token.issued_at.timestamp()),
            "exp": int(token.expires_at.timestamp()),
            "iss": current_app.config["BASE_URL"],
            "org": token.client.organization.slug,
        }


class Revocation(RevocationEndpoint):
    """RFC 7009: a client revokes its own tokens; the next API call with it gets 401."""

    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string, token_type_hint):
        return query_token(token_string)

    def revoke_token(self, token: OAuthToken, request) -> None:
        token.revoked_at = token.revoked_at or utcnow()
        db.session.flush()


def init_app(app: Flask) -> None:
    """Configure and bind the authorization server."""
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(SCOPES))
    authorization.init_app(app, query_client=query_client, save_token=save_token)
    authorization.register_grant(ClientCredentialsGrant)
    authorization.register_endpoint(Introspection)
    authorization.register_endpoint(Revocation)


def metadata() -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    base = current_app.config["BASE_URL"].rstrip("/")
    methods = list(AUTH_METHODS)
    return {
        "issuer": base,
        "token_endpoint": f"{base}/oauth/token",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "scopes_supported": list(SCOPES),
        "service_documentation": f"{base}/api/v1/docs",
    }
