"""Large files embedded after drawing: written compressed to disk as they come, appended to a
drawn PDF/A-3b as an incremental update that pypdf, poppler and qpdf all read as one document
holding the drawn attachments and the appended ones."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pypdf
import pytest
from weasyprint import HTML, Attachment

from consent_service.pdf.appended import DeflatedFile, append_files

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def drawn() -> bytes:
    small = Attachment(string="a,b\n1,2\n", name="summary.csv", relationship="Data")
    html = HTML(string="<h1>合规报告 Compliance report</h1>")
    return html.write_pdf(attachments=[small], pdf_variant="pdf/a-3b")


def _packed(tmp_path: Path, name: str, lines: int):
    deflated = DeflatedFile(tmp_path / f"{name}.deflate", name, "text/csv")
    content = io.BytesIO()
    deflated.write(b"id,note\n")
    content.write(b"id,note\n")
    for n in range(lines):
        line = f'{n},"quoted, with 中文"\n'.encode()
        deflated.write(line)
        content.write(line)
    return deflated.close(), content.getvalue()


def test_a_written_file_counts_what_it_holds(tmp_path):
    packed, content = _packed(tmp_path, "events.csv", 5_000)
    assert packed.size == len(content)
    assert packed.sha256 == hashlib.sha256(content).hexdigest()
    assert packed.md5 == hashlib.md5(content, usedforsecurity=False).hexdigest()
    on_disk = packed.path.read_bytes()
    assert packed.compressed_size == len(on_disk) < len(content) // 5
    assert zlib.decompress(on_disk) == content


def test_appended_files_are_attachments_beside_the_drawn_ones(tmp_path, drawn):
    events, events_content = _packed(tmp_path, "consent_events.csv", 20_000)
    requests, requests_content = _packed(tmp_path, "rights_requests.csv", 3)
    out = tmp_path / "report.pdf"
    with out.open("wb") as file:
        written = append_files(drawn, [events, requests], file, NOW)
    assert written == out.stat().st_size
    assert out.read_bytes().startswith(drawn)  # an update: the drawn bytes are untouched

    found = pypdf.PdfReader(out).attachments
    assert found["consent_events.csv"] == [events_content]
    assert found["rights_requests.csv"] == [requests_content]
    assert found["summary.csv"] == [b"a,b\n1,2\n"]
    text = pypdf.PdfReader(out).pages[0].extract_text()
    assert "Compliance report" in text

    listed = subprocess.run(["pdfdetach", "-list", str(out)], capture_output=True, text=True, check=True)
    assert listed.stdout.splitlines()[0] == "3 embedded files" and not listed.stderr
    saved = tmp_path / "saved.csv"
    number = [line.split(": ")[1] for line in listed.stdout.splitlines()[1:]].index("consent_events.csv") + 1
    subprocess.run(["pdfdetach", "-save", str(number), "-o", str(saved), str(out)], check=True)
    assert saved.read_bytes() == events_content


def test_the_update_is_a_sound_pdf_a_3_structure(tmp_path, drawn):
    events, _content = _packed(tmp_path, "consent_events.csv", 100)
    out = tmp_path / "report.pdf"
    with out.open("wb") as file:
        append_files(drawn, [events], file, NOW)
    with pikepdf.open(out, attempt_recovery=False) as pdf:  # no repair: read as written
        assert pdf.check_pdf_syntax() == []  # qpdf's own check of the objects and streams
        catalog = pdf.Root
        specs = {str(ref.F): ref for ref in catalog.AF}
        spec = specs["consent_events.csv"]
        assert spec.AFRelationship == "/Data" and spec.UF == "consent_events.csv"
        stream = spec.EF.F
        assert stream.Subtype == "/text/csv"
        assert int(stream.Params.Size) == events.size
        assert bytes(stream.Params.CheckSum).hex() == events.md5
        assert str(stream.Params.ModDate) == "D:20261203093000Z"
        assert "/OutputIntents" in catalog and "/Metadata" in catalog  # still PDF/A-3b's
        names = [str(n) for n in catalog.Names.EmbeddedFiles.Names[::2]]
        assert names == sorted(names) == ["consent_events.csv", "summary.csv"]


def test_what_is_not_a_drawn_pdf_is_refused(tmp_path):
    events, _content = _packed(tmp_path, "consent_events.csv", 1)
    with pytest.raises(ValueError, match="cross-reference"):
        append_files(b"%PDF-1.7\nnot a document", [events], io.BytesIO(), NOW)


def test_a_discarded_file_leaves_nothing(tmp_path):
    deflated = DeflatedFile(tmp_path / "x.deflate", "x.csv", "text/csv")
    deflated.write(b"partial")
    deflated.discard()
    assert not (tmp_path / "x.deflate").exists()
