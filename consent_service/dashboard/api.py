"""The dashboard's hand-off over the API: a company signs its user in (PIPL 15, 44-50)."""

from __future__ import annotations

from consent_service.api.registry import Reply, operation
from consent_service.clock import utcnow
from consent_service.consent import subjects
from consent_service.dashboard.schemas import DashboardLinkOut
from consent_service.dashboard.service import create_link
from consent_service.organizations.models import Organization


@operation(
    "/subjects/<external_id>/dashboard-links",
    "POST",
    scope="dashboard:link",
    tag="Subjects",
    response=DashboardLinkOut(),
    status=201,
    clause="PIPL 15, 44-50",
    summary="Sign the person into the dashboard",
)
def dashboard_link(org: Organization, external_id: str):
    """A single-use link, valid 10 minutes, that signs the person into their privacy dashboard.

    The answer is a credential: no cache may keep it (``Cache-Control: no-store``)."""
    subject = subjects.get_subject(org, external_id)
    url, expires_at = create_link(org, subject, utcnow())
    return Reply({"url": url, "expires_at": expires_at}, headers={"Cache-Control": "no-store"})
