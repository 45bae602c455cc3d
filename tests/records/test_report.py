"""The compliance report of a period: consents per purpose, requests by type and outcome, the
share on time, the overdue list, the policies published and the proof, counted in SQL; the PDF
read back in both languages."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdf

from consent_service.audit import trail
from consent_service.audit.checkpoints import create_checkpoint
from consent_service.records import downloads
from consent_service.records.report import compliance_report
from consent_service.records.verify import verify_record
from consent_service.rights import actions, service
from consent_service.rights.timeline import Actor
from tests.factories import act, grant, make_org, make_purpose, make_subject, publish_policy

OFFICER = Actor("officer", "staff:1")


def test_the_report_counts_the_period_and_states_the_proof(app, db, clock):
    org = make_org(clock.now(), "report-shop")
    make_purpose(org, clock.now(), "marketing")
    publish_policy(org, clock.now(), "v1")
    early = make_subject(org, clock.now(), "u-early")
    grant(org, early, clock.now(), "marketing")  # before the period
    clock.advance(days=1)
    start = clock.now()
    people = [make_subject(org, clock.now(), f"u-{n}") for n in range(3)]
    for person in people:
        grant(org, person, clock.now(), "marketing")
    act(org, people[0], clock.now(), "withdraw", "marketing")
    answered = service.create_request(org, "u-1", "access", clock.now(), identity_verified_by="company",
                                      client_id="cs_x")  # fmt: skip
    actions.complete(org, answered.public_id, clock.now(), OFFICER, "done")
    late = service.create_request(
        org, "u-2", "access", clock.now(), identity_verified_by="company", client_id="cs_x"
    )
    trail.record(org.id, "staff", "staff:1", "console:request.verify", now=clock.now())
    create_checkpoint(org, clock.now())
    clock.advance(days=40)
    end = clock.now()

    report = compliance_report(org, start, end, clock.now())
    assert report["consents"] == [{"purpose": "marketing", "acts": {"grant": 3, "withdraw": 1}}]
    assert {(r["type"], r["status"], r["count"]) for r in report["requests"]} == {
        ("access", "completed", 1), ("access", "in_progress", 1)
    }  # fmt: skip
    assert report["on_time"] == {"answered": 1, "on_time": 1, "share": 1.0}
    assert [r["id"] for r in report["overdue"]] == [late.public_id]
    assert report["policies"] == []  # v1 was published before the period
    assert report["proof"]["checkpoint"]["seq"] == 1
    assert report["proof"]["trail"]["ok"] and report["proof"]["trail"]["head"]["seq"] >= 1

    pdf = downloads.report_pdf(org, start, end, clock.now())
    check = verify_record(pdf)
    assert check.ok and b"withdraw,1" in check.attachments["consents.csv"], check.messages
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("合规报告", "Compliance report", "PIPL 54", "grant: 3", "withdraw: 1", late.public_id,
                     "完整 intact", "第 1 页"):  # fmt: skip
        assert expected in text.replace(" ", "") or expected in text, expected
    assert timedelta(days=40) == end - start
