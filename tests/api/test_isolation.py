"""Organization A's client can neither read nor change organization B's data, on any route.

One test, parametrized over every route of ``/api/v1`` (built from the operation registry; a
route without a case here fails). A holds every scope and uses B's real identifiers: B's
subject, B's own purpose, B's policy draft, B's webhook and one of its deliveries.

- A route about one object answers 404 problem+json: never 403 (that would reveal that the
  object exists) and never 200 with B's data.
- A route that is not about one object (lists, batches, decisions, create-or-update) answers
  with A's data only, or ``unknown_subject``; creating with B's identifier creates A's own.

Afterwards every row of B is as it was (read from the database), and no answer contains any
of B's private values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

import consent_service.consent.api
import consent_service.policies.api
import consent_service.receipts.api
import consent_service.records.api
import consent_service.rights.api
import consent_service.rights.systems_api
import consent_service.webhooks.api  # noqa: F401  (each import registers its operations)
from consent_service.api.registry import OPERATIONS
from consent_service.consent.models import ConsentEvent, Subject
from consent_service.extensions import db as _db
from consent_service.policies import purposes
from consent_service.policies import service as policies
from consent_service.policies.models import PolicyVersion, Purpose, policy_purpose_version
from consent_service.receipts.models import ConsentReceipt
from consent_service.records.verify import attachments, verify_record
from consent_service.rights import service as rights
from consent_service.rights import systems, tasks
from consent_service.rights.models import RightsRequest
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import SECTIONS, act, grant, make_subject, purpose_data


def route_id(op) -> str:
    return f"{op.method} {op.rule}"


#: Every route known when this module is collected; the test checks again once the app is built.
ROUTES = sorted(route_id(op) for op in OPERATIONS)

B_SUBJECT = "b-user"
B_PURPOSE = "b-only"
B_POLICY = "b-draft"


@dataclass
class World:
    """Two organizations, A calling, B's identifiers and private values."""

    a: Any
    b: Any
    b_webhook: str
    b_delivery: str
    a_webhook: str
    a_delivery: str
    b_request: str = ""
    b_system: str = ""
    b_task: str = ""
    b_receipt: str = ""
    private: list[str] = field(default_factory=list)


@pytest.fixture
def world(make_caller, db, clock) -> World:
    now = clock.now()
    a = make_caller()
    b = make_caller()
    # A: a person with a consent, a webhook with a delivery.
    a_user = make_subject(a.org, now, "a-user")
    a_hook, _ = webhooks.create_endpoint(a.org, "https://a.example/hooks", ["*"], now)
    grant(a.org, a_user, now, "marketing")
    # B: its own purpose, a person with consents and contact details, a policy draft, a
    # webhook with deliveries.
    purposes.create_purpose(b.org, purpose_data(B_PURPOSE, name_en="B secret purpose"), now)
    b_user = make_subject(b.org, now, B_SUBJECT, email="b-private@b.example", phone="+86 555 0100")
    b_hook, _ = webhooks.create_endpoint(b.org, "https://b.example/secret-hooks", ["*"], now)
    granted = grant(b.org, b_user, now, "marketing", B_PURPOSE)
    withdrawn = act(b.org, b_user, now, "withdraw", "marketing")
    policies.create_policy(
        b.org,
        {
            "label": B_POLICY,
            "text_zh": "B 的政策",
            "text_en": "B secret policy text",
            "sections": SECTIONS,
            "purposes": ["marketing", "face", "orders", B_PURPOSE],
        },
        now,
    )
    b_system, _ = systems.register(
        b.org, name="B secret CRM", owner="B's data team", categories=["basic"], now=now
    )
    b_request = rights.create_request(
        b.org, B_SUBJECT, "correction", now, identity_verified_by="company", client_id=b.client_id,
        details="B secret correction", corrections={"phone": "+86 555 0199"},
    )  # fmt: skip
    (b_task,) = tasks.tasks_of(b_request)
    db.session.commit()
    b_deliveries = webhooks.list_deliveries(b.org, b_hook.public_id)
    a_deliveries = webhooks.list_deliveries(a.org, a_hook.public_id)
    assert b_deliveries and a_deliveries
    private = ["b-private@b.example", "+86 555 0100", "B secret purpose", "B secret policy text"]
    private += ["https://b.example/secret-hooks", b_user.chain_head]
    private += [e.uuid for e in granted.events + withdrawn.events]
    private += [d.event_id for d in b_deliveries] + [d.public_id for d in b_deliveries[1:]]
    private += ["B secret correction", "+86 555 0199", "B secret CRM", "B's data team"]
    b_receipt = _db.session.scalars(
        select(ConsentReceipt).where(ConsentReceipt.event_id == granted.events[0].id)
    ).one()
    private += [b_receipt.jws]
    return World(
        a=a,
        b=b,
        b_webhook=b_hook.public_id,
        b_delivery=b_deliveries[0].public_id,
        a_webhook=a_hook.public_id,
        a_delivery=a_deliveries[0].public_id,
        b_request=b_request.public_id,
        b_system=b_system.public_id,
        b_task=b_task.public_id,
        b_receipt=b_receipt.receipt_id,
        private=private,
    )


