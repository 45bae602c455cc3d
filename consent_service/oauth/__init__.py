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

#: Every scope a client may hold, with what it allows; each API route names the one it needs.
SCOPE_DESCRIPTIONS = {
    "purposes:read": "Read purposes and policies",
    "purposes:write": "Create and change purposes",
    "policies:write": "Draft and publish privacy policies",
    "subjects:write": "Create and update subjects",
    "consents:read": "Read consent state and history; ask for decisions",
    "consents:write": "Record consent acts",
    "rights:read": "Read rights requests",
    "rights:write": "Create and work rights requests",
    "records:read": "Export records",
    "webhooks:manage": "Manage webhook subscriptions",
    "dashboard:link": "Create dashboard sign-in links",
}
SCOPES = tuple(SCOPE_DESCRIPTIONS)

from consent_service.oauth import views  # noqa: E402,F401  (registers routes)
