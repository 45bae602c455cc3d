"""Scheduled upkeep of the dashboard (house style 8): sign-in rows deleted once they serve no
limit any more."""

from __future__ import annotations

from consent_service.clock import utcnow
from consent_service.dashboard.signin import purge_codes
from consent_service.scheduling import Job
from consent_service.unit_of_work import unit_of_work


def purge_sign_in_codes() -> dict[str, int]:
    """Delete old sign-in code rows (``DASHBOARD_CODE_KEEP_HOURS`` after their last code)."""
    with unit_of_work():
        return {"deleted": purge_codes(utcnow())}


JOBS = [Job("sign_in_codes", purge_sign_in_codes, "DASHBOARD_CODE_PURGE_INTERVAL_MINUTES")]
