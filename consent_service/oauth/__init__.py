"""OAuth 2.0 for the company integration API (Authlib), kept in one small package.

- ``models``: OAuthClient (secret hashed), OAuthToken (token hashed);
- ``service``: create, rotate, revoke and list clients;
- ``server``: the Authlib authorization server: client credentials grant, introspection
  (RFC 7662), revocation (RFC 7009), metadata (RFC 8414);
- ``views``: ``/oauth/token``, ``/oauth/introspect``, ``/oauth/revoke``,
  ``/.well-known/oauth-authorization-server``;
- ``guard``: the resource side (RFC 6750): bearer token, scope and organization per request.
"""

from flask import Blueprint

bp = Blueprint("oauth", __name__)

#: Every scope a client may hold; each API route names the one it needs.
SCOPES = (
    "purposes:read",
    "purposes:write",
    "policies:write",
    "subjects:write",
    "consents:read",
    "consents:write",
    "rights:read",
    "rights:write",
    "records:read",
    "webhooks:manage",
    "dashboard:link",
)

from consent_service.oauth import views  # noqa: E402,F401  (registers routes)
