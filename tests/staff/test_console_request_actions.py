"""An officer works a request from its page: verify, assign, pause and resume, extend, answer a
manual task, complete, refuse. Each action has the effect the API's has (the same service
functions), a notice on the page, an audit entry with what changed, and for bad input the
message beside the field with nothing written."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from consent_service.audit.models import AuditEntry
from consent_service.audit.verify import verify_organization
from consent_service.extensions import db as _db
from consent_service.rights import service, systems
from consent_service.rights.models import RightsRequest, RightsTask
from tests.factories import make_org, make_subject
from tests.rights.conftest import mails
from tests.staff.console_support import console_post, sign_in_as
from tests.staff.test_console_sign_in import sign_in


@pytest.fixture
def org(db, clock):
    shop = make_org(clock.now(), "shop")
    make_subject(shop, clock.now(), "u-1", email="person@example.cn")
    _db.session.commit()
    return shop


@pytest.fixture
def officer(client, org, clock):
    return sign_in_as(client, org, clock, "officer")


def _new(org, clock, request_type="access", **options) -> str:
    request = service.create_request(org, "u-1", request_type, clock.now(), client_id="cs_x", **options)
    _db.session.commit()
    return request.public_id


def _row(public_id: str) -> RightsRequest:
    _db.session.expire_all()
    return _db.session.scalars(select(RightsRequest).where(RightsRequest.public_id == public_id)).one()


def _entries(action: str) -> list[AuditEntry]:
    return list(
        _db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
    )


def _act(client, rid: str, action: str, **form):
    return console_post(client, f"/console/shop/requests/{rid}/{action}?lang=en", **form)


def _page(client, rid: str, lang: str = "en") -> str:
    answer = client.get(f"/console/shop/requests/{rid}?lang={lang}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_an_officer_verifies_the_requester_and_the_clock_starts(client, org, clock, officer):
    rid = _new(org, clock)
    assert _row(rid).status == "verifying_identity" and _row(rid).due_at is None
    page = _page(client, rid)
    assert "Verify identity" in page and "Mail a new code to the requester" in page

    answer = _act(client, rid, "verify")  # the box is not ticked
    assert answer.status_code == 400
    assert "Confirm that you checked who the requester is." in answer.get_data(as_text=True)
    assert _row(rid).status == "verifying_identity" and not _entries("console:request.verify")

    answer = _act(client, rid, "verify", checked="yes")
    assert answer.status_code == 303 and answer.location.endswith("done=verify")
    row = _row(rid)
    assert (row.status, row.identity_verified_by) == ("in_progress", "officer") and row.due_at is not None
    assert "the legal clock runs" in client.get(answer.location).get_data(as_text=True)
    (entry,) = _entries("console:request.verify")
    assert (entry.actor_kind, entry.actor, entry.target) == (
        "staff",
        f"staff:{officer.id}",
        f"rights_request:{rid}",
    )
    assert entry.details["before"]["status"] == "verifying_identity"
    assert entry.details["after"]["status"] == "in_progress" and entry.details["after"]["due_at"]
    # The acknowledgement with the due date went to the person.
    assert [m.to for m in mails(_db, org, "rights.acknowledgement")] == ["person@example.cn"]
    # The timeline names the officer, the person's dashboard "the company's staff".
    assert "officer: Li Lei" in _page(client, rid)
    assert verify_organization(org).ok


def test_assigning_names_the_member_in_the_page_and_only_their_id_in_the_trail(client, org, clock, officer):
    rid = _new(org, clock, identity_verified_by="company")
    answer = _act(client, rid, "assign", member="999999")
    assert answer.status_code == 400 and "Choose a member of staff" in answer.get_data(as_text=True)
    answer = _act(client, rid, "assign", member=str(officer.id))
    assert answer.status_code == 303
    assert _row(rid).assigned_to == "officer@shop.example"
    (entry,) = _entries("console:request.assign")
    before = entry.details["before"]
    assert before["assigned_to"] is None
    assert entry.details["after"] == {**before, "assigned_to": f"staff:{officer.id}"}
    assert "officer@shop.example" not in str(entry.details)


def test_pausing_needs_a_reason_and_resuming_moves_the_due_date(client, org, clock, officer):
    rid = _new(org, clock, identity_verified_by="company")
    due = _row(rid).due_at
    answer = _act(client, rid, "pause", reason="  ")
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert re.search(r'id="pause-reason-error">This is required.', body)
    assert 'aria-invalid="true"' in body and _row(rid).status == "in_progress"

    assert _act(client, rid, "pause", reason="Which orders do you mean?").status_code == 303
    assert _row(rid).status == "awaiting_requester"
    assert "Which orders do you mean?" in _page(client, rid)
    clock.advance(days=7)
    assert sign_in(client).status_code == 303  # the session ended while idle
    assert _act(client, rid, "resume", note="They answered").status_code == 303
    row = _row(rid)
    assert row.status == "in_progress" and row.due_at > due
    (pause,), (resume,) = _entries("console:request.pause"), _entries("console:request.resume")
    assert pause.details["after"]["status"] == "awaiting_requester"
    assert resume.details["after"]["due_at"] > resume.details["before"]["due_at"]
    assert "Which orders" not in str(pause.details)  # free text stays out of the trail


def test_a_pipl_request_offers_no_extension_and_refuses_one(client, org, clock, officer):
    rid = _new(org, clock, identity_verified_by="company")
    assert "Extend the deadline" not in _page(client, rid)
    answer = _act(client, rid, "extend", reason="Many systems")
    assert answer.status_code == 422
    assert "The deadline of this request cannot be extended." in answer.get_data(as_text=True)
    assert not _row(rid).extended_at


def test_a_gdpr_request_is_extended_and_the_requester_told(client, org, clock, officer):
    rid = _new(org, clock, identity_verified_by="company", regime="GDPR")
    due = _row(rid).due_at
    assert "Extend the deadline" in _page(client, rid)
    assert _act(client, rid, "extend", reason="The request covers ten years of orders").status_code == 303
    row = _row(rid)
    assert row.extended_at is not None and row.due_at > due
    [told] = mails(_db, org, "rights.extended")  # the new due date and the reason
    assert "ten years of orders" in told.text
    (entry,) = _entries("console:request.extend")
    assert (entry.details["before"]["extended"], entry.details["after"]["extended"]) == (False, True)
    assert "Extend the deadline" not in _page(client, rid)  # once only


def test_a_manual_task_is_answered_and_the_last_answer_completes_the_request(client, org, clock, officer):
    systems.register(org, name="Paper archive", owner="Records", categories=["basic"], now=clock.now())
    _db.session.commit()
    rid = _new(org, clock, "deletion", identity_verified_by="company")
    assert _row(rid).status == "awaiting_systems"
    task = _db.session.scalars(select(RightsTask)).one()
    page = _page(client, rid)
    assert "Answer the task of Paper archive" in page and "When it was carried out" in page

    # Completing while the task is open is refused with the reason.
    answer = _act(client, rid, "complete")
    assert answer.status_code == 409 and "have not answered their tasks" in answer.get_data(as_text=True)

    path = f"/console/shop/requests/{rid}/tasks/{task.public_id}?lang=en"
    answer = console_post(client, path, outcome="done", carried_out_at="yesterday")
    assert answer.status_code == 400 and "Enter a date and time" in answer.get_data(as_text=True)
    answer = console_post(client, path, outcome="done")
    assert answer.status_code == 400 and "Say when it was carried out" in answer.get_data(as_text=True)
    assert _db.session.get(RightsTask, task.id).status == "open"

    local = clock.now().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    answer = console_post(client, path, outcome="done", carried_out_at=local.strftime("%Y-%m-%dT%H:%M"))
    assert answer.status_code == 303
    _db.session.expire_all()
    assert _db.session.get(RightsTask, task.id).status == "done"
    assert _row(rid).status == "completed"
    (entry,) = _entries("console:request.task")
    assert entry.target == f"rights_task:{task.public_id}"
    assert (entry.details["before"]["task"], entry.details["after"]["task"]) == ("open", "done")
    assert entry.details["after"]["status"] == "completed"
    # A second answer to the same task is refused.
    answer = console_post(client, path, outcome="no_data")
    assert answer.status_code in (409, 404) or "answered already" in answer.get_data(as_text=True)


def test_an_officer_completes_a_request_no_system_holds(client, org, clock, officer):
    rid = _new(org, clock, "withdrawal", identity_verified_by="company")
    if _row(rid).status == "completed":  # a withdrawal is carried out in the ledger at once
        rid = _new(org, clock, "access", identity_verified_by="company")
    assert _act(client, rid, "complete", note="We hold nothing more about you.").status_code == 303
    assert _row(rid).status == "completed"
    assert any("We hold nothing more about you." in m.text for m in mails(_db, org, "rights.completed"))
    (entry,) = _entries("console:request.complete")
    assert entry.details["after"]["status"] == "completed"
    # A closed request offers no action and refuses one.
    page = _page(client, rid)
    assert "Work the request" not in page
    answer = _act(client, rid, "pause", reason="late")
    assert answer.status_code == 409 and "present state" in answer.get_data(as_text=True)


def test_a_refusal_needs_ground_explanation_and_channel(client, org, clock, officer):
    rid = _new(org, clock, identity_verified_by="company")
    page = _page(client, rid)
    assert "pipo@shop.example" in page  # the complaint channel is suggested
    answer = _act(client, rid, "refuse", ground="nonsense", explanation="", complaint_channel="")
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert "Choose the ground of GB/T 35273 8.7" in body
    assert body.count("This is required.") == 2 and _row(rid).status == "in_progress"

    answer = _act(
        client, rid, "refuse", ground="trade_secrets", explanation="The records are our pricing model.",
        complaint_channel="pipo@shop.example",
    )  # fmt: skip
    assert answer.status_code == 303
    row = _row(rid)
    assert (row.status, row.refusal_ground) == ("refused", "trade_secrets")
    assert mails(_db, org, "rights.refused")
    (entry,) = _entries("console:request.refuse")
    assert entry.details["ground"] == "trade_secrets" and entry.details["after"]["status"] == "refused"


def test_an_auditor_sees_the_request_but_no_form(client, org, clock):
    rid = _new(org, clock, identity_verified_by="company")
    sign_in_as(client, org, clock, "auditor")
    page = _page(client, rid)
    assert "The deadline explained" in page and "Work the request" not in page
    assert _act(client, rid, "complete").status_code == 403


def test_the_page_and_its_messages_speak_chinese(client, org, clock, officer):
    rid = _new(org, clock, identity_verified_by="company")
    page = _page(client, rid, "zh")
    assert "拒绝" in page and "暂停" in page
    answer = console_post(client, f"/console/shop/requests/{rid}/pause?lang=zh", reason="")
    assert answer.status_code == 400 and "必填" in answer.get_data(as_text=True)
