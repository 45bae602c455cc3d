"""The company integration API under ``/api/v1`` (JSON, OAuth 2.0 bearer tokens).

- ``registry``: the ``operation`` decorator: scope check, organization, body and query
  parsing, one commit per write, and the record that the OpenAPI document is built from;
- ``problems``: RFC 9457 problem documents for every error;
- ``limits``: Flask-Limiter keys per client;
- ``openapi``: the OpenAPI 3 document and the reference page;
- ``schemas``: schemas shared by several routes.

The routes themselves live with their domain: ``policies/api.py``, ``consent/api.py``,
``webhooks/api.py``.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
