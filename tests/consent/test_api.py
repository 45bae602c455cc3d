"""Subjects, consent acts, batches, decisions, state and history over the API.

A grant answers 201 with the event, the new state and a signed receipt; a withdrawal is
always accepted and a second one records nothing; the domain's refusals are 409s; an
``Idempotency-Key`` retry returns the first answer byte for byte and records nothing; a batch
is all or nothing; decisions keep the order asked and can look at the past; errors are
RFC 9457 problem documents (400, 404, 409, 413, 422, 429), never a 500.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from consent_service.consent.models import ConsentEvent, ConsentState, Subject
from consent_service.extensions import limiter
from consent_service.receipts import keys
from consent_service.receipts.models import ConsentReceipt
from consent_service.receipts.service import verify_receipt
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery
from tests.api_support import assert_problem, issue_token
from tests.conftest import T0

GRANT = {"purpose": "marketing", "action": "grant", "consent_type": "explicit"}
WITHDRAW = {"purpose": "marketing", "action": "withdraw"}


def put_subject(client, api, external_id: str, **fields):
    return client.put(f"/api/v1/subjects/{external_id}", json=fields, headers=api.headers)


def post_act(client, api, external_id: str, body: dict, **headers: str):
    return client.post(f"/api/v1/subjects/{external_id}/consents", json=body, headers=api.headers | headers)


def decision(client, api, external_id: str, purpose: str, at: str | None = None):
    query = {"at": at} if at else None
    return client.get(
        f"/api/v1/subjects/{external_id}/decisions/{purpose}", query_string=query, headers=api.headers
    )


def advance(clock, client, api, **delta) -> None:
    """Move the clock, with a fresh token for the caller (tokens live an hour)."""
    clock.advance(**delta)
    api.token = issue_token(client, api.client_id, api.client_secret)


def count(db, model, org) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.org_id == org.id))


@pytest.fixture
def person(client, api):
    """A subject ``u1`` of the caller's organization."""
    assert put_subject(client, api, "u1").status_code == 201
    return "u1"


# --- subjects ------------------------------------------------------------------------------


def test_put_subject_creates_then_updates(client, api, db):
    created = put_subject(client, api, "u9", email="li@example.com", phone="+86 138 0000 0000")
    assert created.status_code == 201
    assert created.json["external_id"] == "u9"
    assert created.json["email"] == "li@example.com"
    assert created.json["is_minor"] is False
    assert created.json["chain"] == {"length": 0, "head": None}
    updated = put_subject(client, api, "u9", birth_date="2015-06-01", guardian={"name": "Li Na"})
    assert updated.status_code == 200
    assert updated.json["email"] == "li@example.com"  # left as it was
    assert updated.json["birth_date"] == "2015-06-01"
    assert updated.json["is_minor"] is True
    assert updated.json["guardian"] == {"name": "Li Na", "contact": None, "relationship": None}
    assert count(db, Subject, api.org) == 1


def test_get_subject(client, api, person):
    assert post_act(client, api, person, GRANT).status_code == 201
    response = client.get(f"/api/v1/subjects/{person}", headers=api.headers)
    assert response.status_code == 200
    assert response.json["external_id"] == person
    assert response.json["chain"]["length"] == 1
    assert len(response.json["chain"]["head"]) == 64


def test_put_subject_with_bad_fields_is_422(client, api, db):
    response = put_subject(client, api, "u9", email="not-an-email", birth_date="yesterday", is_under_14="x")
    body = assert_problem(response, 422, "invalid_input")
    assert set(body["errors"]) == {"email", "birth_date", "is_under_14"}
    assert count(db, Subject, api.org) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/subjects/nobody"),
        ("POST", "/subjects/nobody/consents"),
        ("GET", "/subjects/nobody/consents"),
        ("GET", "/subjects/nobody/consent-events"),
        ("POST", "/subjects/nobody/dashboard-links"),
    ],
)
def test_unknown_subject_is_404(client, api, method, path):
    body = GRANT if path.endswith("/consents") and method == "POST" else None
    response = client.open("/api/v1" + path, method=method, json=body, headers=api.headers)
    assert_problem(response, 404, "not_found")


# --- consent acts ----------------------------------------------------------------------------


