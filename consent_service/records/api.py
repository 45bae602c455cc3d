"""Signed records over the API (scope ``records:read``): a person's consent record and the
record of one receipt, as PDF that verifies offline."""

from __future__ import annotations

from consent_service.api.registry import operation
from consent_service.clock import utcnow
from consent_service.consent.subjects import get_subject
from consent_service.organizations.models import Organization
from consent_service.receipts.service import get_receipt
from consent_service.records import downloads
from consent_service.unit_of_work import unit_of_work

PDF = "application/pdf"


@operation(
    "/subjects/<external_id>/record.pdf",
    scope="records:read",
    tag="Records",
    media_type=PDF,
    clause="PIPL 14-16, 44; GB/T 35273 11.7",
    summary="Get a person's consent record as PDF",
)
def get_subject_record(org: Organization, external_id: str):
    """Every consent event of the person, with its time, purpose, act, method, policy version
    and receipt, as a PDF/A-3b carrying the data (``record.json``, ``events.csv``) and the
    service's signature over it (``record.jws``), verifiable against ``/.well-known/jwks.json``."""
    subject = get_subject(org, external_id)
    with unit_of_work():  # the first record of a new service makes its signing key
        pdf = downloads.subject_pdf(org, subject, utcnow())
    return downloads.pdf_response(pdf, "consent-record.pdf")


@operation(
    "/receipts/<receipt_id>.pdf",
    scope="records:read",
    tag="Records",
    media_type=PDF,
    errors=(410,),
    clause="PIPL 14; GB/T 35273 5.4",
    summary="Get a consent receipt as PDF",
)
def get_receipt_record(org: Organization, receipt_id: str):
    """The receipt of one consent act (its Kantara content and its JWS) as a signed PDF/A-3b;
    a receipt erased with the person's information (PIPL 47) is 410 ``receipt_erased``."""
    receipt = get_receipt(org, receipt_id)
    with unit_of_work():
        pdf = downloads.receipt_pdf(org, receipt, utcnow())
    return downloads.pdf_response(pdf, f"receipt-{receipt.receipt_id}.pdf")
