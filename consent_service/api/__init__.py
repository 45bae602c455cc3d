"""The company integration API under ``/api/v1`` (JSON, OAuth 2.0 bearer tokens).

- ``registry``: the ``operation`` decorator: scope check, organization, body and query
  parsing, one unit of work per write, rate-limit keys per client, and the record that the
  OpenAPI document is built from; ``blueprint()`` routes the operations of the modules
  ``create_app`` names;
- ``openapi``: the OpenAPI 3 document and the reference page.

Problem documents (RFC 9457) are :mod:`consent_service.problems`, shared with OAuth and the
error pages. The routes themselves live with their domain: ``policies/api.py``, ``consent/api.py``,
``webhooks/api.py``, ``dashboard/api.py``.
"""
