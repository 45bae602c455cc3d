"""The person's privacy dashboard.

- ``models``: DashboardLink (single-use sign-in links handed over by the company);
- ``service``: create and redeem links;
- ``views``: ``/dashboard/enter/<token>`` and ``/dashboard``.
"""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from consent_service.dashboard import views  # noqa: E402,F401  (registers routes)
