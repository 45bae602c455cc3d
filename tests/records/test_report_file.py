"""The compliance report carries the period's full data: every consent event and rights
request as the exports write them, covered by the signature, counted alike on the page and in
the files; changing a byte of a file, or damaging its compressed data, fails verification."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import timedelta

import pytest

from consent_service.exports.rows import KINDS
from consent_service.exports.writers import Tally, export_bytes
from consent_service.extensions import db as _db
from consent_service.records import downloads
from consent_service.records.report_file import write_report
from consent_service.records.verify import attachments, embedded_files, verify_record
from consent_service.rights import service
from tests.exports.support import fill_events
from tests.factories import make_org, make_purpose, make_subject
from tests.records.test_document import replace_attachment

EVENTS = 4_000  # more than one chunk of CSV


@pytest.fixture
def period(db, clock):
    """ "shop" with EVENTS grants and a rights request in a period of two days, one grant before."""
    org = make_org(clock.now(), "shop")
    purpose = make_purpose(org, clock.now(), "marketing")
    person = make_subject(org, clock.now(), "u-1")
    earlier = make_subject(org, clock.now(), "u-0")
    fill_events(db, org, earlier, purpose, 1, clock.now() - timedelta(days=1))
    start = clock.now()
    fill_events(db, org, person, purpose, EVENTS, start, step=timedelta(seconds=10))
    service.create_request(
        org, "u-1", "access", clock.now(), identity_verified_by="company", client_id="cs_x"
    )
    clock.advance(days=2)
    return org, start, clock.now()


def _export(kind: str, org, start, end) -> bytes:
    connection = _db.session.connection()
    return b"".join(export_bytes(connection, KINDS[kind], "csv", org.id, start, end, Tally(), may_copy=False))


def test_the_report_attaches_the_exports_of_the_period(period, clock, app, tmp_path):
    org, start, end = period
    seen: list[int] = []
    out = tmp_path / "report.pdf"
    with out.open("wb") as file:
        rows = write_report(org, start, end, clock.now(), file, seen.append)
    assert rows == EVENTS + 1
    assert seen == sorted(seen) and seen[-1] == EVENTS + 1

    result = verify_record(out)
    assert result.ok, result.messages
    files = attachments(out)
    assert files["consent_events.csv"] == _export("consent_events", org, start, end)
    assert files["rights_requests.csv"] == _export("rights_requests", org, start, end)
    events = list(csv.reader(io.StringIO(files["consent_events.csv"].decode())))
    assert len(events) == EVENTS + 1 and events[0][0] == "event_uuid"

    data = json.loads(files["record.json"])["data"]
    attached = {f["file"]: f for f in data["attached"]}
    assert attached["consent_events.csv"]["rows"] == EVENTS
    assert attached["rights_requests.csv"]["rows"] == 1
    assert embedded_files(out)["consent_events.csv"].sha256 == attached["consent_events.csv"]["sha256"]
    # The page's figures and the file's rows are read on one snapshot: they agree.
    assert sum(sum(row["acts"].values()) for row in data["consents"]) == EVENTS
    assert sum(r["count"] for r in data["requests"]) == 1

    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("完整数据", "Full data of the period, attached", "consent_events.csv", f"{EVENTS:,}",
                     attached["consent_events.csv"]["sha256"][:32]):  # fmt: skip
        assert expected in text, expected


def test_a_changed_row_of_the_full_data_fails(period, clock, app):
    org, start, end = period
    pdf = downloads.report_pdf(org, start, end, clock.now())
    changed = replace_attachment(pdf, "consent_events.csv", lambda b: b.replace(b",grant,", b",withdraw,", 1))
    result = verify_record(changed)
    assert not result.ok
    assert result.messages[0].startswith("the attachment consent_events.csv was changed: its SHA-256 is ")


def test_damaged_compressed_data_fails_with_a_clear_message(period, clock, app):
    org, start, end = period
    pdf = downloads.report_pdf(org, start, end, clock.now())
    begins = pdf.index(b"/Type /EmbeddedFile", pdf.index(b"%%EOF"))  # the first appended: consent_events.csv
    stream = pdf.index(b"stream\n", begins) + len(b"stream\n")
    damaged = bytearray(pdf)
    for offset in range(200, 260):  # a run of bytes inside the compressed rows
        damaged[stream + offset] ^= 0xFF
    result = verify_record(bytes(damaged))
    assert not result.ok
    (message,) = result.messages
    assert "consent_events.csv" in message
    assert "cannot be read, its data is damaged" in message or "was changed" in message


def test_the_cli_verifies_a_report_from_its_file(period, clock, app, cli, tmp_path):
    org, start, end = period
    (tmp_path / "report.pdf").write_bytes(downloads.report_pdf(org, start, end, clock.now()))
    _db.session.commit()
    answer = cli.invoke(args=["records", "verify", str(tmp_path / "report.pdf")])
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("valid: compliance_report of shop")
