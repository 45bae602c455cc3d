"""The scheduler's export jobs (house style 8): write what is queued, delete what expired,
end what a stopped worker left running.
Each step is a unit of work of its own, so the console sees a running export's progress."""

from __future__ import annotations

import logging

from consent_service.clock import utcnow
from consent_service.exports import service
from consent_service.scheduling import Job
from consent_service.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

#: Exports one run writes at most (the next run takes the rest).
PER_RUN = 10


def run_exports() -> dict[str, int]:
    """Claim queued exports one at a time and write each; a failure is recorded on its job."""
    counts = {"done": 0, "failed": 0}
    for _ in range(PER_RUN):
        with unit_of_work():
            job_id = service.claim_next(utcnow())
        if job_id is None:
            break

        def progress(rows: int, job_id: int = job_id) -> None:
            with unit_of_work():
                service.record_progress(job_id, rows)

        try:
            written = service.write_export(job_id, progress)
        except service.ExportFailed as failure:
            with unit_of_work():
                service.fail(job_id, failure.reason, utcnow())
            counts["failed"] += 1
            continue
        with unit_of_work():
            service.finish(job_id, written, utcnow())
        counts["done"] += 1
    return counts


def purge_exports() -> dict[str, int]:
    """Delete the export files kept past ``EXPORT_KEEP_HOURS``, and end the exports whose
    worker stopped while writing them."""
    with unit_of_work():
        purged = service.purge_expired(utcnow())
        abandoned = service.fail_abandoned(utcnow())
    if purged or abandoned:
        log.info("exports purged: %s, abandoned: %s", purged, abandoned)
    return {"purged": purged, "abandoned": abandoned}


JOBS = [
    Job("exports", run_exports, "EXPORT_POLL_SECONDS", unit="seconds"),
    Job("exports_purge", purge_exports, "EXPORT_PURGE_INTERVAL_MINUTES"),
]