class Caller:
    """A's client, keeping every answer for the final checks."""

    def __init__(self, client, world: World) -> None:
        self.client = client
        self.world = world
        self.responses: list = []

    def __call__(self, method: str, path: str, json: Any = None):
        response = self.client.open("/api/v1" + path, method=method, json=json, headers=self.world.a.headers)
        self.responses.append(response)
        return response


def assert_not_found(response) -> None:
    assert response.status_code == 404, (response.status_code, response.json)
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "not_found"
    assert response.json["status"] == 404


def a_rows(model, org) -> list:
    """Organization A's rows of ``model``, in the order they were created."""
    key = model.__mapper__.primary_key
    return list(_db.session.scalars(select(model).where(model.org_id == org.id).order_by(*key)))


# --- the cases, one per route ----------------------------------------------------------------

CASES: dict[str, Callable[[Caller, World], None]] = {}


def case(route: str):
    def register(fn):
        assert route not in CASES, route
        CASES[route] = fn
        return fn

    return register


@case("PUT /subjects/<external_id>")
def _put_subject(call: Caller, w: World) -> None:
    # Subjects are named per organization: A gets a new subject of its own, not B's (a 200
    # here would say that B has this person).
    response = call("PUT", f"/subjects/{B_SUBJECT}", {"email": "a-own@a.example"})
    assert response.status_code == 201, response.json
    assert response.json["email"] == "a-own@a.example"
    assert response.json["chain"] == {"length": 0, "head": None}
    assert [s.external_id for s in a_rows(Subject, w.a.org)] == ["a-user", B_SUBJECT]


