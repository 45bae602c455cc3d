"""The console's signed records (``records:export``): a person's consent record and the record of
one receipt, as PDF that verifies offline (:mod:`consent_service.records`)."""

from __future__ import annotations

from flask import abort

from consent_service.clock import utcnow
from consent_service.consent.subjects import get_subject
from consent_service.console import pages
from consent_service.errors import NotFound
from consent_service.receipts.service import ReceiptErased, get_receipt
from consent_service.records import downloads
from consent_service.unit_of_work import unit_of_work

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
    # A unit of work: the first record of a new service makes its signing key.
    with unit_of_work():
        pdf = downloads.subject_pdf(org, subject, utcnow())
    return downloads.pdf_response(pdf, "consent-record.pdf")


@bp.get("/<slug>/receipts/<receipt_id>.pdf")
def receipt_record(slug: str, receipt_id: str):
    """The record of one consent receipt (PIPL 14, GB/T 35273 5.4); 404 for an erased one."""
    _lang, org, _member = pages.begin(slug, "records:export")
    try:
        receipt = get_receipt(org, receipt_id)
    except (NotFound, ReceiptErased):
        abort(404)
    with unit_of_work():
        pdf = downloads.receipt_pdf(org, receipt, utcnow())
    return downloads.pdf_response(pdf, f"receipt-{receipt.receipt_id}.pdf")
