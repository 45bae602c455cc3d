"""The console's signed records (``records:export``), as PDF that verifies offline
(:mod:`consent_service.records`): a person's consent record, one receipt's, a rights request's
reply and completion record, the record of processing activities, the privacy policy archive
and the compliance report of a period."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import abort, render_template, request
from flask_babel import gettext

from consent_service.clock import utcnow
from consent_service.consent.subjects import get_subject
from consent_service.console import export_work, pages
from consent_service.errors import NotFound
from consent_service.exports.rows import Period, period_bounds
from consent_service.exports.service import REPORT
from consent_service.receipts.service import ReceiptErased, get_receipt
from consent_service.records import downloads
from consent_service.rights.queries import get_request

bp = pages.blueprint("console_records", __name__)


@bp.get("/<slug>/subjects/<external_id>/record.pdf")
def subject_record(slug: str, external_id: str):
    """The consent record of one person: every event of their history (PIPL 14-16, 44;
    GB/T 35273 11.7)."""
    _lang, org, _member = pages.begin(slug, "records:export")
    try:
        subject = get_subject(org, external_id)
    except NotFound:
        abort(404)
    return downloads.signed_download(
        lambda: downloads.subject_pdf(org, subject, utcnow()), "consent-record.pdf"
    )


@bp.get("/<slug>/receipts/<receipt_id>.pdf")
def receipt_record(slug: str, receipt_id: str):
    """The record of one consent receipt (PIPL 14, GB/T 35273 5.4); 404 for an erased one."""
    _lang, org, _member = pages.begin(slug, "records:export")
    try:
        receipt = get_receipt(org, receipt_id)
    except (NotFound, ReceiptErased):
        abort(404)
    return downloads.signed_download(
        lambda: downloads.receipt_pdf(org, receipt, utcnow()), f"receipt-{receipt.receipt_id}.pdf"
    )


def _period(form, timezone: str) -> tuple[Period, dict[str, str]]:
    """The report's period: days ``from`` and ``to`` (both included) in the organization's
    zone, and their UTC bounds; the last 30 days by default."""
    errors: dict[str, str] = {}
    zone = ZoneInfo(timezone)
    today = utcnow().astimezone(zone).date()
    days = {}
    for name, default in (("from", today - timedelta(days=29)), ("to", today)):
        value = (form.get(name) or "").strip()
        try:
            days[name] = date.fromisoformat(value) if value else default
        except ValueError:
            errors[name] = gettext("Enter a date, such as 2026-12-01.")
            days[name] = default
    if not errors and days["from"] > days["to"]:
        errors["to"] = gettext("The last day comes before the first.")
    return period_bounds(days["from"], days["to"], timezone), errors


def _records_page(org, lang: str, status: int = 200, errors=None, values=None):
    page = render_template(
        "console/records.html", lang=lang, org=pages.org_view(org, lang), active="records",
        errors=errors or {}, values=values or {},
    )  # fmt: skip
    return page, status


@bp.get("/<slug>/records")
def records(slug: str):
    """The records an officer or auditor hands over: processing activities, the policy
    archive, the compliance report of a period."""
    lang, org, _member = pages.begin(slug, "records:export")
    return _records_page(org, lang)


@bp.get("/<slug>/records/processing.pdf")
def processing_record(slug: str):
    """The record of processing activities (GB/T 35273 11.3), signed."""
    _lang, org, _member = pages.begin(slug, "records:export")
    return downloads.signed_download(
        lambda: downloads.processing_pdf(org, utcnow()), "processing-activities.pdf"
    )


@bp.get("/<slug>/records/policies.pdf")
def policy_archive(slug: str):
    """Every published version of the privacy policy (PIPL 17; GB/T 35273 5.5), signed."""
    _lang, org, _member = pages.begin(slug, "records:export")
    return downloads.signed_download(
        lambda: downloads.archive_pdf(org, utcnow()), "privacy-policy-archive.pdf"
    )


@bp.get("/<slug>/records/report.pdf")
def compliance_report(slug: str):
    """The compliance report of a period (PIPL 54), signed, with the period's consent events
    and rights requests attached, written now; a wrong date is said beside its field."""
    lang, org, _member = pages.begin(slug, "records:export")
    period, errors = _period(request.args, org.timezone)
    if errors:
        return _records_page(org, lang, 400, errors, request.args.to_dict())
    return downloads.report_download(org, period.starts_at, period.ends_at, "compliance-report.pdf")


@bp.post("/<slug>/records/report")
def report_form(slug: str):
    """The records page's report form: ``how=now`` answers with the report written now;
    otherwise it is queued to be written in the background (a period of millions of events
    takes a while) and shown on the exports page, downloaded from there once ready, the
    request recorded in the trail."""
    lang, org, member = pages.begin(slug, "records:export")
    period, errors = _period(request.form, org.timezone)
    if errors:
        values = {name: request.form.get(name, "") for name in ("from", "to")}
        return _records_page(org, lang, 400, errors, values)
    if request.form.get("how") == "now":
        return downloads.report_download(org, period.starts_at, period.ends_at, "compliance-report.pdf")
    export_work.queue(org, member, REPORT, "pdf", period)
    return pages.done("console_exports.exports", org, lang, "queued")


@bp.get("/<slug>/requests/<public_id>/record.pdf")
def request_record(slug: str, public_id: str):
    """A rights request's reply and completion record (PIPL 44-50; GB/T 35273 8.7), signed."""
    _lang, org, _member = pages.begin(slug, "records:export")
    try:
        get_request(org, public_id)
    except NotFound:
        abort(404)
    return downloads.signed_download(
        lambda: downloads.request_pdf(org, public_id, utcnow()), f"request-{public_id}.pdf"
    )
