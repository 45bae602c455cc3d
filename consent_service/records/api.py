"""Signed records over the API (scope ``records:read``), as PDF that verifies offline: a
person's consent record, one receipt's, a rights request's, the record of processing
activities, the privacy policy archive and the compliance report of a period."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validates_schema

from consent_service.api.registry import operation
from consent_service.clock import day_bounds, utcnow
from consent_service.consent.subjects import get_subject
from consent_service.organizations.models import Organization
from consent_service.receipts.service import get_receipt
from consent_service.records import downloads
from consent_service.rights.queries import get_request

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
    return downloads.signed_download(
        lambda: downloads.subject_pdf(org, subject, utcnow()), "consent-record.pdf"
    )


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
    return downloads.signed_download(
        lambda: downloads.receipt_pdf(org, receipt, utcnow()), f"receipt-{receipt.receipt_id}.pdf"
    )


class PeriodQuery(Schema):
    """The days of a report, both included, in the organization's zone (by default the 30
    days up to today)."""

    first = fields.Date(data_key="from")
    last = fields.Date(data_key="to")

    @validates_schema
    def _in_order(self, data, **_kwargs):
        if "first" in data and "last" in data and data["first"] > data["last"]:
            raise ValidationError("must not come before from", "to")


@operation(
    "/records/processing.pdf",
    scope="records:read",
    tag="Records",
    media_type=PDF,
    clause="GB/T 35273 11.3",
    summary="Get the record of processing activities as PDF",
)
def get_processing_record(org: Organization):
    """Each purpose with its function, legal basis, PI categories (sensitive marked), consents
    in force and withdrawn, recipients, transfers abroad, retention and the data systems that
    hold it; the data systems; the staff by role. Signed, carrying ``record.json`` and
    ``activities.csv``."""
    return downloads.signed_download(
        lambda: downloads.processing_pdf(org, utcnow()), "processing-activities.pdf"
    )


@operation(
    "/records/policies.pdf",
    scope="records:read",
    tag="Records",
    media_type=PDF,
    clause="PIPL 17; GB/T 35273 5.5",
    summary="Get the privacy policy archive as PDF",
)
def get_policy_archive(org: Organization):
    """Every published version with its dates, whether it was a material change, what changed,
    the purposes it covered and the SHA-256 of its content. Signed."""
    return downloads.signed_download(
        lambda: downloads.archive_pdf(org, utcnow()), "privacy-policy-archive.pdf"
    )


@operation(
    "/records/report.pdf",
    scope="records:read",
    tag="Records",
    media_type=PDF,
    query=PeriodQuery(),
    clause="PIPL 54",
    summary="Get the compliance report of a period as PDF",
)
def get_compliance_report(org: Organization, query: dict):
    """Consents and withdrawals per purpose, rights requests by type and outcome, the share
    answered on time, the requests overdue now, the policies published and the state of the
    proof, for the days ``from`` to ``to`` in the organization's zone. Signed."""
    today = utcnow().astimezone(ZoneInfo(org.timezone)).date()
    last = query.get("last", today)
    start, end = day_bounds(query.get("first", last - timedelta(days=29)), last, org.timezone)
    return downloads.report_download(org, start, end, "compliance-report.pdf")


@operation(
    "/rights-requests/<request_id>/record.pdf",
    scope="records:read",
    tag="Records",
    media_type=PDF,
    clause="PIPL 44-50; GB/T 35273 8.7",
    summary="Get a rights request's reply and completion record as PDF",
)
def get_request_record(org: Organization, request_id: str):
    """The request's facts, rule, timeline with its actors, each data system's task and answer,
    whether it was answered on time, and a refusal's ground and complaint channel. Signed."""
    get_request(org, request_id)
    return downloads.signed_download(
        lambda: downloads.request_pdf(org, request_id, utcnow()), f"request-{request_id}.pdf"
    )
