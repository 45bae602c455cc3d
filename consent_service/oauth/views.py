"""OAuth 2.0 endpoints. Each is one unit of work: the one change it makes (a token issued or
revoked) is committed when it answers."""

from __future__ import annotations

from flask import Blueprint, jsonify

from consent_service.extensions import authorization
from consent_service.oauth import server
from consent_service.oauth.server import Introspection, Revocation
from consent_service.unit_of_work import unit_of_work

bp = Blueprint("oauth", __name__)


@bp.post("/oauth/token")
def token():
    """RFC 6749 4.4: client credentials for an access token."""
    with unit_of_work():
        return authorization.create_token_response()


@bp.post("/oauth/introspect")
def introspect():
    """RFC 7662 token introspection."""
    return authorization.create_endpoint_response(Introspection.ENDPOINT_NAME)


@bp.post("/oauth/revoke")
def revoke():
    """RFC 7009 token revocation, effective on the very next API call."""
    with unit_of_work():
        return authorization.create_endpoint_response(Revocation.ENDPOINT_NAME)


@bp.get("/.well-known/oauth-authorization-server")
def discovery():
    """RFC 8414 metadata."""
    return jsonify(server.metadata())
