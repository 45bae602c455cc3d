"""OAuth 2.0 endpoints. Each is one unit of work: the one change it makes (a token issued or
revoked) is committed when it answers."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import Blueprint, jsonify

from consent_service.extensions import authorization
from consent_service.oauth import server
from consent_service.oauth.server import Introspection, Revocation
from consent_service.problems import problem
from consent_service.unit_of_work import unit_of_work

bp = Blueprint("oauth", __name__)


@bp.errorhandler(InsecureTransportError)
def insecure_transport(_exc: InsecureTransportError):
    """OAuth 2.0 needs HTTPS (RFC 6749 10.9): plain HTTP under a public name is a clear 400,
    with the setting that makes a TLS-terminating proxy's HTTPS visible."""
    return problem(
        400,
        "invalid_request",
        "OAuth requires HTTPS; behind a TLS-terminating proxy set CONSENT_PROXY_COUNT "
        "(or gunicorn's forwarded_allow_ips) so that the forwarded scheme is trusted",
    )


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