@case("GET /subjects/<external_id>")
def _get_subject(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/subjects/{B_SUBJECT}"))


@case("GET /receipts/<receipt_id>")
def _get_receipt(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/receipts/{w.b_receipt}"))


@case("GET /subjects/<external_id>/record.pdf")
def _subject_record(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/subjects/{B_SUBJECT}/record.pdf"))


@case("GET /receipts/<receipt_id>.pdf")
def _receipt_record(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/receipts/{w.b_receipt}.pdf"))


def _own_record(response, w: World) -> None:
    """An organization's record names the caller's organization alone."""
    assert response.status_code == 200, response.status_code
    check = verify_record(response.get_data())
    assert check.ok and check.org == w.a.org.slug, check.messages
    assert B_PURPOSE.encode() not in check.attachments["record.json"]


@case("GET /records/processing.pdf")
def _processing_record(call: Caller, w: World) -> None:
    _own_record(call("GET", "/records/processing.pdf"), w)


@case("GET /records/policies.pdf")
def _policy_archive(call: Caller, w: World) -> None:
    _own_record(call("GET", "/records/policies.pdf"), w)


@case("GET /records/report.pdf")
def _compliance_report(call: Caller, w: World) -> None:
    _own_record(call("GET", "/records/report.pdf?from=2020-01-01&to=2030-12-31"), w)


@case("GET /rights-requests/<request_id>/record.pdf")
def _request_record(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/rights-requests/{w.b_request}/record.pdf"))


@case("POST /subjects/<external_id>/consents")
def _record_consent(call: Caller, w: World) -> None:
    for body in (
        {"purpose": "marketing", "action": "grant", "consent_type": "explicit"},
        {"purpose": B_PURPOSE, "action": "withdraw"},
        {"purpose": "marketing", "action": "refuse"},
    ):
        assert_not_found(call("POST", f"/subjects/{B_SUBJECT}/consents", body))


@case("POST /consents/batch")
def _record_batch(call: Caller, w: World) -> None:
    items = [
        {"subject": "a-user", "purpose": "face", "action": "grant", "consent_type": "separate"},
        {"subject": B_SUBJECT, "purpose": "marketing", "action": "grant", "consent_type": "explicit"},
    ]
    response = call("POST", "/consents/batch", {"items": items})
    assert response.status_code == 422, response.json
    assert set(response.json["errors"]) == {"1"}
    assert response.json["errors"]["1"]["code"] == "not_found"
    # Nothing written, A's valid item included.
    assert len(a_rows(ConsentEvent, w.a.org)) == 1


@case("GET /subjects/<external_id>/consents")
def _list_states(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/subjects/{B_SUBJECT}/consents"))


@case("GET /subjects/<external_id>/consent-events")
def _history(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/subjects/{B_SUBJECT}/consent-events"))
    assert_not_found(call("GET", f"/subjects/{B_SUBJECT}/consent-events?limit=1&cursor=2"))


@case("GET /subjects/<external_id>/decisions/<purpose_code>")
def _decision(call: Caller, w: World) -> None:
    # A decision names no object it could leak: B's person is unknown to A.
    for purpose, reason in (("face", "unknown_subject"), (B_PURPOSE, "unknown_purpose")):
        response = call("GET", f"/subjects/{B_SUBJECT}/decisions/{purpose}")
        assert response.status_code == 200, response.json
        assert response.json["allowed"] is False
        assert response.json["reason"] == reason
        assert response.json["consent_event_id"] is None
    response = call("GET", f"/subjects/{B_SUBJECT}/decisions/face?at=2026-11-02T02:00:00%2B00:00")
    assert response.json["reason"] == "unknown_subject"


@case("POST /decisions")
def _decisions(call: Caller, w: World) -> None:
    items = [
        {"subject": B_SUBJECT, "purpose": "face"},
        {"subject": "a-user", "purpose": "marketing"},
        {"subject": B_SUBJECT, "purpose": B_PURPOSE},
    ]
    response = call("POST", "/decisions", {"items": items})
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["reason"] for r in results] == ["unknown_subject", "consent_granted", "unknown_purpose"]
    assert [r["allowed"] for r in results] == [False, True, False]
    assert results[0]["consent_event_id"] is None


@case("POST /subjects/<external_id>/dashboard-links")
def _dashboard_link(call: Caller, w: World) -> None:
    assert_not_found(call("POST", f"/subjects/{B_SUBJECT}/dashboard-links"))


@case("GET /purposes")
def _list_purposes(call: Caller, w: World) -> None:
    response = call("GET", "/purposes")
    assert response.status_code == 200
    assert [p["code"] for p in response.json["purposes"]] == ["face", "marketing", "orders"]


@case("POST /purposes")
def _create_purpose(call: Caller, w: World) -> None:
    # Purpose codes are per organization: A creates its own (a 409 would reveal B's).
    response = call("POST", "/purposes", purpose_data(B_PURPOSE, name_en="A's own"))
    assert response.status_code == 201, response.json
    assert response.json["current"]["name_en"] == "A's own"
    assert B_PURPOSE in [p.code for p in a_rows(Purpose, w.a.org)]


@case("GET /purposes/<code>")
def _get_purpose(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/purposes/{B_PURPOSE}"))


@case("PATCH /purposes/<code>")
def _change_purpose(call: Caller, w: World) -> None:
    assert_not_found(call("PATCH", f"/purposes/{B_PURPOSE}", {"description_en": "changed by A"}))
    assert_not_found(call("PATCH", f"/purposes/{B_PURPOSE}", {"name_en": "renamed by A"}))


@case("GET /policies")
def _list_policies(call: Caller, w: World) -> None:
    response = call("GET", "/policies")
    assert response.status_code == 200
    assert [p["label"] for p in response.json["policies"]] == ["v1"]


@case("POST /policies")
def _create_policy(call: Caller, w: World) -> None:
    # Labels are per organization: A drafts its own (a 409 would reveal B's).
    response = call("POST", "/policies", {"label": B_POLICY, "text_en": "A's draft", "purposes": ["face"]})
    assert response.status_code == 201, response.json
    assert response.json["text_en"] == "A's draft"
    assert response.json["purposes"] == [{"code": "face", "version": 1}]
    # B's purpose code cannot be named in A's policy.
    response = call("POST", "/policies", {"label": "a-two", "purposes": [B_PURPOSE]})
    assert_not_found(response)


@case("POST /policies/<version>/publish")
def _publish_policy(call: Caller, w: World) -> None:
    assert_not_found(call("POST", f"/policies/{B_POLICY}/publish"))


@case("POST /webhooks")
def _create_webhook(call: Caller, w: World) -> None:
    response = call("POST", "/webhooks", {"url": "https://a.example/other", "events": ["*"]})
    assert response.status_code == 201, response.json
    assert response.json["id"] not in (w.b_webhook, w.a_webhook)
    assert len(a_rows(WebhookEndpoint, w.a.org)) == 2


@case("GET /webhooks")
def _list_webhooks(call: Caller, w: World) -> None:
    response = call("GET", "/webhooks")
    assert response.status_code == 200
    assert [h["id"] for h in response.json["webhooks"]] == [w.a_webhook]


@case("DELETE /webhooks/<webhook_id>")
def _delete_webhook(call: Caller, w: World) -> None:
    assert_not_found(call("DELETE", f"/webhooks/{w.b_webhook}"))


@case("GET /webhooks/<webhook_id>/deliveries")
def _list_deliveries(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/webhooks/{w.b_webhook}/deliveries"))
    assert_not_found(call("GET", f"/webhooks/{w.b_webhook}/deliveries?status=pending&limit=1"))


@case("POST /webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
def _redeliver(call: Caller, w: World) -> None:
    assert_not_found(call("POST", f"/webhooks/{w.b_webhook}/deliveries/{w.b_delivery}/redeliver"))
    # A's own webhook with B's delivery: still nothing.
    assert_not_found(call("POST", f"/webhooks/{w.a_webhook}/deliveries/{w.b_delivery}/redeliver"))
    assert_not_found(call("POST", f"/webhooks/{w.b_webhook}/deliveries/{w.a_delivery}/redeliver"))
    assert len(a_rows(WebhookDelivery, w.a.org)) == 1


@case("POST /rights-requests")
def _create_rights_request(call: Caller, w: World) -> None:
    # B's person is not A's: nothing is created for A, and nothing of B is touched.
    response = call("POST", "/rights-requests", {"subject": B_SUBJECT, "type": "access"})
    assert_not_found(response)
    assert a_rows(RightsRequest, w.a.org) == []


@case("GET /rights-requests")
def _list_rights_requests(call: Caller, w: World) -> None:
    response = call("GET", "/rights-requests")
    assert response.status_code == 200 and response.json["requests"] == []
    response = call("GET", "/rights-requests?type=correction&status=in_progress")
    assert response.status_code == 200 and response.json["requests"] == []


@case("GET /rights-requests/<request_id>")
def _get_rights_request(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/rights-requests/{w.b_request}"))


def _rights_step(path: str, body: dict):
    def run(call: Caller, w: World) -> None:
        assert_not_found(call("POST", f"/rights-requests/{w.b_request}/{path}", body))

    return run


for _path, _body in (
    ("verify", {"by": "company"}),
    ("resend-code", None),
    ("pause", {"reason": "x"}),
    ("resume", {}),
    ("extend", {"reason": "x"}),
    ("assign", {"officer": "a@a.example"}),
    ("complete", {}),
    ("refuse", {"ground": "trade_secrets", "explanation": "x", "complaint_channel": "y"}),
    ("withdraw", {}),
):
    case(f"POST /rights-requests/<request_id>/{_path}")(_rights_step(_path, _body))


@case("POST /data-systems")
def _register_data_system(call: Caller, w: World) -> None:
    body = {"name": "B secret CRM", "owner": "A's team", "categories": ["basic"]}
    response = call("POST", "/data-systems", body)  # B's name is free for A
    assert response.status_code == 201, response.json
    assert [s.name for s in systems.active(w.a.org)] == ["B secret CRM"]
    w.private.remove("B secret CRM")


@case("GET /data-systems")
def _list_data_systems(call: Caller, w: World) -> None:
    response = call("GET", "/data-systems")
    assert response.status_code == 200 and response.json["systems"] == []


@case("GET /data-systems/<system_id>")
def _get_data_system(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/data-systems/{w.b_system}"))


@case("DELETE /data-systems/<system_id>")
def _retire_data_system(call: Caller, w: World) -> None:
    assert_not_found(call("DELETE", f"/data-systems/{w.b_system}"))


@case("GET /rights-tasks")
def _list_rights_tasks(call: Caller, w: World) -> None:
    for query in ("", "?status=open", f"?request={w.b_request}", f"?system={w.b_system}"):
        response = call("GET", "/rights-tasks" + query)
        assert response.status_code == 200 and response.json["tasks"] == [], query


@case("GET /rights-tasks/<task_id>")
def _get_rights_task(call: Caller, w: World) -> None:
    assert_not_found(call("GET", f"/rights-tasks/{w.b_task}"))


@case("POST /rights-tasks/<task_id>/result")
def _answer_rights_task(call: Caller, w: World) -> None:
    body = {"outcome": "done", "carried_out_at": "2026-11-02T02:00:00Z"}
    assert_not_found(call("POST", f"/rights-tasks/{w.b_task}/result", body))


# --- what B has, read from the database --------------------------------------------------------


def snapshot(org_id: int) -> dict[str, list[tuple]]:
    """Every row that belongs to the organization, table by table."""
    rows: dict[str, list[tuple]] = {}
    for table in _db.metadata.sorted_tables:
        if "org_id" in table.c:
            query = select(table).where(table.c.org_id == org_id)
        elif table.name == "organization":
            query = select(table).where(table.c.id == org_id)
        elif table.name == "purpose_version":
            query = (
                select(table).join(Purpose, Purpose.id == table.c.purpose_id).where(Purpose.org_id == org_id)
            )
        elif table.name == "policy_purpose_version":
            query = (
                select(table)
                .join(PolicyVersion, PolicyVersion.id == policy_purpose_version.c.policy_id)
                .where(PolicyVersion.org_id == org_id)
            )
        else:
            continue
        rows[table.name] = sorted(tuple(r) for r in _db.session.execute(query.order_by(*table.c)))
    return rows


@pytest.mark.parametrize("route", ROUTES)
def test_another_organizations_data_is_out_of_reach(route, client, world, db):
    # Every route of the API has a case: one added without a case fails here.
    assert sorted(route_id(op) for op in OPERATIONS) == ROUTES
    assert set(CASES) == set(ROUTES)
    before = snapshot(world.b.org.id)
    assert before["subject"] and before["consent_event"] and before["webhook_delivery"]
    assert len(before["purpose_version"]) == 4 and before["policy_purpose_version"]

    call = Caller(client, world)
    CASES[route](call, world)

    assert call.responses, "the case made no call"
    for response in call.responses:
        assert response.status_code != 403, response.json
        assert response.status_code < 500, response.json
        if response.mimetype == "application/pdf":  # what it carries, readable
            body = " ".join(part.decode() for part in attachments(response.get_data()).values())
        else:
            body = response.get_data(as_text=True)
        for value in world.private:
            assert value not in body, (value, body)
    db.session.rollback()  # whatever a refused call left in the session is not B's state
    assert snapshot(world.b.org.id) == before


def test_the_registry_lists_every_api_route(app):
    """Routes under /api/v1 are all declared with ``operation`` (so all are covered above)."""
    documents = {"/api/v1/openapi.json", "/api/v1/docs"}
    declared = {("/api/v1" + op.rule, op.method) for op in OPERATIONS}
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1") and rule.rule not in documents
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == declared
    assert len(declared) == len(OPERATIONS) == len(ROUTES)
