"""Two systems answering the last two tasks of one request at the same moment, with committed
data: the request completes once, with both answers on its timeline, and one task answered
twice at once is answered once (the other caller gets a 409)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from consent_service.errors import DomainError
from consent_service.extensions import db
from consent_service.organizations.models import Organization
from consent_service.rights import fulfilment, service, systems, tasks
from consent_service.rights.models import RightsRequest
from consent_service.rights.timeline import Actor, timeline
from consent_service.unit_of_work import unit_of_work
from tests.conftest import T0
from tests.factories import make_org, make_subject

WAIT = 30


@pytest.fixture
def world(app):
    """A committed organization with one access request waiting for two systems."""
    slug = f"tasks-{uuid.uuid4().hex[:12]}"
    with app.app_context():
        org = make_org(T0, slug=slug)
        for name in ("CRM", "Orders"):
            systems.register(org, name=name, owner="Data team", categories=["basic"], now=T0)
        make_subject(org, T0, "u-1", email="u1@example.cn")
        request = service.create_request(org, "u-1", "access", T0, identity_verified_by="company",
                                         client_id="cs_x")  # fmt: skip
        ids = (org.id, request.public_id, [t.public_id for t in tasks.tasks_of(request)])
        db.session.commit()
    yield ids
    with app.app_context():
        org_id = ids[0]
        requests = "SELECT id FROM rights_request WHERE org_id = :org"
        for table in ("rights_package", "rights_task", "rights_notice", "rights_request_event"):
            column = "org_id" if table == "rights_task" else "request_id"
            where = "org_id = :org" if column == "org_id" else f"request_id IN ({requests})"
            db.session.execute(text(f"DELETE FROM {table} WHERE {where}"), {"org": org_id})  # noqa: S608
        for table in ("rights_request", "data_system", "webhook_delivery", "mail_message", "subject"):
            db.session.execute(text(f"DELETE FROM {table} WHERE org_id = :org"), {"org": org_id})  # noqa: S608
        db.session.execute(text("DELETE FROM organization WHERE id = :org"), {"org": org_id})
        db.session.commit()


def _answer_at_once(app, org_id: int, task_ids: list[str]) -> list[object]:
    start = threading.Barrier(len(task_ids))

    def answer(task_id: str):
        with app.app_context():
            start.wait(timeout=WAIT)
            try:
                with unit_of_work():
                    org = db.session.get(Organization, org_id)
                    now = app.extensions["clock"].now()
                    fulfilment.report(org, task_id, now, Actor("client", "cs_sys"), outcome="no_data")
                return "answered"
            except DomainError as exc:
                return exc.code

    with ThreadPoolExecutor(max_workers=len(task_ids)) as pool:
        return [f.result(timeout=WAIT) for f in [pool.submit(answer, t) for t in task_ids]]


def _request(app, public_id: str):
    with app.app_context():
        request = db.session.scalars(select(RightsRequest).where(RightsRequest.public_id == public_id)).one()
        steps = [e.action for e in timeline(request)]
        status = request.status
        db.session.rollback()
    return status, steps


def test_the_last_two_answers_at_once_complete_the_request_once(app, world, clock):
    org_id, request_id, task_ids = world
    assert _answer_at_once(app, org_id, task_ids) == ["answered", "answered"]
    status, steps = _request(app, request_id)
    assert status == "completed"
    assert steps.count("task_answered") == 2
    assert steps.count("complete") == 1 and steps[-1] == "complete"


def test_one_task_answered_twice_at_once_is_answered_once(app, world, clock):
    org_id, request_id, task_ids = world
    outcomes = _answer_at_once(app, org_id, [task_ids[0], task_ids[0]])
    assert sorted(outcomes) == ["answered", "task_answered"]
    status, steps = _request(app, request_id)
    assert (status, steps.count("task_answered")) == ("awaiting_systems", 1)