def test_grant(client, api, person, db):
    body = GRANT | {"evidence": {"ip": "203.0.113.7", "locale": "zh-CN"}, "policy_version": "v1"}
    response = post_act(client, api, person, body)
    assert response.status_code == 201, response.json
    answer = response.json
    assert answer["subject"] == person
    assert answer["replayed"] is False
    event = answer["event"]
    assert event["action"] == "grant"
    assert event["purpose"] == "marketing"
    assert event["consent_type"] == "explicit"
    assert event["policy_version"] == "v1"
    assert event["evidence"] == {"ip": "203.0.113.7", "locale": "zh-CN"}
    assert event["seq"] == 1 and event["prev_hash"] is None and len(event["hash"]) == 64
    assert event["occurred_at"] == T0.isoformat()
    state = answer["state"]
    assert state["status"] == "granted"
    assert state["purpose"] == "marketing"
    assert state["consent_event_id"] == event["id"]
    assert answer["events"] == [event]
    assert answer["states"] == [state]
    # The receipt is a compact JWS that verifies against the published keys.
    receipt = answer["receipt"]
    assert receipt.count(".") == 2
    assert answer["receipts"] == [receipt]
    claims = verify_receipt(receipt, keys.jwks())
    assert claims["piiPrincipalId"] == person
    assert count(db, ConsentEvent, api.org) == 1
    assert count(db, ConsentReceipt, api.org) == 1


def test_withdraw_then_withdraw_again(client, api, person, db):
    assert post_act(client, api, person, GRANT).status_code == 201
    assert decision(client, api, person, "marketing").json["allowed"] is True

    response = post_act(client, api, person, WITHDRAW)
    assert response.status_code == 201
    assert response.json["event"]["action"] == "withdraw"
    assert response.json["state"]["status"] == "withdrawn"
    assert response.json["receipt"] is None
    answer = decision(client, api, person, "marketing").json
    assert answer["allowed"] is False
    assert answer["reason"] == "withdrawn"
    assert answer["consent_event_id"] == response.json["event"]["id"]

    again = post_act(client, api, person, WITHDRAW)
    assert again.status_code == 200
    assert again.json["event"] is None
    assert again.json["events"] == []
    assert again.json["state"]["status"] == "withdrawn"
    assert count(db, ConsentEvent, api.org) == 2


def test_withdrawing_what_was_never_given_records_nothing(client, api, person, db):
    response = post_act(client, api, person, WITHDRAW)
    assert response.status_code == 200
    assert response.json["event"] is None
    assert response.json["state"] is None
    assert count(db, ConsentEvent, api.org) == 0


def test_a_withdrawal_of_nothing_answers_each_current_state_under_its_own_purpose(client, api, person, db):
    """Withdrawing several purposes none of which is granted records nothing and answers the
    states there are, each named by its own purpose (one never acted on has none)."""
    refuse = {"purpose": "face", "action": "refuse"}
    assert post_act(client, api, person, refuse).status_code == 201
    before = count(db, ConsentEvent, api.org)
    response = post_act(client, api, person, {"purposes": ["marketing", "face"], "action": "withdraw"})
    assert response.status_code == 200
    assert response.json["events"] == []
    assert [(s["purpose"], s["status"]) for s in response.json["states"]] == [("face", "refused")]
    assert count(db, ConsentEvent, api.org) == before


def test_bundled_separate_consent_is_409(client, api, person, db):
    body = {"purposes": ["marketing", "face"], "action": "grant", "consent_type": "separate"}
    problem = assert_problem(post_act(client, api, person, body), 409, "separate_consent_required")
    assert problem["details"]["purposes"] == ["face"]
    assert count(db, ConsentEvent, api.org) == 0
    # One purpose per act is fine.
    alone = {"purpose": "face", "action": "grant", "consent_type": "separate"}
    assert post_act(client, api, person, alone).status_code == 201


def test_weaker_consent_type_is_409(client, api, person):
    body = {"purpose": "face", "action": "grant", "consent_type": "explicit"}
    assert_problem(post_act(client, api, person, body), 409, "consent_type_insufficient")


