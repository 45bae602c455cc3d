"""Requests carried out where the information is: the registry of data systems, a task for each
system, their answers, completion when the last one answers; a withdrawal through the ledger at
once; a correction here; a deletion announced to subscribers."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from consent_service.audit.checkpoints import create_checkpoint
from consent_service.audit.verify import verify_organization
from consent_service.consent.models import ConsentState
from consent_service.errors import Conflict, InvalidInput, NotFound
from consent_service.rights import actions, fulfilment, service, systems, tasks
from consent_service.rights.actions import TasksOpen
from consent_service.rights.fulfilment import TaskAnswered
from consent_service.rights.models import RightsTask
from consent_service.rights.timeline import Actor, timeline
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.consent.erasure_cases import EMAIL, EXTERNAL_ID, PERSONAL, person_with_history, purposes
from tests.factories import grant, make_org, make_purpose, make_subject, publish_policy
from tests.rights.conftest import OFFICER, mails

SYSTEM = Actor("client", "cs_crm")


def register(org, clock, name="CRM", categories=("basic", "contacts"), url=None):
    system, secret = systems.register(
        org, name=name, owner="Data team", categories=list(categories), now=clock.now(), webhook_url=url
    )
    return system, secret


def vouched(org, clock, request_type, **options):
    return service.create_request(
        org, "u-1", request_type, clock.now(), identity_verified_by="company", client_id="cs_x", **options
    )


def deliveries(db, event_type=None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if event_type:
        query = query.where(WebhookDelivery.event_type == event_type)
    return list(db.session.scalars(query))


# --- the registry -----------------------------------------------------------------------------


def test_a_system_is_registered_with_its_categories_and_a_webhook_of_its_own(db, org, clock):
    system, secret = register(org, clock, url="https://crm.shop.example/tasks")
    assert (system.delivery, system.categories) == ("webhook", ["basic", "contacts"])
    assert secret.startswith("whsec_")
    endpoint = systems.endpoint_of(system)
    assert (endpoint.url, endpoint.events) == ("https://crm.shop.example/tasks", ["rights.task.opened"])
    manual, no_secret = register(org, clock, name="Paper archive", categories=["identity"])
    assert (manual.delivery, no_secret, systems.endpoint_of(manual)) == ("manual", None, None)
    assert [s.name for s in systems.active(org)] == ["CRM", "Paper archive"]
    assert [s.name for s in systems.holding(org, ["identity"])] == ["Paper archive"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"owner": " "}, "owner"),
        ({"categories": []}, "categories"),
        ({"categories": ["basic", "no-such-category"]}, "categories"),
        ({"name": "CRM"}, "name"),  # taken
    ],
)
def test_a_bad_system_is_refused_by_field_and_nothing_is_stored(db, org, clock, fields, field):
    register(org, clock)
    arguments = {"name": "Orders", "owner": "Data team", "categories": ["basic"]} | fields
    with pytest.raises(InvalidInput) as refused:
        systems.register(org, now=clock.now(), **arguments)
    assert field in refused.value.details
    assert [s.name for s in systems.active(org)] == ["CRM"]


def test_a_system_with_open_tasks_cannot_be_retired_and_retiring_deletes_its_endpoint(db, org, person, clock):
    system, _ = register(org, clock, url="https://crm.shop.example/tasks")
    request = vouched(org, clock, "access")
    with pytest.raises(Conflict):
        systems.retire(org, system.public_id, clock.now())
    (task,) = tasks.tasks_of(request)
    fulfilment.report(org, task.public_id, clock.now(), SYSTEM, outcome="no_data")
    systems.retire(org, system.public_id, clock.now())
    assert systems.active(org) == []
    assert db.session.get(WebhookEndpoint, system.webhook_endpoint_id).deleted_at == clock.now()
    with pytest.raises(NotFound):
        systems.get(org, system.public_id)


# --- tasks and answers ------------------------------------------------------------------------


def test_an_access_request_waits_for_every_system_and_completes_with_the_last_answer(db, org, person, clock):
    crm, _ = register(org, clock, url="https://crm.shop.example/tasks")
    orders, _ = register(org, clock, name="Orders", categories=["property"])
    everything = webhooks.create_endpoint(org, "https://hooks.shop.example/all", ["*"], clock.now())[0]
    request = vouched(org, clock, "access")
    assert request.status == "awaiting_systems"
    opened = tasks.tasks_of(request)
    assert [(t.system.name, t.action, t.status) for t in opened] == [
        ("CRM", "access", "open"),
        ("Orders", "access", "open"),
    ]
    # The task goes to the CRM's own endpoint only, with identifiers and no personal data.
    (sent,) = deliveries(db, "rights.task.opened")
    assert sent.endpoint_id == crm.webhook_endpoint_id != everything.id
    data = sent.payload["data"]
    assert data == {
        "task": opened[0].public_id,
        "system": crm.public_id,
        "action": "access",
        "subject": "u-1",
        "request": request.public_id,
        "due_at": request.due_at.isoformat(),
        "categories": [],
    }
    clock.advance(hours=2)
    fulfilment.report(org, opened[0].public_id, clock.now(), SYSTEM, outcome="done",
                      data={"orders": [{"id": "o-1", "total": "12.00"}], "name": "李雷"})  # fmt: skip
    assert request.status == "awaiting_systems"
    fulfilment.report(org, opened[1].public_id, clock.now(), SYSTEM, outcome="no_data", note="no orders")
    assert request.status == "completed"
    assert [e.action for e in timeline(request)][-5:] == [
        "task_answered",
        "task_answered",
        "systems_done",
        "package",
        "complete",
    ]
    (reply,) = mails(db, org, "rights.completed")
    link = re.search(r"https://consent\.test/rights/packages/\S+", reply.text).group(0)
    assert "有效期至" in reply.text
    assert link not in " ".join(e.note or "" for e in timeline(request))  # the link is the requester's alone
    assert tasks.result_of(opened[0]) == {"orders": [{"id": "o-1", "total": "12.00"}], "name": "李雷"}
    stored = db.session.execute(text("SELECT result_encrypted FROM rights_task")).scalars().all()
    assert not any(value and ("李雷" in value or "o-1" in value) for value in stored)


@pytest.mark.parametrize(
    ("request_type", "answer", "field"),
    [
        ("access", {"outcome": "done"}, "data"),
        ("deletion", {"outcome": "done"}, "carried_out_at"),
        ("correction", {"outcome": "done", "carried_out_at": "future"}, "carried_out_at"),
        ("deletion", {"outcome": "done", "carried_out_at": "now", "data": {"x": 1}}, "data"),
        ("access", {"outcome": "maybe"}, "outcome"),
    ],
)
def test_a_bad_answer_is_refused_by_field_and_the_task_stays_open(
    db, org, person, clock, request_type, answer, field
):
    register(org, clock)
    request = vouched(org, clock, request_type)
    (task,) = tasks.tasks_of(request)
    at = {"now": clock.now(), "future": clock.now() + timedelta(hours=1)}
    if "carried_out_at" in answer:
        answer = answer | {"carried_out_at": at[answer["carried_out_at"]]}
    with pytest.raises(InvalidInput) as refused:
        fulfilment.report(org, task.public_id, clock.now(), SYSTEM, **answer)
    assert field in refused.value.details
    assert (task.status, request.status) == ("open", "awaiting_systems")


def test_a_task_is_answered_once_and_a_request_with_open_tasks_cannot_be_completed(db, org, person, clock):
    register(org, clock)
    register(org, clock, name="Orders")
    request = vouched(org, clock, "deletion")
    first, _ = tasks.tasks_of(request)
    with pytest.raises(TasksOpen) as waiting:
        fulfilment.finish(org, request.public_id, clock.now(), OFFICER, "done by hand")
    assert waiting.value.details == {"open_tasks": 2}
    fulfilment.report(org, first.public_id, clock.now(), SYSTEM, outcome="done", carried_out_at=clock.now())
    with pytest.raises(TaskAnswered):
        fulfilment.report(org, first.public_id, clock.now(), SYSTEM, outcome="no_data")
    assert first.status == "done" and first.carried_out_at == clock.now()


def test_a_refused_request_cancels_its_open_tasks(db, org, person, clock):
    register(org, clock)
    request = vouched(org, clock, "access")
    actions.refuse(org, request.public_id, clock.now(), OFFICER, ground="bad_faith",
                   explanation="the tenth copy this week", complaint_channel="pipo@shop.example")  # fmt: skip
    (task,) = tasks.tasks_of(request)
    assert (task.status, task.answered_at) == ("cancelled", clock.now())
    with pytest.raises(TaskAnswered):
        fulfilment.report(org, task.public_id, clock.now(), SYSTEM, outcome="no_data")


def test_without_a_system_an_officer_completes_and_explanations_open_no_task(db, org, person, clock):
    request = vouched(org, clock, "deletion")
    assert [e.action for e in timeline(request)][-1] == "no_systems"
    fulfilment.finish(org, request.public_id, clock.now(), OFFICER, "deleted by hand")
    assert request.status == "completed"
    register(org, clock)
    make_subject(org, clock.now(), "u-1")  # the first u-1 was erased with the deletion
    explanation = vouched(org, clock, "explanation")
    assert (explanation.status, tasks.tasks_of(explanation)) == ("in_progress", [])


def test_a_tasks_of_another_organization_is_not_found(db, org, person, clock):
    register(org, clock)
    (task,) = tasks.tasks_of(vouched(org, clock, "access"))
    other = make_org(clock.now(), "other-shop")
    with pytest.raises(NotFound):
        fulfilment.report(other, task.public_id, clock.now(), SYSTEM, outcome="no_data")
    assert tasks.list_tasks(other) == ([], None)


# --- here: withdrawal, correction, deletion ---------------------------------------------------


def test_a_withdrawal_request_withdraws_every_consent_at_once_through_the_ledger(db, org, person, clock):
    make_purpose(org, clock.now(), "marketing")
    make_purpose(org, clock.now(), "newsletter")
    publish_policy(org, clock.now(), "v1")
    grant(org, person, clock.now(), "marketing")
    grant(org, person, clock.now(), "newsletter")
    webhooks.create_endpoint(org, "https://hooks.shop.example/in", ["consent.withdrawn"], clock.now())
    clock.advance(minutes=1)
    request = vouched(org, clock, "withdrawal")
    assert request.status == "completed"
    states = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == person.id))
    assert {s.status for s in states} == {"withdrawn"}
    assert len(deliveries(db, "consent.withdrawn")) == 2  # one per purpose, as for any withdrawal
    notes = {e.action: e.note for e in timeline(request)}
    assert notes["withdraw_consents"] == "withdrawn through the ledger: marketing, newsletter"
    assert "2 consents withdrawn" in mails(db, org, "rights.completed")[0].text


def test_a_correction_updates_what_this_service_holds_and_the_systems_read_it_from_the_task(
    db, org, person, clock
):
    register(org, clock, url="https://crm.shop.example/tasks")
    request = vouched(org, clock, "correction", corrections={"email": "Li.Lei@New.example", "phone": None})
    assert (person.email, person.phone) == ("Li.Lei@new.example", None)  # the domain normalized
    (task,) = tasks.tasks_of(request)
    assert tasks.what_is_asked(task)["corrections"] == {"email": "Li.Lei@new.example", "phone": None}
    (opened,) = deliveries(db, "rights.task.opened")
    assert "new.example" not in json.dumps(opened.payload)  # the values are read with a token, not pushed
    stored = db.session.execute(
        text("SELECT corrections_encrypted FROM rights_request WHERE id = :id"), {"id": request.id}
    ).scalar_one()
    assert "new.example" not in stored


@pytest.mark.parametrize(
    ("request_type", "corrections", "field"),
    [
        ("correction", {"email": "not an address"}, "corrections.email"),
        ("correction", {"birth_date": "2000-01-01"}, "corrections.birth_date"),
        ("correction", {}, "corrections"),
        ("access", {"email": "a@b.example"}, "corrections"),
    ],
)
def test_a_bad_correction_is_refused_and_nothing_is_received(
    db, org, person, clock, request_type, corrections, field
):
    with pytest.raises(InvalidInput) as refused:
        vouched(org, clock, request_type, corrections=corrections)
    assert field in refused.value.details
    assert db.session.scalars(select(RightsTask)).all() == []
    assert person.email == "person@example.cn"


def test_a_deletion_is_announced_to_subscribers_and_opens_deletion_tasks(db, org, person, clock):
    register(org, clock)
    webhooks.create_endpoint(org, "https://hooks.shop.example/in", ["subject.deleted"], clock.now())
    request = vouched(org, clock, "cancellation")
    (announced,) = deliveries(db, "subject.deleted")
    assert announced.payload["data"] == {
        "subject": "u-1",
        "request": request.public_id,
        "type": "cancellation",
    }
    assert [t.action for t in tasks.tasks_of(request)] == ["deletion"]


def test_another_persons_request_touches_nothing_of_this_person(db, org, person, clock):
    other = make_subject(org, clock.now(), "u-2", email="other@example.cn")
    service.create_request(
        org, "u-2", "correction", clock.now(), identity_verified_by="company", client_id="cs_x",
        corrections={"email": "other.new@example.cn"},
    )  # fmt: skip
    assert (person.email, other.email) == ("person@example.cn", "other.new@example.cn")


def test_a_deletion_erases_the_person_here_once_every_system_has_deleted(db, clock):
    org = make_org(clock.now(), "erase-flow")
    purposes(org, clock.now())
    alice = person_with_history(org, clock)
    create_checkpoint(org, clock.now())  # made before the erasure: it must still verify after
    register(org, clock)
    request = service.create_request(
        org, EXTERNAL_ID, "deletion", clock.now(), identity_verified_by="company", client_id="cs_x",
        details="please delete everything, I moved away",
    )  # fmt: skip
    assert alice.erased_at is None  # not before the systems have deleted
    (task,) = tasks.tasks_of(request)
    clock.advance(hours=1)
    fulfilment.report(org, task.public_id, clock.now(), SYSTEM, outcome="done", carried_out_at=clock.now())
    assert request.status == "completed"
    assert (alice.erased_at, alice.external_id[:4], alice.email) == (clock.now(), "psn_", None)
    assert request.details_encrypted is None and request.requester_contact_encrypted is None
    states = db.session.scalars(select(ConsentState).where(ConsentState.subject_id == alice.id))
    assert {s.status for s in states} == {"withdrawn"}
    erase_note = next(e.note for e in timeline(request) if e.action == "erase_here")
    assert erase_note.startswith("erased here: 3 consents withdrawn, 5 events redacted")
    (reply,) = mails(db, org, "rights.completed")
    assert reply.to == EMAIL and "去标识化保存" in reply.text
    report = verify_organization(org)
    assert report.ok, report.problems
    create_checkpoint(org, clock.now())
    assert verify_organization(org).ok
    db.session.flush()
    leftovers = db.session.execute(
        text("SELECT * FROM rights_request WHERE id = :id"), {"id": request.id}
    ).one()
    assert not [v for v in PERSONAL if any(cell is not None and v in str(cell) for cell in leftovers)]
