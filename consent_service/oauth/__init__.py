"""OAuth 2.0 for the company integration API (Authlib), kept in one small package.

- ``models``: OAuthClient (secret hashed), OAuthToken (token hashed);
- ``service``: create, rotate, revoke and list clients;
- ``server``: the Authlib authorization server: client credentials grant, introspection
  (RFC 7662), revocation (RFC 7009), metadata (RFC 8414);
- ``views``: ``/oauth/token``, ``/oauth/introspect``, ``/oauth/revoke``,
  ``/.well-known/oauth-authorization-server``;
- ``scopes``: every scope a client may hold;
- ``cli``: ``flask clients``;
- ``guard``: the resource side (RFC 6750): bearer token, scope and organization per request.
"""
