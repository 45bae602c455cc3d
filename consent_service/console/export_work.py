"""What the console's exports page shows, as plain data: the kinds and formats offered, and
the organization's exports with their status, progress, size, SHA-256 and expiry; and
:func:`queue`, the one way a console form asks for an export, recorded in the trail."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.console.acting import staff_action
from consent_service.exports import service
from consent_service.exports.models import ExportJob
from consent_service.exports.rows import Period
from consent_service.exports.service import REPORT
from consent_service.i18n import local_datetime
from consent_service.organizations.models import Organization
from consent_service.staff.models import StaffMember


def queue(org: Organization, member: StaffMember, kind: str, file_format: str, period: Period) -> ExportJob:
    """Queue an export (or the compliance report) asked for by ``member``, as the trail's
    ``console:export.request`` entry with its kind, format and period."""
    with staff_action(org, member, "export.request", None) as change:
        job = service.request_export(org, kind, file_format, period, member.id, utcnow())
        change.target = f"export_job:{job.public_id}"
        change.extra = {"kind": job.kind, "format": job.format, "period": period.described()}
        change.after = {"id": job.public_id, "status": job.status}
    return job


def kinds() -> list[dict[str, str]]:
    """The kinds of export, with their names in the page's language."""
    return [
        {"code": "consent_events", "name": gettext("Consent events")},
        {"code": "rights_requests", "name": gettext("Rights requests")},
    ]


def kind_names() -> dict[str, str]:
    """Every kind of export the list may show, by code: the form's, and the compliance report
    (asked for on the records page)."""
    return {**{kind["code"]: kind["name"] for kind in kinds()}, REPORT: gettext("Compliance report")}


#: How the list names each format.
FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "pdf": "PDF"}


def formats() -> list[dict[str, str]]:
    """The formats of an export file."""
    return [{"code": "csv", "name": "CSV"}, {"code": "jsonl", "name": "JSON Lines"}]


def statuses() -> dict[str, str]:
    """An export's statuses in the page's language."""
    return {
        "queued": gettext("Queued"),
        "running": gettext("Running"),
        "done": gettext("Ready"),
        "failed": gettext("Failed"),
        "expired": gettext("Deleted (expired)"),
    }


def error_names() -> dict[str, str]:
    """Why an export failed, by its reason code, in the page's language."""
    return {
        "storage_error": gettext("The file could not be written to storage."),
        "database_error": gettext("The database could not be read."),
        "export_error": gettext("The file could not be written."),
        "abandoned": gettext("Stopped before it was done (the worker was restarted); ask for it again."),
        "not_claimed": gettext("The export was not taken by a worker."),
    }


def form_errors(details: dict[str, list[str]]) -> dict[str, str]:
    """The form's wrong fields (field → problems), as the page says them beside each."""
    errors: dict[str, str] = {}
    if "kind" in details:
        errors["kind"] = gettext("Choose one of the kinds in the list.")
    if "format" in details:
        errors["format"] = gettext("Choose CSV or JSON Lines.")
    for field in ("from", "to"):
        problems = " ".join(details.get(field, []))
        if "required" in problems:
            errors[field] = gettext("Enter a date.")
        elif "not a date" in problems:
            errors[field] = gettext("Enter a date such as 2026-11-02.")
        elif "before the first day" in problems:
            errors[field] = gettext("The last day is before the first day.")
    return errors


def _size(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def exports(org: Organization, lang: str) -> dict[str, Any]:
    """The organization's newest exports (``exports``), and whether any is still to finish
    (``pending``: the page offers to look again)."""
    names = kind_names()
    shown = statuses()
    rows = []
    for job in service.list_exports(org):
        rows.append(
            {
                "id": job.public_id,
                "kind": names.get(job.kind, job.kind),
                "format": FORMAT_NAMES.get(job.format, job.format),
                "period": f"{job.from_day.isoformat()} – {job.to_day.isoformat()}",
                "status": job.status,
                "status_name": shown.get(job.status, job.status),
                "rows": job.rows_written,
                "size": _size(job.size_bytes),
                "sha256": job.sha256,
                "error": error_names().get(job.error, job.error) if job.error else None,
                "requested": local_datetime(job.created_at, org.timezone, lang),
                "expires": local_datetime(job.expires_at, org.timezone, lang) if job.expires_at else None,
                "downloadable": job.status == "done",
            }
        )
    return {"exports": rows, "pending": any(row["status"] in ("queued", "running") for row in rows)}
