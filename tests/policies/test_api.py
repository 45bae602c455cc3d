"""Purposes and privacy policies over the API (PIPL 13, 14, 17; GB/T 35273 5.3-5.5).

Purposes are listed, created, read and changed (a material change is a new material version
that earlier consents no longer satisfy, and queues ``purpose.changed``); policies are
drafted and published (refused with the list of missing items while incomplete; publishing
queues ``policy.published``). Bad input is a 422 naming each field, duplicates are 409s.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consent_service.policies.models import PolicyVersion, Purpose
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.models import WebhookDelivery
from tests.api_support import assert_problem
from tests.factories import SECTIONS, purpose_data


def get(client, api, path: str):
    return client.get("/api/v1" + path, headers=api.headers)


def post(client, api, path: str, body=None):
    return client.post("/api/v1" + path, json=body, headers=api.headers)


def patch(client, api, path: str, body):
    return client.patch("/api/v1" + path, json=body, headers=api.headers)


def deliveries(db, org, event_type: str) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.org_id == org.id, WebhookDelivery.event_type == event_type)
            .order_by(WebhookDelivery.id)
        )
    )


@pytest.fixture
def subscribe(api, db, clock):
    def make(*events: str):
        endpoint, _ = webhooks.create_endpoint(api.org, "https://hooks.example/in", list(events), clock.now())
        db.session.commit()
        return endpoint

    return make


# --- purposes ----------------------------------------------------------------------------------


def test_list_purposes(client, api):
    response = get(client, api, "/purposes")
    assert response.status_code == 200
    purposes = response.json["purposes"]
    assert [p["code"] for p in purposes] == ["face", "marketing", "orders"]
    face = purposes[0]
    assert face["current_version"] == 1
    assert face["current"]["is_sensitive"] is True
    assert face["current"]["needs_separate_consent"] is True
    assert "versions" not in face


def test_create_and_get_a_purpose(client, api, db):
    data = purpose_data(
        "newsletter",
        name_zh="新闻简报",
        pi_categories=["basic", "online_identifier"],
        consent_validity_days=365,
    )
    response = post(client, api, "/purposes", data)
    assert response.status_code == 201, response.json
    created = response.json
    assert created["code"] == "newsletter"
    assert created["current_version"] == created["material_version"] == 1
    assert created["current"]["name_zh"] == "新闻简报"
    assert created["current"]["pi_categories"] == ["basic", "online_identifier"]
    assert created["current"]["is_sensitive"] is False
    assert created["current"]["consent_validity_days"] == 365
    assert [v["version"] for v in created["versions"]] == [1]
    assert get(client, api, "/purposes/newsletter").json == created
    assert db.session.scalar(
        select(Purpose.id).where(Purpose.org_id == api.org.id, Purpose.code == "newsletter")
    )


def test_get_unknown_purpose_is_404(client, api):
    assert_problem(get(client, api, "/purposes/nope"), 404, "not_found")


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"code": "Bad Code!"}, {"code"}),
        ({"legal_basis": "because"}, {"legal_basis"}),
        ({"consent_requirement": "none"}, {"consent_requirement"}),
        ({"legal_basis": "contract"}, {"consent_requirement"}),
        ({"pi_categories": []}, {"pi_categories"}),
        ({"pi_categories": ["shoe_size"]}, {"pi_categories"}),
        ({"pi_categories": ["health"]}, {"consent_requirement"}),
        ({"recipients": [{"name": "Courier"}]}, {"recipients"}),
        ({"retention_days": 0, "function_kind": "core"}, {"retention_days", "function_kind"}),
        ({"name_en": 7, "is_publicly_disclosed": "maybe"}, {"name_en", "is_publicly_disclosed"}),
    ],
)
def test_bad_purpose_is_422_with_field_errors(client, api, db, changes, fields):
    response = post(client, api, "/purposes", purpose_data("newsletter") | changes)
    problem = assert_problem(response, 422, "invalid_input")
    assert set(problem["errors"]) == fields
    assert db.session.scalar(select(Purpose.id).where(Purpose.code == "newsletter")) is None


def test_purpose_without_required_fields_is_422(client, api):
    problem = assert_problem(post(client, api, "/purposes", {"code": "x1"}), 422, "invalid_input")
    assert {"name_zh", "name_en", "legal_basis", "consent_requirement", "pi_categories"} <= set(
        problem["errors"]
    )


def test_duplicate_purpose_is_409(client, api):
    assert_problem(post(client, api, "/purposes", purpose_data("marketing")), 409, "purpose_exists")


def test_a_change_of_name_is_not_material(client, api, subscribe, db):
    subscribe("purpose.changed")
    response = patch(client, api, "/purposes/marketing", {"name_en": "Offers", "change_note": "wording"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["current_version"] == 2
    assert body["material_version"] == 1
    assert body["current"]["name_en"] == "Offers"
    assert body["current"]["description_en"] == "description"  # left as it was
    assert body["current"]["retention_days"] == 365  # left as it was, not reset to a default
    assert [(v["version"], v["is_material"], v["change_note"]) for v in body["versions"]] == [
        (1, True, None),
        (2, False, "wording"),
    ]
    [delivery] = deliveries(db, api.org, "purpose.changed")
    assert delivery.payload["data"] == {"code": "marketing", "version": 2, "is_material": False}


def test_a_material_change_is_a_new_material_version(client, api, subscribe, db):
    subscribe("purpose.changed", "policy.published")
    assert client.put("/api/v1/subjects/u1", json={}, headers=api.headers).status_code == 201
    grant = {"purpose": "marketing", "action": "grant", "consent_type": "explicit"}
    assert post(client, api, "/subjects/u1/consents", grant).status_code == 201
    response = patch(
        client,
        api,
        "/purposes/marketing",
        {"description_en": "also by SMS", "pi_categories": ["basic", "online_identifier"]},
    )
    assert response.status_code == 200, response.json
    assert response.json["current_version"] == response.json["material_version"] == 2
    assert response.json["current"]["pi_categories"] == ["basic", "online_identifier"]
    # Consent to the earlier version no longer counts (PIPL 14).
    answer = get(client, api, "/subjects/u1/decisions/marketing").json
    assert (answer["allowed"], answer["reason"]) == (False, "reconsent_required")
    [delivery] = deliveries(db, api.org, "purpose.changed")
    assert delivery.payload["type"] == "purpose.changed"
    assert delivery.payload["data"] == {"code": "marketing", "version": 2, "is_material": True}
    assert delivery.status == "pending"
    assert deliveries(db, api.org, "policy.published") == []


def test_purpose_change_without_a_subscriber_queues_nothing(client, api, subscribe, db):
    subscribe("consent.withdrawn")
    assert patch(client, api, "/purposes/marketing", {"name_en": "Offers"}).status_code == 200
    assert db.session.scalars(select(WebhookDelivery)).all() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "_schema"),
        ({"name_en": "marketing name"}, "_schema"),  # changes nothing
        ({"legal_basis": "contract"}, "consent_requirement"),
        ({"pi_categories": ["biometric"]}, "consent_requirement"),
        ({"retention_days": "forever"}, "retention_days"),
    ],
)
def test_bad_purpose_change_is_422(client, api, db, changes, field):
    problem = assert_problem(patch(client, api, "/purposes/marketing", changes), 422, "invalid_input")
    assert field in problem["errors"]
    db.session.rollback()
    assert get(client, api, "/purposes/marketing").json["current_version"] == 1


def test_change_of_an_unknown_purpose_is_404(client, api):
    assert_problem(patch(client, api, "/purposes/nope", {"name_en": "x"}), 404, "not_found")


# --- policies ----------------------------------------------------------------------------------

COMPLETE = {
    "label": "v2",
    "text_zh": "政策正文第二版",
    "text_en": "Policy text, second edition",
    "sections": SECTIONS,
    "purposes": ["face", "marketing", "orders"],
    "change_summary": "New wording",
}


def test_list_policies(client, api):
    assert post(client, api, "/policies", COMPLETE).status_code == 201
    response = get(client, api, "/policies")
    assert response.status_code == 200
    policies = response.json["policies"]
    assert [(p["label"], p["status"]) for p in policies] == [("v2", "draft"), ("v1", "published")]
    assert policies[1]["seq"] == 1
    assert policies[1]["url"]
    assert policies[0]["url"] is None
    assert "text_en" not in policies[0]


def test_create_a_draft(client, api, db):
    response = post(client, api, "/policies", COMPLETE)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["label"] == "v2"
    assert body["status"] == "draft"
    assert body["seq"] is None and body["published_at"] is None and body["content_sha256"] is None
    assert sorted(body["purposes"], key=lambda p: p["code"]) == [
        {"code": "face", "version": 1},
        {"code": "marketing", "version": 1},
        {"code": "orders", "version": 1},
    ]
    assert body["sections"] == SECTIONS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "bad label"}, "label"),
        ({"text_en": "no label"}, "label"),
        ({"label": "v3", "sections": {"gossip": {"en": "x"}}}, "sections"),
        ({"label": "v3", "effective_at": "soon"}, "effective_at"),
        ({"label": "v3", "purposes": "marketing"}, "purposes"),
    ],
)
def test_bad_draft_is_422(client, api, body, field):
    problem = assert_problem(post(client, api, "/policies", body), 422, "invalid_input")
    assert field in problem["errors"]


def test_draft_naming_an_unknown_purpose_is_404(client, api):
    assert_problem(post(client, api, "/policies", COMPLETE | {"purposes": ["nope"]}), 404, "not_found")


def test_duplicate_label_is_409(client, api):
    assert_problem(post(client, api, "/policies", COMPLETE | {"label": "v1"}), 409, "policy_not_draft")


def test_publish(client, api, subscribe, db, clock):
    subscribe("policy.published")
    assert post(client, api, "/policies", COMPLETE).status_code == 201
    response = post(client, api, "/policies/v2/publish")
    assert response.status_code == 200, response.json
    policy = response.json["policy"]
    assert policy["status"] == "published"
    assert policy["seq"] == 2
    assert policy["published_at"] == clock.now().isoformat()
    assert len(policy["content_sha256"]) == 64
    assert policy["url"]
    assert response.json["reconsent_required"] == 0
    [delivery] = deliveries(db, api.org, "policy.published")
    assert delivery.payload["data"] == {
        "version": "v2",
        "is_material_change": False,
        "reconsent_required": 0,
    }
    row = db.session.scalars(
        select(PolicyVersion).where(PolicyVersion.org_id == api.org.id, PolicyVersion.label == "v2")
    ).one()
    assert row.status == "published"
    # Published versions are immutable.
    assert_problem(post(client, api, "/policies/v2/publish"), 409, "policy_not_draft")


def test_material_publish_asks_for_reconsent(client, api, subscribe, db):
    subscribe("*")
    assert client.put("/api/v1/subjects/u1", json={}, headers=api.headers).status_code == 201
    grant = {"purpose": "marketing", "action": "grant", "consent_type": "explicit"}
    assert post(client, api, "/subjects/u1/consents", grant).status_code == 201
    assert post(client, api, "/policies", COMPLETE | {"is_material_change": True}).status_code == 201
    response = post(client, api, "/policies/v2/publish")
    assert response.status_code == 200, response.json
    assert response.json["reconsent_required"] == 1
    [delivery] = deliveries(db, api.org, "policy.published")
    assert delivery.payload["data"]["reconsent_required"] == 1
    answer = get(client, api, "/subjects/u1/decisions/marketing").json
    assert answer["reason"] == "reconsent_required"


def test_publishing_an_incomplete_policy_is_422_with_the_missing_items(client, api, subscribe, db):
    subscribe("policy.published")
    draft = {"label": "v2", "text_zh": "只有中文", "purposes": ["marketing"]}
    assert post(client, api, "/policies", draft).status_code == 201
    problem = assert_problem(post(client, api, "/policies/v2/publish"), 422, "policy_incomplete")
    missing = {item["item"]: item["missing"] for item in problem["details"]}
    assert set(missing) == {
        "handler",
        "functions",
        "rights",
        "refusal_consequences",
        "security_measures",
        "complaints",
    }
    assert "the policy text in both Chinese and English" in missing["handler"]
    assert "purpose 'face' is not covered" in missing["functions"]
    assert "purpose 'orders' is not covered" in missing["functions"]
    assert missing["rights"] == ["section 'rights' in zh", "section 'rights' in en"]
    assert all(item["title_zh"] and item["title_en"] for item in problem["details"])
    db.session.rollback()
    labels = {p["label"]: p["status"] for p in get(client, api, "/policies").json["policies"]}
    assert labels == {"v1": "published", "v2": "draft"}
    assert deliveries(db, api.org, "policy.published") == []


def test_publishing_an_unknown_policy_is_404(client, api):
    assert_problem(post(client, api, "/policies/v9/publish"), 404, "not_found")