def test_guardian_required(client, api, db):
    assert put_subject(client, api, "kid", is_under_14=True).status_code == 201
    assert_problem(post_act(client, api, "kid", GRANT), 409, "guardian_required")
    assert count(db, ConsentEvent, api.org) == 0
    guardian = {"kind": "guardian", "name": "Wang Fang", "relationship": "mother"}
    response = post_act(client, api, "kid", GRANT | {"actor": guardian})
    assert response.status_code == 201, response.json
    assert response.json["event"]["actor"]["kind"] == "guardian"


def test_reprompt_too_soon(client, api, person, clock, db):
    refuse = {"purpose": "marketing", "action": "refuse"}
    assert post_act(client, api, person, refuse).status_code == 201
    advance(clock, client, api, hours=47)
    problem = assert_problem(post_act(client, api, person, GRANT), 409, "reprompt_too_soon")
    assert problem["details"]["retry_after"] == (T0 + timedelta(hours=48)).isoformat()
    assert count(db, ConsentEvent, api.org) == 1
    # The person may come back on their own at any time...
    own = post_act(client, api, person, GRANT | {"is_subject_initiated": True})
    assert own.status_code == 201, own.json
    # ...and the company may ask again after 48 hours.
    assert put_subject(client, api, "u2").status_code == 201
    assert post_act(client, api, "u2", refuse).status_code == 201
    advance(clock, client, api, hours=48)
    assert post_act(client, api, "u2", GRANT).status_code == 201


def test_grant_for_a_purpose_on_another_legal_basis_is_409(client, api, person):
    body = {"purpose": "orders", "action": "grant", "consent_type": "explicit"}
    assert_problem(post_act(client, api, person, body), 409, "consent_not_applicable")


def test_unknown_purpose_is_404(client, api, person):
    assert_problem(post_act(client, api, person, GRANT | {"purpose": "nope"}), 404, "not_found")


# --- idempotency -----------------------------------------------------------------------------


