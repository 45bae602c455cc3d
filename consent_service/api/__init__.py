"""The company integration API under ``/api/v1`` (JSON, OAuth 2.0 bearer tokens).

- ``registry``: the ``operation`` decorator: scope check, organization, body and query
  parsing, one unit of work per write, rate-limit keys per client, and the record that the
  OpenAPI document is built from; ``blueprint()`` routes the operations of the modules
  ``create_app`` names;
- ``problems``: RFC 9457 problem documents for every error;
- ``openapi``: the OpenAPI 3 document and the reference page.

The routes themselves live with their domain: ``policies/api.py``, ``consent/api.py``,
``webhooks/api.py``, ``dashboard/api.py``.
"""
