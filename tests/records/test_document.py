"""Signed records: the PDF's text (Chinese and English) in the shipped font, its attachments
equal to the data, and verification, which fails with its reason for every changed byte."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pypdf
import pytest
from pypdf.generic import NameObject

from consent_service.receipts import keys
from consent_service.records import consent_records, downloads
from consent_service.records.document import sha256_hex
from consent_service.records.verify import attachments, verify_record

ROOT = Path(__file__).resolve().parents[2]


def squeezed(text: str) -> str:
    """Text without white space: a table cell's words wrap onto lines of their own."""
    return "".join(text.split())


def run(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, str(path)],
                          check=True, capture_output=True, text=True).stdout  # fmt: skip


@pytest.fixture
def record_pdf(app, history, clock):
    org, subject, _ = history
    with app.test_request_context():
        return downloads.subject_pdf(org, subject, clock.now())


@pytest.fixture
def receipt_pdf(app, history, clock):
    org, _, receipts = history
    with app.test_request_context():
        return downloads.receipt_pdf(org, receipts[0], clock.now())


def test_the_person_record_reads_in_both_languages(record_pdf, history, tmp_path):
    org, subject, receipts = history
    text = " ".join(run("pdftotext", record_pdf, tmp_path).split())
    for expected in ("个人同意记录", "Consent record of a person", "同意历史", "Consent history",
                     "《个人信息保护法》第十四条至第十六条、第四十四条", "GB/T 35273-2020 11.7",
                     "同意", "grant", "撤回", "withdraw", "u-1", "第1页/共1页"):  # fmt: skip
        assert squeezed(expected) in squeezed(text), (expected, text)
    source = attachments(record_pdf)["record.json"]
    assert sha256_hex(source) in text


def test_the_receipt_record_reads_in_both_languages(receipt_pdf, history, tmp_path):
    _, _, receipts = history
    text = " ".join(run("pdftotext", receipt_pdf, tmp_path).split())
    for expected in ("个人信息处理同意收据", "Consent receipt", "《个人信息保护法》第十四条",
                     "GB/T 35273-2020 5.4", receipts[0].receipt_id, "marketing"):  # fmt: skip
        assert expected in text, (expected, text)
    assert sha256_hex(attachments(receipt_pdf)["record.json"]) in text


def test_the_shipped_font_is_embedded(record_pdf, tmp_path):
    fonts = run("pdffonts", record_pdf, tmp_path)
    lines = [line for line in fonts.splitlines() if "Record-Sans-SC" in line or "RecordSansSC" in line]
    assert lines, fonts
    assert all(" yes yes " in line for line in lines), fonts  # embedded and subset


def test_the_font_is_served_from_static(app):
    from consent_service.pdf.fetcher import StaticFilesOnly

    response = StaticFilesOnly(app.static_folder, "https://consent.test").fetch(
        "static:fonts/RecordSansSC-Regular.otf"
    )
    try:
        assert response.read() == (ROOT / "static/fonts/RecordSansSC-Regular.otf").read_bytes()
    finally:
        response.close()
    assert (ROOT / "static/fonts/OFL.txt").read_text().count("SIL OPEN FONT LICENSE Version 1.1") == 1


def test_the_attachments_are_the_data(record_pdf, history, clock, app):
    org, subject, receipts = history
    files = attachments(record_pdf)
    assert set(files) == {"record.json", "events.csv", "record.jws"}
    with app.test_request_context():
        record = consent_records.subject_record_of(org, subject, clock.now())
    source = json.loads(files["record.json"])
    assert source == {"kind": "consent-record", "organization": record.organization, "data": record.data}
    events = source["data"]["events"]
    assert [e["action"] for e in events] == ["grant", "withdraw", "grant"]
    assert events[0]["receipt_jws"] == receipts[0].jws
    rows = list(csv.reader(io.StringIO(files["events.csv"].decode())))
    assert rows[0] == list(consent_records.EVENT_COLUMNS)
    assert [r[5] for r in rows[1:]] == ["grant", "withdraw", "grant"]
    assert rows[1][12] == receipts[0].jws


def test_a_record_verifies(record_pdf, receipt_pdf, app):
    with app.test_request_context():
        for pdf, kind in ((record_pdf, "consent-record"), (receipt_pdf, "consent-receipt")):
            result = verify_record(pdf)
            assert result.ok, result.messages
            assert result.summary().startswith(f"valid: {kind} of shop, data SHA-256 ")


def replace_attachment(pdf: bytes, name: str, change) -> bytes:
    """``pdf`` with the attachment ``name`` changed by ``change`` (bytes -> bytes)."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf))
    names = writer._root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    for index in range(0, len(names), 2):
        if names[index] == name:
            stream = names[index + 1].get_object()["/EF"]["/F"].get_object()
            stream.set_data(change(stream.get_data()))
            stream[NameObject("/Params")] = stream.get("/Params", pypdf.generic.DictionaryObject())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flip_last_digit(content: bytes) -> bytes:
    """One byte changed: the last character that is a digit, another digit."""
    index = max(content.rfind(bytes([d])) for d in b"0123456789")
    return content[:index] + (b"1" if content[index : index + 1] != b"1" else b"2") + content[index + 1 :]


def test_a_changed_byte_of_the_data_fails(record_pdf, app):
    changed = replace_attachment(record_pdf, "record.json", flip_last_digit)
    with app.test_request_context():
        result = verify_record(changed)
    assert not result.ok
    (message,) = result.messages
    assert message.startswith("the data attachment was changed: its SHA-256 is ")
    assert sha256_hex(attachments(changed)["record.json"]) in message
    assert sha256_hex(attachments(record_pdf)["record.json"]) in message


def test_a_changed_byte_of_a_table_fails(record_pdf, app):
    changed = replace_attachment(record_pdf, "events.csv", lambda b: b.replace(b"withdraw", b"withdrew", 1))
    with app.test_request_context():
        result = verify_record(changed)
    assert result.messages and "the attachment events.csv was changed" in result.messages[0]


def test_a_changed_byte_of_the_signature_fails(record_pdf, app):
    def change(token: bytes) -> bytes:
        return token[:-3] + (b"A" if token[-3:-2] != b"A" else b"B") + token[-2:]

    with app.test_request_context():
        result = verify_record(replace_attachment(record_pdf, "record.jws", change))
    assert not result.ok
    assert "the signature (record.jws) is not valid" in result.messages[0]


def test_a_key_set_without_the_key_fails(record_pdf, app):
    result = verify_record(record_pdf, {"keys": []})
    assert not result.ok
    assert "which is not a proven key of this service" in result.messages[0]
    with app.test_request_context():
        assert verify_record(record_pdf, keys.jwks()).ok


def test_a_pdf_without_the_data_says_so(app, tmp_path):
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    result = verify_record(out.getvalue(), {"keys": []})
    assert result.messages == ["the PDF has no record.json attachment: it is not a signed record"]
    assert verify_record(b"not a pdf", {"keys": []}).messages[0].startswith("not a readable PDF")
