"""The reply and completion record of a rights request: facts, rule, timeline, tasks, on time,
and a refusal's ground and complaint channel; the PDF read back in both languages."""

from __future__ import annotations

import io

import pypdf

from consent_service.records import downloads
from consent_service.records.request_record import request_record
from consent_service.records.verify import verify_record
from consent_service.rights import actions, fulfilment, service, systems, tasks
from consent_service.rights.timeline import Actor
from tests.factories import make_org, make_subject

OFFICER = Actor("officer", "staff:7")


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_a_completed_deletion_with_its_task_and_timeline(app, db, clock):
    org = make_org(clock.now(), "record-shop")
    make_subject(org, clock.now(), "u-1", email="person@example.cn")
    systems.register(org, name="Paper archive", owner="Records", categories=["basic"], now=clock.now())
    request = service.create_request(org, "u-1", "deletion", clock.now(), identity_verified_by="company",
                                     client_id="cs_x")  # fmt: skip
    [task] = tasks.tasks_of(request)
    clock.advance(days=2)
    fulfilment.report(org, task.public_id, clock.now(), OFFICER, outcome="done", carried_out_at=clock.now())
    record = request_record(org, request.public_id)
    assert record["rights_request"]["status"] == "completed" and record["rights_request"]["on_time"] is True
    assert [t["status"] for t in record["tasks"]] == ["done"]
    assert [e["action"] for e in record["timeline"]][:2] == ["receive", "verify"]
    assert "person@example.cn" not in repr(record)
    pdf = downloads.request_pdf(org, request.public_id, clock.now())
    assert verify_record(pdf).ok
    text = _text(pdf)
    for expected in (
        "个人信息权利请求答复记录",
        "Rights request record",
        "PIPL 47",
        "Paper archive",
        "是 / yes",
        "自身份核实起 15 个工作日",
        "已完成 / completed",
    ):
        assert expected in text, expected


def test_a_refusal_states_its_ground_and_the_complaint_channel(app, db, clock):
    org = make_org(clock.now(), "refusal-shop")
    make_subject(org, clock.now(), "u-1")
    request = service.create_request(org, "u-1", "access", clock.now(), identity_verified_by="company",
                                     client_id="cs_x")  # fmt: skip
    explanation = "The records are our pricing model."
    actions.refuse(
        org, request.public_id, clock.now(), OFFICER, ground="trade_secrets",
        explanation=explanation, complaint_channel="pipo@shop.example",
    )  # fmt: skip
    record = request_record(org, request.public_id)
    assert record["rights_request"]["refusal"]["ground"] == "trade_secrets"
    pdf = downloads.request_pdf(org, request.public_id, clock.now())
    assert verify_record(pdf).ok
    text = _text(pdf)
    for expected in ("涉及商业秘密", "Involves trade secrets", "pipo@shop.example", "PIPL 50"):
        assert expected in text.replace(" ", "") or expected in text, expected