def test_idempotent_retry_returns_the_first_answer(client, api, person, db):
    first = post_act(client, api, person, GRANT, **{"Idempotency-Key": "signup-42"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    retry = post_act(client, api, person, GRANT, **{"Idempotency-Key": "signup-42"})
    assert retry.status_code == first.status_code
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.mimetype == first.mimetype
    assert retry.get_data() == first.get_data()
    assert count(db, ConsentEvent, api.org) == 1
    assert count(db, ConsentReceipt, api.org) == 1
    # Without the key, the same act is a new act.
    assert post_act(client, api, person, GRANT).status_code == 201
    assert count(db, ConsentEvent, api.org) == 2


@pytest.mark.parametrize(
    "other",
    [
        WITHDRAW,
        {"purpose": "face", "action": "grant", "consent_type": "separate"},
        "another subject",
    ],
    ids=["other-action", "other-purpose", "other-subject"],
)
def test_idempotency_key_for_another_act_is_422(client, api, person, db, other):
    assert post_act(client, api, person, GRANT, **{"Idempotency-Key": "k-1"}).status_code == 201
    if other == "another subject":
        assert put_subject(client, api, "u2").status_code == 201
        response = post_act(client, api, "u2", GRANT, **{"Idempotency-Key": "k-1"})
    else:
        response = post_act(client, api, person, other, **{"Idempotency-Key": "k-1"})
    assert_problem(response, 422, "idempotency_key_reused")
    assert count(db, ConsentEvent, api.org) == 1


def test_idempotency_key_is_per_organization(client, api, make_caller, person):
    other = make_caller()
    assert put_subject(client, other, "u1").status_code == 201
    assert post_act(client, api, person, GRANT, **{"Idempotency-Key": "k-1"}).status_code == 201
    response = post_act(client, other, "u1", GRANT, **{"Idempotency-Key": "k-1"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


def test_overlong_idempotency_key_is_422(client, api, person, db):
    response = post_act(client, api, person, GRANT, **{"Idempotency-Key": "k" * 201})
    body = assert_problem(response, 422, "invalid_input")
    assert "Idempotency-Key" in body["errors"]
    assert count(db, ConsentEvent, api.org) == 0


# --- batches of acts ---------------------------------------------------------------------------


@pytest.fixture
def three(client, api):
    for name in ("u1", "u2", "u3"):
        assert put_subject(client, api, name).status_code == 201
    return ["u1", "u2", "u3"]


@pytest.fixture
def hook(api, db, clock):
    """A webhook for every event, so that the outbox shows what was written."""
    endpoint, _ = webhooks.create_endpoint(api.org, "https://hooks.example/in", ["*"], clock.now())
    db.session.commit()
    return endpoint


def batch(client, api, items):
    return client.post("/api/v1/consents/batch", json={"items": items}, headers=api.headers)


def test_batch_of_three(client, api, three, db):
    items = [{"subject": s} | GRANT for s in three]
    items[2] = {"subject": "u3", "purpose": "face", "action": "grant", "consent_type": "separate"}
    response = batch(client, api, items)
    assert response.status_code == 201, response.json
    assert response.json["count"] == 3
    results = response.json["results"]
    assert [r["subject"] for r in results] == three
    assert [r["event"]["purpose"] for r in results] == ["marketing", "marketing", "face"]
    assert all(r["state"]["status"] == "granted" and r["receipt"] for r in results)
    assert count(db, ConsentEvent, api.org) == 3


def test_batch_item_idempotency_key_replays(client, api, three, db):
    items = [{"subject": "u1", "idempotency_key": "b-1"} | GRANT]
    first = batch(client, api, items)
    assert first.status_code == 201
    again = batch(client, api, items)
    assert again.status_code == 201
    assert again.json["results"][0]["replayed"] is True
    assert again.json["results"][0]["event"] == first.json["results"][0]["event"]
    assert count(db, ConsentEvent, api.org) == 1


def test_batch_with_an_invalid_item_writes_nothing(client, api, three, db, hook):
    items = [
        {"subject": "u1"} | GRANT,
        {"subject": "u2"} | GRANT,
        {"subject": "u3", "purpose": "marketing", "action": "agree", "consent_type": "explicit"},
        {"subject": "u1", "purpose": "marketing"},
    ]
    response = batch(client, api, items)
    body = assert_problem(response, 422, "invalid_input")
    assert set(body["errors"]) == {"2", "3"}
    assert "action" in body["errors"]["2"]
    assert "action" in body["errors"]["3"]
    assert count(db, ConsentEvent, api.org) == 0
    assert count(db, WebhookDelivery, api.org) == 0


def test_batch_with_a_refused_item_writes_nothing(client, api, three, db, hook):
    items = [
        {"subject": "u1"} | GRANT,
        {"subject": "u2", "purposes": ["marketing", "face"], "action": "grant", "consent_type": "separate"},
        {"subject": "u3"} | GRANT,
        {"subject": "nobody"} | GRANT,
    ]
    response = batch(client, api, items)
    body = assert_problem(response, 422, "invalid_input")
    assert set(body["errors"]) == {"1", "3"}
    assert body["errors"]["1"]["code"] == "separate_consent_required"
    assert body["errors"]["3"]["code"] == "not_found"
    db.session.rollback()  # what a request leaves uncommitted is gone when it ends
    assert count(db, ConsentEvent, api.org) == 0
    assert count(db, ConsentState, api.org) == 0
    assert count(db, ConsentReceipt, api.org) == 0
    assert count(db, WebhookDelivery, api.org) == 0
    assert db.session.scalar(select(Subject.chain_seq).where(Subject.external_id == "u1")) == 0
    # The same valid items alone go through.
    assert batch(client, api, [items[0], items[2]]).status_code == 201


def test_batch_over_the_limit_is_413(client, api, three, db):
    response = batch(client, api, [{"subject": "u1"} | GRANT] * 1001)
    assert_problem(response, 413, "payload_too_large")
    assert count(db, ConsentEvent, api.org) == 0


def test_batch_at_the_limit_is_accepted(client, api, three, db):
    items = [{"subject": "u1", "purpose": "marketing", "action": "withdraw"}] * 1000
    response = batch(client, api, items)
    assert response.status_code == 201, response.json
    assert response.json["count"] == 1000


@pytest.mark.parametrize(
    "body",
    [{}, {"items": []}, {"items": "all"}, {"items": [1, "two"]}, {"items": None}],
    ids=["no-items", "empty", "string", "not-objects", "null"],
)
def test_batch_with_a_bad_envelope_is_422(client, api, body):
    response = client.post("/api/v1/consents/batch", json=body, headers=api.headers)
    problem = assert_problem(response, 422, "invalid_input")
    assert "items" in problem["errors"]


# --- decisions -------------------------------------------------------------------------------


def test_single_decision(client, api, person):
    event_id = post_act(client, api, person, GRANT).json["event"]["id"]
    response = decision(client, api, person, "marketing")
    assert response.status_code == 200
    assert response.json == {
        "subject": person,
        "purpose": "marketing",
        "allowed": True,
        "basis": "consent",
        "basis_clause": "PIPL 13(1)",
        "reason": "consent_granted",
        "purpose_version": 1,
        "consent_event_id": event_id,
        "expires_at": None,
        "checked_at": T0.isoformat(),
        "reprompt_after": None,
    }


@pytest.mark.parametrize(
    ("subject", "purpose", "allowed", "reason", "basis"),
    [
        ("u1", "orders", True, "legal_basis", "contract"),
        ("u1", "face", False, "not_given", "consent"),
        ("nobody", "marketing", False, "unknown_subject", "consent"),
        ("u1", "nope", False, "unknown_purpose", None),
    ],
)
def test_decision_reasons(client, api, person, subject, purpose, allowed, reason, basis):
    response = decision(client, api, subject, purpose)
    assert response.status_code == 200
    assert (response.json["allowed"], response.json["reason"], response.json["basis"]) == (
        allowed,
        reason,
        basis,
    )


def test_decision_in_the_past(client, api, person, clock):
    assert post_act(client, api, person, GRANT).status_code == 201  # T0
    advance(clock, client, api, hours=1)
    assert post_act(client, api, person, WITHDRAW).status_code == 201  # T0 + 1 h
    advance(clock, client, api, hours=1)
    assert decision(client, api, person, "marketing").json["reason"] == "withdrawn"
    then = decision(client, api, person, "marketing", at=(T0 + timedelta(minutes=30)).isoformat())
    assert then.status_code == 200
    assert (then.json["allowed"], then.json["reason"]) == (True, "consent_granted")
    assert then.json["checked_at"] == (T0 + timedelta(hours=2)).isoformat()
    later = decision(client, api, person, "marketing", at=(T0 + timedelta(minutes=90)).isoformat())
    assert (later.json["allowed"], later.json["reason"]) == (False, "withdrawn")


def test_decision_with_a_bad_at_is_422(client, api, person):
    for at in ("yesterday", "2026-11-02T02:00:00"):  # not a date; no time zone
        body = assert_problem(decision(client, api, person, "marketing", at=at), 422, "invalid_input")
        assert "at" in body["errors"]


def test_batch_decisions_keep_the_order_asked(client, api, person, clock):
    assert put_subject(client, api, "u2").status_code == 201
    assert post_act(client, api, person, GRANT).status_code == 201
    clock.advance(minutes=5)
    assert post_act(client, api, "u2", GRANT).status_code == 201
    assert post_act(client, api, "u2", WITHDRAW).status_code == 201
    pairs = [
        ("u2", "marketing"),
        ("nobody", "marketing"),
        ("u1", "orders"),
        ("u1", "marketing"),
        ("u1", "face"),
        ("u2", "marketing"),
    ]
    body = {"items": [{"subject": s, "purpose": p} for s, p in pairs]}
    response = client.post("/api/v1/decisions", json=body, headers=api.headers)
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [(r["subject"], r["purpose"]) for r in results] == pairs
    assert [r["reason"] for r in results] == [
        "withdrawn",
        "unknown_subject",
        "legal_basis",
        "consent_granted",
        "not_given",
        "withdrawn",
    ]
    assert results[2]["basis"] == "contract" and results[2]["allowed"] is True
    # ``at`` applies to every pair.
    past = client.post(
        "/api/v1/decisions",
        json=body | {"at": (T0 + timedelta(minutes=1)).isoformat()},
        headers=api.headers,
    )
    assert [r["reason"] for r in past.json["results"]] == [
        "not_given",
        "unknown_subject",
        "legal_basis",
        "consent_granted",
        "not_given",
        "not_given",
    ]


def test_batch_decisions_over_the_limit_is_413(client, api):
    body = {"items": [{"subject": "u1", "purpose": "marketing"}] * 1001}
    response = client.post("/api/v1/decisions", json=body, headers=api.headers)
    assert_problem(response, 413, "payload_too_large")


def test_batch_decisions_with_a_bad_pair_is_422(client, api):
    body = {"items": [{"subject": "u1", "purpose": "marketing"}, {"subject": "u1"}]}
    response = client.post("/api/v1/decisions", json=body, headers=api.headers)
    problem = assert_problem(response, 422, "invalid_input")
    assert problem["errors"] == {"items": {"1": {"purpose": ["Missing data for required field."]}}}


# --- state and history -----------------------------------------------------------------------


def test_state_per_purpose(client, api, person):
    assert post_act(client, api, person, GRANT).status_code == 201
    refuse = {"purpose": "face", "action": "refuse"}
    assert post_act(client, api, person, refuse).status_code == 201
    response = client.get(f"/api/v1/subjects/{person}/consents", headers=api.headers)
    assert response.status_code == 200
    assert response.json["subject"] == person
    consents = {c["purpose"]: c for c in response.json["consents"]}
    assert list(consents) == ["face", "marketing", "orders"]
    assert (consents["marketing"]["allowed"], consents["marketing"]["reason"]) == (True, "consent_granted")
    assert (consents["face"]["allowed"], consents["face"]["reason"]) == (False, "refused")
    assert consents["face"]["reprompt_after"] == (T0 + timedelta(hours=48)).isoformat()
    assert (consents["orders"]["allowed"], consents["orders"]["reason"]) == (True, "legal_basis")


def test_history_is_newest_first_with_a_cursor(client, api, person, clock):
    acts = [
        GRANT,
        WITHDRAW,
        GRANT,
        {"purpose": "face", "action": "grant", "consent_type": "separate"},
        {"purpose": "face", "action": "withdraw"},
    ]
    ids = []
    for body in acts:
        ids.append(post_act(client, api, person, body).json["event"]["id"])
        clock.advance(minutes=1)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = client.get(
            f"/api/v1/subjects/{person}/consent-events", query_string=query, headers=api.headers
        )
        assert response.status_code == 200
        pages += 1
        page = response.json["events"]
        assert len(page) <= 2
        seen += page
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [e["id"] for e in seen] == ids[::-1]
    assert [e["seq"] for e in seen] == [5, 4, 3, 2, 1]
    # Each event links to the one before it.
    for newer, older in zip(seen, seen[1:], strict=False):
        assert newer["prev_hash"] == older["hash"]
    everything = client.get(f"/api/v1/subjects/{person}/consent-events", headers=api.headers)
    assert [e["id"] for e in everything.json["events"]] == ids[::-1]
    assert everything.json["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=abc", "cursor=-1"])
def test_history_with_a_bad_query_is_422(client, api, person, query):
    response = client.get(f"/api/v1/subjects/{person}/consent-events?{query}", headers=api.headers)
    assert_problem(response, 422, "invalid_input")


# --- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ('["a", "list"]', "application/json"),
        ('"text"', "application/json"),
        ("", "application/json"),
        ('{"purpose": "marketing"}', "text/plain"),
        (b"\xff\xfe\x00", "application/json"),
    ],
    ids=["broken", "list", "string", "empty", "not-json-type", "bad-bytes"],
)
def test_malformed_body_is_400(client, api, person, db, data, content_type):
    response = client.post(
        f"/api/v1/subjects/{person}/consents", data=data, content_type=content_type, headers=api.headers
    )
    assert_problem(response, 400, "malformed_json")
    assert count(db, ConsentEvent, api.org) == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_nul_character_anywhere_in_the_body_is_422_naming_where(client, api, person, db, encoding):
    """PostgreSQL text cannot hold NUL: it is refused before anything is parsed further, in
    every encoding JSON allows (the quick check for it looks at UTF-8 bytes)."""
    body = {
        "purpose": "marketing",
        "action": "grant",
        "consent_type": "explicit",
        "evidence": {"note": "a\x00b"},
    }
    response = client.post(
        f"/api/v1/subjects/{person}/consents",
        data=json.dumps(body).encode(encoding),
        content_type="application/json",
        headers=api.headers,
    )
    problem = assert_problem(response, 422, "invalid_input")
    assert "evidence.note" in problem["errors"]
    assert count(db, ConsentEvent, api.org) == 0


def test_wrong_field_types_are_422_per_field(client, api, person, db):
    body = {
        "purpose": 5,
        "action": ["grant"],
        "consent_type": "loud",
        "occurred_at": "yesterday",
        "evidence": {"ip": 1, "shoe_size": "42"},
        "actor": "me",
        "is_subject_initiated": "perhaps",
    }
    problem = assert_problem(post_act(client, api, person, body), 422, "invalid_input")
    errors = problem["errors"]
    assert {"purpose", "action", "consent_type", "occurred_at", "evidence", "actor"} <= set(errors)
    assert "is_subject_initiated" in errors
    assert set(errors["evidence"]) == {"ip", "shoe_size"}
    assert count(db, ConsentEvent, api.org) == 0


def test_a_grant_needs_a_consent_type_and_one_purpose_field(client, api, person):
    problem = assert_problem(
        post_act(client, api, person, {"purpose": "marketing", "action": "grant"}), 422, "invalid_input"
    )
    assert "consent_type" in problem["errors"]
    both = GRANT | {"purposes": ["marketing"]}
    assert "purpose" in assert_problem(post_act(client, api, person, both), 422, "invalid_input")["errors"]


def test_occurred_in_the_future_is_422(client, api, person):
    body = GRANT | {"occurred_at": (T0 + timedelta(hours=1)).isoformat()}
    problem = assert_problem(post_act(client, api, person, body), 422, "invalid_input")
    assert "occurred_at" in problem["errors"]


# --- rate limit ------------------------------------------------------------------------------


@pytest.fixture
def tight_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    limiter.reset()
    yield
    limiter.reset()


def test_rate_limit_is_429_with_retry_after(client, api, person, tight_limit, make_caller):
    path = f"/api/v1/subjects/{person}/consents"
    assert client.get(path, headers=api.headers).status_code == 200
    assert client.get("/api/v1/purposes", headers=api.headers).status_code == 200
    response = client.get(path, headers=api.headers)
    assert_problem(response, 429, "rate_limited")
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    # The limit is per client: another client is not held back.
    other = make_caller()
    assert client.get("/api/v1/purposes", headers=other.headers).status_code == 200


# --- database errors while writing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "orig", "status", "code", "retry_after"),
    [
        # A write waited too long for a lock: nothing was written, retry shortly.
        (OperationalError, sqlite3.OperationalError("database is locked"), 503, "database_busy", "1"),
        (
            OperationalError,
            type("LockNotAvailable", (Exception,), {"sqlstate": "55P03"})(),
            503,
            "database_busy",
            "1",
        ),
        # Two requests with one idempotency key for different people: the second to write finds
        # the key taken by the first at insert time.
        (
            IntegrityError,
            sqlite3.IntegrityError(
                "UNIQUE constraint failed: consent_event.org_id, consent_event.idempotency_key"
            ),
            409,
            "conflict",
            None,
        ),
        (
            IntegrityError,
            type("UniqueViolation", (Exception,), {"sqlstate": "23505"})(),
            409,
            "conflict",
            None,
        ),
        # Any other integrity error is a bug: a 500, logged.
        (
            IntegrityError,
            sqlite3.IntegrityError("FOREIGN KEY constraint failed"),
            500,
            "internal_error",
            None,
        ),
    ],
    ids=["locked", "lock-timeout", "unique-sqlite", "unique-postgresql", "foreign-key"],
)
def test_a_database_error_while_writing_is_answered_for_what_it_is(
    client, api, person, monkeypatch, error, orig, status, code, retry_after
):
    from consent_service.consent import service

    def failing(*args, **kwargs):
        raise error("INSERT ...", {}, orig)

    monkeypatch.setattr(service, "record_acts", failing)
    response = post_act(client, api, person, GRANT)
    problem = assert_problem(response, status, code)
    if status != 500:
        assert "nothing was written" in problem["detail"]
    assert response.headers.get("Retry-After") == retry_after
