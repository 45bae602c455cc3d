"""A person's consent record as printed: a line per event with its receipt, the receipt's JWS
SHA-256 shortened on paper and whole in the attachments, column headings on every page of the
history, and a purpose too long for a line wrapped under itself, inside the page."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from consent_service.records import consent_records, downloads
from consent_service.records.consent_records import PRINTED_SHA256
from consent_service.records.verify import attachments
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy

#: The right edge of the page's content: A4 landscape less its 18 mm margin, in points.
RIGHT_EDGE = 841.89 - 18 / 25.4 * 72
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>')
LONG_NAME_ZH = "境外客服支持与售后服务"
LONG_NAME_EN = "Customer support from Singapore for orders and after-sales service of the shop"


def pdftotext(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    command = ["pdftotext", *args, str(path), "-"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def pages_of_words(pdf: bytes, tmp_path: Path) -> list[list[tuple[float, float, float, str]]]:
    """Each page's words (x min, y min, x max, text), as pdftotext finds them."""
    pages = pdftotext(pdf, tmp_path, "-bbox").split("<page ")[1:]
    return [[(float(a), float(b), float(c), w) for a, b, c, w in WORD.findall(page)] for page in pages]


def lines_of(words: list[tuple[float, float, float, str]]) -> list[list[tuple[float, float, float, str]]]:
    """Words on the same baseline together, top to bottom, each line left to right."""
    rows: dict[float, list] = {}
    for word in words:
        rows.setdefault(round(word[1], 1), []).append(word)
    return [sorted(rows[y]) for y in sorted(rows)]


@pytest.fixture
def long_history(db, clock):
    """A person of "shop" with 40 events of a purpose whose name is longer than a line."""
    org = make_org(clock.now(), "shop")
    make_purpose(org, clock.now(), "support", name_zh=LONG_NAME_ZH * 2, name_en=LONG_NAME_EN)
    publish_policy(org, clock.now(), "v1")
    subject = make_subject(org, clock.now(), "u-2")
    for _ in range(20):
        clock.advance(seconds=60)
        grant(org, subject, clock.now(), "support")
        act(org, subject, clock.now(), "withdraw", "support")
    return org, subject


def record_of(app, org, subject, clock) -> tuple[bytes, list[dict]]:
    with app.test_request_context():
        pdf = downloads.subject_pdf(org, subject, clock.now())
        events = consent_records.subject_record_of(org, subject, clock.now()).data["events"]
    return pdf, events


def test_each_event_is_a_line_with_its_receipt(app, history, clock, tmp_path):
    org, subject, _receipts = history
    pdf, events = record_of(app, org, subject, clock)
    text = pdftotext(pdf, tmp_path, "-layout")
    assert f"JWS SHA-256 前 {PRINTED_SHA256} 位" in text and f"JWS SHA-256, first {PRINTED_SHA256}" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    acts = {"grant": "同意 grant, explicit", "withdraw": "撤回 withdraw"}
    for event in events:
        sha256 = event["receipt_jws_sha256"]
        receipt = [event["receipt_id"], sha256[:PRINTED_SHA256]] if event["receipt_id"] else ["-", "-"]
        expected = " ".join([str(event["seq"]), event["occurred_at_local"], "api", "v1", *receipt,
                             acts[event["action"]], "marketing 中文 marketing name v1"])  # fmt: skip
        assert expected in lines, (expected, lines)
    # The receipts' whole SHA-256 and JWS are in the attachments, not on paper.
    files = attachments(pdf)
    for event in events[0], events[2]:
        assert event["receipt_jws_sha256"] not in text
        assert event["receipt_jws_sha256"].encode() in files["events.csv"]
        assert event["receipt_jws"].encode() in files["record.json"]


def test_the_headings_repeat_on_every_page_of_the_history(app, long_history, clock, tmp_path):
    pdf, _ = record_of(app, *long_history, clock)
    pages = pages_of_words(pdf, tmp_path)
    assert len(pages) > 2
    assert sum(word[3] == "序号" for word in pages[0]) == 1
    for words in pages[1:]:
        first, second, *_ = lines_of(words)
        assert [w[3] for w in first][:2] == ["序号", "时间"] and "目的" in [w[3] for w in first]
        assert [w[3] for w in second][:2] == ["No.", "Time"] and "Purpose" in [w[3] for w in second]


def test_a_long_purpose_wraps_under_itself_inside_the_page(app, long_history, clock, tmp_path):
    pdf, _ = record_of(app, *long_history, clock)
    pages = pages_of_words(pdf, tmp_path)
    for words in pages:
        assert max(word[2] for word in words) <= RIGHT_EDGE, "a word beyond the right margin"
    words = pages[1]
    purpose_x = next(word[0] for word in words if word[3] == "Purpose")
    lines = lines_of(words)[2:-1]  # not the headings, nor the page number
    continued = [line for line in lines if line[0][0] > 100]
    assert continued and len(continued) >= len(lines) // 2
    assert {round(line[0][0], 1) for line in continued} == {round(purpose_x, 1)}
    text = "".join(pdftotext(pdf, tmp_path).split())
    assert "".join(f"{LONG_NAME_ZH * 2} {LONG_NAME_EN} v1".split()) in text
