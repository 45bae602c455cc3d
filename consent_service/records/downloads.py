"""The consent records as the console, the API and the dashboard hand them out: the PDF of a
person's record or of a receipt, and the answer that carries it."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import BinaryIO

from flask import Response

from consent_service.clock import utcnow
from consent_service.consent.models import Subject
from consent_service.organizations.models import Organization
from consent_service.receipts.models import ConsentReceipt
from consent_service.records import compliance_records, consent_records
from consent_service.records.document import render_record
from consent_service.records.report_file import write_report
from consent_service.unit_of_work import unit_of_work

#: Bytes of a spooled record sent at a time.
PIECE = 256 * 1024
RECEIPT_TITLE = "个人信息处理同意收据 Consent receipt"
SUBJECT_TITLE = "个人同意记录 Consent record of a person"


def subject_pdf(org: Organization, subject: Subject, now: datetime) -> bytes:
    """The signed consent record of ``subject`` (PIPL 14-16, 44; GB/T 35273 11.7)."""
    record = consent_records.subject_record_of(org, subject, now)
    return render_record(record, now, SUBJECT_TITLE, consent_records.generated_text(org, now))


def receipt_pdf(org: Organization, receipt: ConsentReceipt, now: datetime) -> bytes:
    """The signed record of one consent receipt (PIPL 14, GB/T 35273 5.4)."""
    record = consent_records.receipt_record_of(org, receipt)
    return render_record(record, now, RECEIPT_TITLE, consent_records.generated_text(org, now))


def processing_pdf(org: Organization, now: datetime) -> bytes:
    """The signed record of processing activities (GB/T 35273 11.3)."""
    record = compliance_records.processing(org, now)
    return render_record(
        record, now, compliance_records.PROCESSING_TITLE, consent_records.generated_text(org, now)
    )


def archive_pdf(org: Organization, now: datetime) -> bytes:
    """The signed archive of the published privacy policy versions (PIPL 17)."""
    record = compliance_records.archive(org)
    return render_record(
        record, now, compliance_records.ARCHIVE_TITLE, consent_records.generated_text(org, now)
    )


def report_pdf(org: Organization, start: datetime, end: datetime, now: datetime) -> bytes:
    """The signed compliance report of ``[start, end)`` (PIPL 54), its full data attached."""
    out = io.BytesIO()
    write_report(org, start, end, now, out)
    return out.getvalue()


def report_download(org: Organization, start: datetime, end: datetime, filename: str) -> Response:
    """The answer carrying the compliance report, written to a temporary file (in a unit of
    work, as :func:`signed_download`) and sent from it a piece at a time."""
    spooled = tempfile.TemporaryFile()  # noqa: SIM115  (closed by the answer, once sent)
    try:
        with unit_of_work():
            write_report(org, start, end, utcnow(), spooled)
        size = spooled.tell()
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    response = Response(_pieces(spooled), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Content-Length"] = str(size)
    return response


def _pieces(file: BinaryIO) -> Iterator[bytes]:
    """The file a piece at a time, closed (and so deleted) at its end or when the answer is
    dropped."""
    with file:
        while piece := file.read(PIECE):
            yield piece


def request_pdf(org: Organization, public_id: str, now: datetime) -> bytes:
    """The signed reply and completion record of a rights request (PIPL 44-50)."""
    record = compliance_records.rights_request(org, public_id)
    return render_record(
        record, now, compliance_records.REQUEST_TITLE, consent_records.generated_text(org, now)
    )


def signed_download(build: Callable[[], bytes], filename: str) -> Response:
    """The answer carrying the PDF ``build`` makes, in a unit of work: the first record of a
    new service makes its signing key, which must be kept."""
    with unit_of_work():
        pdf = build()
    return pdf_response(pdf, filename)


def pdf_response(pdf: bytes, filename: str) -> Response:
    """``application/pdf``, to be saved as ``filename``."""
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
