"""A record to a signed PDF: what is drawn, and the same data machine-readable inside it.

The PDF (PDF/A-3b) carries as attachments ``record.json``, the record's kind, organization and
data as canonical JSON; one ``<table>.csv`` per table; files too large to hold, written to disk
as they were read (the compliance report's full data, :func:`write_record`); and ``record.jws``, a compact JWS
(ES256, the service's keys, ``typ`` :data:`RECORD_TYPE`) whose payload names the record's
kind, the organization, the time and the SHA-256 of every other attachment. The printed page
states the SHA-256 of ``record.json``, so that paper and file can be matched. Nothing here
reads the ledger: the data comes in plain.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from consent_service.canonical import canonical_json
from consent_service.consent.hashing import iso_utc
from consent_service.pdf import PdfRenderer
from consent_service.pdf.appended import Packed
from consent_service.receipts import keys
from consent_service.services import lookup

#: The JWS ``typ`` of a record's signature.
RECORD_TYPE = "consent-record+jws"
#: The attachment of the data, and of the signature.
DATA_NAME = "record.json"
SIGNATURE_NAME = "record.jws"


@dataclass(frozen=True)
class Record:
    """What a record is before it is drawn: all plain values.

    ``data`` is what ``record.json`` holds and the template receives (with ``organization``,
    ``title`` and ``generated_at`` beside it); ``tables`` maps a table's name to its rows, the
    first row its header, each written as ``<name>.csv``; ``printed`` is what the template
    receives besides, laid out from ``data`` for the page (a history as lines of text), and is
    not attached: the data says it already.
    """

    kind: str
    template: str
    organization: Mapping[str, Any]
    data: Mapping[str, Any]
    tables: Mapping[str, Sequence[Sequence[Any]]] = field(default_factory=dict)
    printed: Mapping[str, Any] = field(default_factory=dict)


def sha256_hex(content: bytes) -> str:
    """The SHA-256 of ``content``, in hex."""
    return hashlib.sha256(content).hexdigest()


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    """Rows as CSV (RFC 4180, CRLF line ends); ``None`` as an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return out.getvalue()


def attachments_of(
    record: Record, now: datetime, streamed: Sequence[Packed] = ()
) -> tuple[dict[str, str], str]:
    """The record's attachments (name -> text), signed; and the SHA-256 of ``record.json``.
    The signature covers the ``streamed`` files too, by the digests they were written with."""
    source = {"kind": record.kind, "organization": dict(record.organization), "data": dict(record.data)}
    files = {DATA_NAME: canonical_json(source).decode()}
    for name, rows in record.tables.items():
        files[f"{name}.csv"] = csv_text(rows)
    digests = {name: sha256_hex(text.encode()) for name, text in files.items()}
    digests.update({packed.name: packed.sha256 for packed in streamed})
    payload = {
        "kind": record.kind,
        "org": record.organization["slug"],
        "iat": int(now.timestamp()),
        "generated_at": iso_utc(now),
        "record_sha256": digests[DATA_NAME],
        "files": digests,
    }
    _kid, files[SIGNATURE_NAME] = keys.sign(payload, now, typ=RECORD_TYPE)
    return files, digests[DATA_NAME]


def render_record(record: Record, now: datetime, title: str, generated_at: str) -> bytes:
    """The signed PDF of ``record``: drawn by the :class:`PdfRenderer` from its template, with
    the data, its tables and the signature attached. ``generated_at`` is ``now`` as the
    organization's readers write it (it is printed; the signature holds ``now`` in UTC)."""
    return _rendered(record, now, title, generated_at, ())


def write_record(
    record: Record, now: datetime, title: str, generated_at: str, streamed: Sequence[Packed], out: BinaryIO
) -> int:
    """:func:`render_record` written to ``out``, with the ``streamed`` files (written to disk
    beforehand, too large to hold) embedded besides and covered by the signature; the bytes
    written."""
    renderer = lookup(PdfRenderer)
    return renderer.append(_rendered(record, now, title, generated_at, streamed), streamed, out, now)


def _rendered(
    record: Record, now: datetime, title: str, generated_at: str, streamed: Sequence[Packed]
) -> bytes:
    files, digest = attachments_of(record, now, streamed)
    context = {
        **record.data,
        **record.printed,
        "title": title,
        "organization": dict(record.organization),
        "generated_at": generated_at,
        "record_sha256": digest,
    }
    return lookup(PdfRenderer).render(record.template, context, files)
