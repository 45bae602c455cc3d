"""The landing page and the health check."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from consent_service.main import views  # noqa: E402,F401  (registers routes)
