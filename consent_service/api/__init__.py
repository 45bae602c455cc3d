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

from flask import Blueprint, request

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: POST routes that only read.
READ_ONLY_POSTS = {"api.decisions"}
#: Routes that read on their own autocommit connection and should not touch the session.
OWN_CONNECTION = {"api.decision"}


@bp.before_request
def _read_only_requests_take_no_write_lock() -> None:
    """GETs and read-only POSTs begin their transaction without SQLite's write lock."""
    if request.endpoint in OWN_CONNECTION:
        return
    if request.method in ("GET", "HEAD") or request.endpoint in READ_ONLY_POSTS:
        from consent_service.database import read_only_transaction
        from consent_service.extensions import db

        read_only_transaction(db.session)
