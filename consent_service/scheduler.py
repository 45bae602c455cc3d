"""APScheduler wiring: jobs are registered here, their work lives in the domain packages."""

from __future__ import annotations

from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from consent_service.consent import jobs
from consent_service.webhooks import delivery


def build_scheduler(app: Flask) -> BlockingScheduler:
    """A blocking scheduler with the ledger jobs at the configured intervals."""
    scheduler = BlockingScheduler(timezone="UTC")
    common = {"args": [app], "coalesce": True, "max_instances": 1, "replace_existing": True}
    scheduler.add_job(
        jobs.checkpoint_all,
        "interval",
        id="ledger-checkpoint",
        minutes=app.config["CHECKPOINT_INTERVAL_MINUTES"],
        **common,
    )
    scheduler.add_job(
        jobs.expire_all,
        "interval",
        id="consent-expiry",
        minutes=app.config["EXPIRY_SWEEP_INTERVAL_MINUTES"],
        **common,
    )
    scheduler.add_job(
        delivery.deliver_job,
        "interval",
        id="webhook-delivery",
        seconds=app.config["WEBHOOK_POLL_SECONDS"],
        **common,
    )
    return scheduler


def run_all_once(app: Flask) -> dict[str, Any]:
    """Run every job once, in order (for cron-style deployments and tests)."""
    return {
        "expired": jobs.expire_all(app),
        "checkpoints": jobs.checkpoint_all(app),
        "webhooks": delivery.deliver_job(app),
    }
