"""OAuth 2.0 endpoints. Each commits the one change it makes (a token issued or revoked)."""

from __future__ import annotations

from flask import jsonify

from consent_service.extensions import authorization, db
from consent_service.oauth import bp, server
from consent_service.oauth.server import Introspection, Revocation


@bp.post("/oauth/token")
def token():
    """RFC 6749 4.4: client credentials for an access token."""
    response = authorization.create_token_response()
    db.session.commit()
    return response


@bp.post("/oauth/introspect")
def introspect():
    """RFC 7662 token introspection."""
    return authorization.create_endpoint_response(Introspection.ENDPOINT_NAME)


@bp.post("/oauth/revoke")
def revoke():
    """RFC 7009 token revocation, effective on the very next API call."""
    response = authorization.create_endpoint_response(Revocation.ENDPOINT_NAME)
    db.session.commit()
    return response


@bp.get("/.well-known/oauth-authorization-server")
def discovery():
    """RFC 8414 metadata."""
    return jsonify(server.metadata())
